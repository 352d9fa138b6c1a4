/**
 * The rules of a real-time synthesis request (protocol.md §1), once: ranges, formats, rates, the
 * voice shape and the text limit. The client's request validation, the emulator's START check and
 * the CLI's argument parsing all take them from here.
 */
import * as t from 'io-ts';

/** Inclusive integer ranges of the numeric request fields. */
export const RANGES = {
  speed: { min: -500, max: 500 },
  pitch: { min: -500, max: 500 },
  volume: { min: 0, max: 100 },
} as const;

export type RangedField = keyof typeof RANGES;

export const AUDIO_FORMATS = ['pcm', 'alaw', 'ulaw', 'mp3'] as const;
export const SAMPLE_RATES = [8000, 16000] as const;
export const SUBTITLE_LEVELS = ['word_level', 'phoneme_level'] as const;

/** The documented text limit of the current international docs (protocol.md §1); configurable everywhere. */
export const MAX_TEXT_LENGTH = 10_000;

/** `{language}_{speaker}_{domain}`-like: lowercase letters, digits and underscores. */
export const VOICE_PATTERN = /^[a-z0-9]+(?:_[a-z0-9]+)+$/;

/** An integer within [min, max]; the codec's name is the expectation shown to the user. */
export const intIn = (min: number, max: number): t.Type<number> => {
  const is = (u: unknown): u is number => typeof u === 'number' && Number.isInteger(u) && u >= min && u <= max;
  return new t.Type<number>(`an integer from ${min} to ${max}`, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);
};

/** One of a few literal values, named by listing them. */
export const oneOf = <V extends string | number>(values: readonly V[]): t.Type<V> => {
  const is = (u: unknown): u is V => (values as readonly unknown[]).includes(u);
  const name = values.map((v) => JSON.stringify(v)).join(' | ');
  return new t.Type<V>(name, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);
};

export const Speed = intIn(RANGES.speed.min, RANGES.speed.max);
export const Pitch = intIn(RANGES.pitch.min, RANGES.pitch.max);
export const Volume = intIn(RANGES.volume.min, RANGES.volume.max);
export const SampleRate = oneOf(SAMPLE_RATES);
export type SampleRate = (typeof SAMPLE_RATES)[number];
