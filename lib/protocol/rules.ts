/**
 * The rules of a real-time synthesis request (protocol.md §1), once: ranges, formats, rates, the
 * voice shape and the text limit, as io-ts codecs whose names are the expectations shown to users.
 * The client's request validation (request.ts), the wire codecs (wire.ts), the emulator's START
 * check and the CLI's argument parsing all take them from here.
 */
import * as t from 'io-ts';
import { choicesName, integerRangeName, isIntegerIn } from '../checks.js';
import { DEFAULT_VOICE } from './voices.js';

/** Inclusive integer ranges of the numeric request fields. */
export const RANGES = {
  speed: { min: -500, max: 500 },
  pitch: { min: -500, max: 500 },
  volume: { min: 0, max: 100 },
} as const;

/** A request field with an integer range. */
export type RangedField = keyof typeof RANGES;

/** `config.audio_format`: 16-bit PCM, G.711 A-law and µ-law, MP3. */
export const AUDIO_FORMATS = ['pcm', 'alaw', 'ulaw', 'mp3'] as const;
/** Sample rates in Hz (the wire spells them as strings: {@link WIRE_SAMPLE_RATES}). */
export const SAMPLE_RATES = [8000, 16000] as const;
/** `config.subtitle`: RESULT frames with word or phoneme timings. */
export const SUBTITLE_LEVELS = ['word_level', 'phoneme_level'] as const;

/** The documented text limit of the current international docs (protocol.md §1); configurable everywhere. */
export const MAX_TEXT_LENGTH = 10_000;

/** `{language}_{speaker}_{domain}`-like: lowercase letters, digits and underscores. */
export const VOICE_PATTERN = /^[a-z0-9]+(?:_[a-z0-9]+)+$/;

/** A codec from the expectation shown to the user and a guard; not branded, so plain literals type-check. */
export const refined = <A>(name: string, is: (u: unknown) => u is A): t.Type<A> =>
  new t.Type<A>(name, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);

/** An integer within [min, max]; the codec's name is the expectation shown to the user. */
export const intIn = (min: number, max: number): t.Type<number> => refined(integerRangeName(min, max), isIntegerIn(min, max));

/** One of a few literal values, named by listing them. */
export const oneOf = <V extends string | number>(values: readonly V[]): t.Type<V> =>
  refined(choicesName(values), (u): u is V => (values as readonly unknown[]).includes(u));

export const Speed = intIn(RANGES.speed.min, RANGES.speed.max);
export const Pitch = intIn(RANGES.pitch.min, RANGES.pitch.max);
export const Volume = intIn(RANGES.volume.min, RANGES.volume.max);

export const SampleRate = oneOf(SAMPLE_RATES);
export type SampleRate = (typeof SAMPLE_RATES)[number];

/** @hidden The codec; the public API exports only the type. */
export const AudioFormat = oneOf(AUDIO_FORMATS);
/**
 * `config.audio_format`: `'pcm'` (16-bit little-endian mono PCM, the client's default), `'alaw'` or `'ulaw'` (G.711) or `'mp3'`.
 * @useDeclaredType
 */
export type AudioFormat = (typeof AUDIO_FORMATS)[number];

/** @hidden The codec; the public API exports only the type. */
export const SubtitleLevel = oneOf(SUBTITLE_LEVELS);
/**
 * `config.subtitle`: RESULT frames with the timings of words (`'word_level'`) or of words and their
 * phonemes (`'phoneme_level'`, only some premium voices).
 * @useDeclaredType
 */
export type SubtitleLevel = (typeof SUBTITLE_LEVELS)[number];

/** A sample rate as the wire spells it: `"8000"`, not 8000. */
export type WireSampleRate = `${SampleRate}`;
/** The wire spelling of a sample rate. */
export const toWireSampleRate = (rate: SampleRate): WireSampleRate => `${rate}`;
export const WIRE_SAMPLE_RATES: readonly WireSampleRate[] = SAMPLE_RATES.map(toWireSampleRate);
export const WireSampleRate = oneOf(WIRE_SAMPLE_RATES);

/** A well-formed voice name (`config.property`); whether the service knows it is another matter (voices.ts). */
export const VoiceName = refined<string>(
  `a voice name like ${DEFAULT_VOICE} (lowercase language_speaker_domain)`,
  (u): u is string => typeof u === 'string' && VOICE_PATTERN.test(u),
);

/** Length in Unicode code points, as the service counts characters (an emoji is one, not two). */
export const codePointLength = (text: string): number => {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
};

/** Nothing to speak: empty, or only white space. */
export const isBlank = (text: string): boolean => text.trim() === '';

/**
 * A text to speak: not blank, and at most `maxLength` code points. The two failures carry their
 * own message (a text's problem is not well told by "must be …"); `advice` is added to the second,
 * e.g. how to split a long text.
 */
export const textWithin = (maxLength: number, advice = ''): t.Type<string> => {
  const is = (u: unknown): u is string => typeof u === 'string' && !isBlank(u) && codePointLength(u) <= maxLength;
  const name = Number.isFinite(maxLength) ? `a non-blank string of at most ${maxLength} characters` : 'a non-blank string';
  return new t.Type<string>(
    name,
    is,
    (u, c) => {
      if (typeof u !== 'string') return t.failure(u, c);
      if (isBlank(u)) return t.failure(u, c, 'must contain something to speak, got an empty or blank text');
      const length = codePointLength(u);
      if (length <= maxLength) return t.success(u);
      return t.failure(u, c, `is ${length} characters long, the limit is ${maxLength}${advice === '' ? '' : ` (${advice})`}`);
    },
    t.identity,
  );
};

/** A text with something to speak, of any length (the limit is a setting of each side). */
export const SpokenText = textWithin(Number.POSITIVE_INFINITY);
