/**
 * The public synthesis request (camelCase, numbers for numbers) and its one mapping to the wire.
 */
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import { SisRequestError, type Problem } from '../errors.js';
import { problemsFrom, unknownKeyProblems } from './problems.js';
import { DEFAULT_VOICE, VOICE_PATTERN, type Voice } from './voices.js';
import { oneOf, Pitch, SampleRate, Speed, Volume } from './rules.js';
import { AUDIO_FORMATS, SUBTITLE_LEVELS, type AudioFormat, type StartCommand, type SubtitleLevel, type WireSampleRate } from './wire.js';

/** Documented limits; every one can be overridden through `limits` in the client options. */
export interface RequestLimits {
  /** Longest text in characters (Unicode code points, as the service counts). Default 10,000. */
  readonly maxTextLength: number;
}
export const DEFAULT_LIMITS: RequestLimits = { maxTextLength: 10_000 };

/** Codec of the public request; defaults are applied by {@link resolveRequest}. */
export const SynthesisRequestCodec = t.intersection(
  [
    t.type({ text: t.string }),
    t.partial({
      audioFormat: oneOf(AUDIO_FORMATS),
      sampleRate: SampleRate,
      voice: t.string,
      speed: Speed,
      pitch: Pitch,
      volume: Volume,
      subtitle: oneOf(SUBTITLE_LEVELS),
    }),
  ],
  'SynthesisRequest',
);

type Decoded = t.TypeOf<typeof SynthesisRequestCodec>;

/** What to synthesise. Only `text` is required. */
export interface SynthesisRequest {
  /** Text to speak: not empty, at most `limits.maxTextLength` characters. */
  readonly text: string;
  /** `'pcm'` (16-bit LE mono, default), `'alaw'`, `'ulaw'` (G.711) or `'mp3'`. */
  readonly audioFormat?: AudioFormat | undefined;
  /** 8000 (default) or 16000 Hz. */
  readonly sampleRate?: 8000 | 16000 | undefined;
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

/** A validated request with every default filled in. */
export interface ResolvedRequest {
  readonly text: string;
  readonly audioFormat: AudioFormat;
  readonly sampleRate: 8000 | 16000;
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

const REQUEST_KEYS = ['text', 'audioFormat', 'sampleRate', 'voice', 'speed', 'pitch', 'volume', 'subtitle'] as const;

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

const textProblems = (text: string, limits: RequestLimits): Problem[] => {
  if (text.trim() === '') return [{ path: 'text', message: 'must contain something to speak, got an empty or blank text' }];
  const length = codePointLength(text);
  return length > limits.maxTextLength
    ? [{
        path: 'text',
        message: `is ${length} characters long, the limit is ${limits.maxTextLength} (split it, e.g. with synthesizeLong$, or raise limits.maxTextLength)`,
      }]
    : [];
};

/**
 * Validates a request and fills in the defaults.
 * @throws {SisRequestError} listing every problem found.
 */
export const resolveRequest = (request: unknown, limits: RequestLimits = DEFAULT_LIMITS): ResolvedRequest => {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new SisRequestError([{ path: '', message: `expected an object like { text: '...' }, got ${request === null ? 'null' : Array.isArray(request) ? 'an array' : typeof request}` }]);
  }
  const decoded = SynthesisRequestCodec.decode(request);
  const problems = [...unknownKeyProblems(request, REQUEST_KEYS), ...(isLeft(decoded) ? problemsFrom(decoded.left) : [])];
  // Checks the codec cannot express run on the raw fields, so one call reports every problem.
  const { text, voice } = request as { text?: unknown; voice?: unknown };
  if (typeof text === 'string') problems.push(...textProblems(text, limits));
  if (typeof voice === 'string' && !VOICE_PATTERN.test(voice)) {
    problems.push({ path: 'voice', message: `must look like language_speaker_domain (e.g. ${DEFAULT_VOICE}), got ${JSON.stringify(voice)}` });
  }
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
    sample_rate: String(request.sampleRate) as WireSampleRate,
    property: request.voice,
    speed: request.speed as t.Int,
    pitch: request.pitch as t.Int,
    volume: request.volume as t.Int,
    ...(request.subtitle === undefined ? {} : { subtitle: request.subtitle }),
  },
});

/** Bytes per second of audio for a format and rate (mp3 has no fixed rate: undefined). */
export const bytesPerSecond = (format: AudioFormat, sampleRate: number): number | undefined =>
  format === 'pcm' ? sampleRate * 2 : format === 'mp3' ? undefined : sampleRate;
