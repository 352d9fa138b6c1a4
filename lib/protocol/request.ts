/**
 * The public synthesis request (camelCase, numbers for numbers) and its one mapping to the wire.
 */
import * as t from 'io-ts';
import { check, objectProblems, unknownKeyProblems } from '../checks.js';
import { SisConfigError, SisRequestError } from '../errors.js';
import { decodeFast, isLeft } from './either.js';
import { problemsFrom } from './problems.js';
import { AudioFormat, MAX_TEXT_LENGTH, Pitch, SampleRate, Speed, SubtitleLevel, textWithin, toWireSampleRate, VoiceName, Volume } from './rules.js';
import { DEFAULT_VOICE, type Voice } from './voices.js';
import type { StartCommand } from './wire.js';

/** How the request's text is counted (defined with the other text rules in rules.ts). */
export { codePointLength } from './rules.js';

/** Documented limits; every one can be overridden through `limits` in the client options. */
export interface RequestLimits {
  /** Longest text in characters (Unicode code points, as the service counts). Default 10,000. */
  readonly maxTextLength: number;
}
export const DEFAULT_LIMITS: RequestLimits = { maxTextLength: MAX_TEXT_LENGTH };

/** The codec of the public request with a text limit; defaults are applied by {@link resolveRequest}. */
const requestCodec = (limits: RequestLimits) =>
  t.intersection(
    [
      t.type({ text: textWithin(limits.maxTextLength, 'split it, e.g. with synthesizeLong$, or raise limits.maxTextLength') }),
      t.partial({
        audioFormat: AudioFormat,
        sampleRate: SampleRate,
        voice: VoiceName,
        speed: Speed,
        pitch: Pitch,
        volume: Volume,
        subtitle: SubtitleLevel,
      }),
    ],
    'SynthesisRequest',
  );

/** Codec of the public request with the default limits. */
export const SynthesisRequestCodec = requestCodec(DEFAULT_LIMITS);

// A session's limits rarely change: the codec of the last limits seen is kept.
let lastCodec = { maxTextLength: DEFAULT_LIMITS.maxTextLength, codec: SynthesisRequestCodec };
const codecFor = (limits: RequestLimits): typeof SynthesisRequestCodec => {
  if (lastCodec.maxTextLength !== limits.maxTextLength) lastCodec = { maxTextLength: limits.maxTextLength, codec: requestCodec(limits) };
  return lastCodec.codec;
};

/** What to synthesise. Only `text` is required. */
export interface SynthesisRequest {
  /** Text to speak: not blank, at most `limits.maxTextLength` characters. */
  readonly text: string;
  /** `'pcm'` (16-bit LE mono, default), `'alaw'`, `'ulaw'` (G.711) or `'mp3'`. */
  readonly audioFormat?: AudioFormat | undefined;
  /** 8000 (default) or 16000 Hz. */
  readonly sampleRate?: SampleRate | undefined;
  /** The voice (`config.property`), default `chinese_xiaoyan_common`. Unknown names are allowed. */
  readonly voice?: Voice | undefined;
  /** -500..500, default 0. */
  readonly speed?: number | undefined;
  /** -500..500, default 0 (premium voices ignore it). */
  readonly pitch?: number | undefined;
  /** 0..100, default 50. */
  readonly volume?: number | undefined;
  /** Ask for RESULT frames with word or phoneme timings. */
  readonly subtitle?: SubtitleLevel | undefined;
}

type Decoded = t.TypeOf<typeof SynthesisRequestCodec>;

// Infinity: no limit, for callers that split long texts themselves.
const textLimit = check('a positive integer or Infinity', (value) => value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && (value as number) >= 1));

/** A validated request with every default filled in. */
export interface ResolvedRequest {
  readonly text: string;
  readonly audioFormat: AudioFormat;
  readonly sampleRate: SampleRate;
  readonly voice: string;
  readonly speed: number;
  readonly pitch: number;
  readonly volume: number;
  readonly subtitle: SubtitleLevel | undefined;
}

export const REQUEST_DEFAULTS = {
  audioFormat: 'pcm',
  sampleRate: 8000,
  voice: DEFAULT_VOICE,
  speed: 0,
  pitch: 0,
  volume: 50,
} as const satisfies Omit<ResolvedRequest, 'text' | 'subtitle'>;

const REQUEST_KEYS = [
  'text',
  'audioFormat',
  'sampleRate',
  'voice',
  'speed',
  'pitch',
  'volume',
  'subtitle',
] as const satisfies readonly (keyof SynthesisRequest)[];

/**
 * Validates a request and fills in the defaults.
 * @throws {SisRequestError} listing every problem found.
 * @throws {SisConfigError} when `limits` are not valid.
 */
export const resolveRequest = (request: unknown, limits: RequestLimits = DEFAULT_LIMITS): ResolvedRequest => {
  const badLimits = textLimit('limits.maxTextLength', limits.maxTextLength);
  if (badLimits.length > 0) throw new SisConfigError(badLimits, 'request limits');
  const notAnObject = objectProblems('', request, "{ text: '...' }");
  if (notAnObject.length > 0) throw new SisRequestError(notAnObject);
  const decoded = decodeFast(codecFor(limits), request);
  const problems = [...unknownKeyProblems(request, REQUEST_KEYS), ...(isLeft(decoded) ? problemsFrom(decoded.left) : [])];
  if (problems.length > 0 || isLeft(decoded)) throw new SisRequestError(problems);
  const value: Decoded = decoded.right;
  return {
    text: value.text,
    audioFormat: value.audioFormat ?? REQUEST_DEFAULTS.audioFormat,
    sampleRate: value.sampleRate ?? REQUEST_DEFAULTS.sampleRate,
    voice: value.voice ?? REQUEST_DEFAULTS.voice,
    speed: value.speed ?? REQUEST_DEFAULTS.speed,
    pitch: value.pitch ?? REQUEST_DEFAULTS.pitch,
    volume: value.volume ?? REQUEST_DEFAULTS.volume,
    subtitle: value.subtitle,
  };
};

/** The START command for a resolved request: the one place camelCase meets the wire. */
export const toStartCommand = (request: ResolvedRequest): StartCommand => ({
  command: 'START',
  text: request.text,
  config: {
    audio_format: request.audioFormat,
    sample_rate: toWireSampleRate(request.sampleRate),
    property: request.voice,
    speed: request.speed,
    pitch: request.pitch,
    volume: request.volume,
    ...(request.subtitle === undefined ? {} : { subtitle: request.subtitle }),
  },
});

/** Bytes per second of audio for a format and rate (mp3 has no fixed rate: undefined). */
export const bytesPerSecond = (format: AudioFormat, sampleRate: number): number | undefined =>
  format === 'pcm' ? sampleRate * 2 : format === 'mp3' ? undefined : sampleRate;
