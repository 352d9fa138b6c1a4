/**
 * The emulator's "speech": deterministic audio that follows every field of the START command, so a
 * client's handling of formats, rates, durations and subtitles can be tested against real bytes.
 * Both APIs' commands come down to one {@link AudioSpec}.
 */
import * as t from 'io-ts';
import { SisConfigError } from '../../errors.js';
import { isLeft } from '../../protocol/either.js';
import { problemsFrom } from '../../protocol/problems.js';
import { STREAMING_DEFAULTS, StreamingConfig, streamingRateHz } from '../../protocol/streaming.js';
import type { AudioFormat, StartCommand } from '../../protocol/wire.js';
import { encodeAlaw, encodeMulaw } from './g711.js';
import { LruCache } from './lru.js';
import { silentMp3 } from './mp3.js';
import { planAudio, type AudioPlan } from './plan.js';
import { renderPlan, toPcmBytes } from './render.js';

/** The audio of a command and the timeline it was rendered from (for subtitles and pacing). */
export interface SynthesizedAudio {
  readonly plan: AudioPlan;
  /** Shared with the cache: never modify. */
  readonly bytes: Uint8Array;
}

/** What the audio depends on (not the voice name, not subtitles), whichever API asked for it. */
export interface AudioSpec {
  readonly text: string;
  readonly format: AudioFormat;
  readonly sampleRate: 8000 | 16000 | 24000;
  readonly speed: number;
  readonly pitch: number;
  readonly volume: number;
}

const realtimeSpec = ({ text, config }: StartCommand): AudioSpec => ({
  text,
  format: config.audio_format,
  sampleRate: config.sample_rate === '16000' ? 16000 : 8000,
  speed: config.speed,
  pitch: config.pitch,
  volume: config.volume,
});

/** The spec of one sentence of a streaming synthesis: the START's `config` with its defaults. */
export const streamingSpec = (config: StreamingConfig, text: string): AudioSpec => ({
  text,
  format: config.audio_format ?? STREAMING_DEFAULTS.audioFormat,
  sampleRate: config.sample_rate === undefined ? STREAMING_DEFAULTS.sampleRate : streamingRateHz(config.sample_rate),
  speed: config.speed ?? STREAMING_DEFAULTS.speed,
  pitch: config.pitch ?? STREAMING_DEFAULTS.pitch,
  volume: config.volume ?? STREAMING_DEFAULTS.volume,
});

const cacheKey = (spec: AudioSpec): string => JSON.stringify([spec.format, spec.sampleRate, spec.speed, spec.pitch, spec.volume, spec.text]);

// Benchmarks send the same long text over and over (10,000 CJK characters at 16 kHz is 64 MiB of PCM).
const cache = new LruCache<string, Uint8Array>({ maxEntries: 16, maxWeight: 192 * 1024 * 1024 }, (bytes) => bytes.byteLength);

const planOf = (spec: AudioSpec): AudioPlan => planAudio(spec.text, spec.sampleRate, spec.speed, spec.pitch);

const render = (spec: AudioSpec, plan: AudioPlan): Uint8Array => {
  if (spec.format === 'mp3') return silentMp3(plan.totalSamples, spec.sampleRate);
  const samples = renderPlan(plan, spec.volume);
  return spec.format === 'alaw' ? encodeAlaw(samples) : spec.format === 'ulaw' ? encodeMulaw(samples) : toPcmBytes(samples);
};

/** Renders without the cache. */
export const renderAudio = (command: StartCommand, plan: AudioPlan = planOf(realtimeSpec(command))): Uint8Array => render(realtimeSpec(command), plan);

/** Cached audio of a spec, shared: sessions slice frames out of it without copying. */
export const synthesizeSpec = (spec: AudioSpec): SynthesizedAudio => {
  const plan = planOf(spec);
  const key = cacheKey(spec);
  let bytes = cache.get(key);
  if (bytes === undefined) {
    bytes = render(spec, plan);
    cache.set(key, bytes);
  }
  return { plan, bytes };
};

/** Cached audio of a real-time START command. */
export const synthesize = (command: StartCommand): SynthesizedAudio => synthesizeSpec(realtimeSpec(command));

/**
 * The exact bytes the emulator streams for a START command: PCM 16-bit LE mono, G.711 A-law/µ-law,
 * or silent MP3 frames, at the requested rate. Each character is a short tone "syllable" (CJK about
 * 200 ms, other letters 60 ms, whitespace and punctuation short silences); `speed` scales durations by
 * 2^(-speed/500), `pitch` frequencies by 2^(pitch/500), `volume` the amplitude linearly.
 * Deterministic: the same command always gives the same bytes.
 *
 * @example
 * const pcm = synthesizeAudio(toStartCommand(resolveRequest({ text: '你好' })));
 * pcm.length; // 6400: two 200 ms syllables at 8000 Hz, 2 bytes per sample
 */
export const synthesizeAudio = (command: StartCommand): Uint8Array => synthesize(command).bytes.slice();

/**
 * The exact bytes the emulator streams for one sentence of a streaming synthesis (the streaming API
 * synthesises sentence by sentence: a session's audio is its sentences' audio, one after the other, as
 * listed in the session record's `sentences`). Same sounds as {@link synthesizeAudio}; `config` is the
 * START command's, its defaults applied (PCM, 16 kHz, speed and pitch 0, volume 50).
 *
 * @throws {SisConfigError} when `config` is not a valid streaming `config` or `sentence` not a string.
 * @example
 * const pcm = synthesizeStreamingAudio({ voice_name: 'chinese_huaxiaoli_common', sample_rate: '24kHz' }, '你好。');
 */
export const synthesizeStreamingAudio = (config: StreamingConfig, sentence: string): Uint8Array => {
  const decoded = t.type({ config: StreamingConfig, sentence: t.string }).decode({ config, sentence });
  if (isLeft(decoded)) throw new SisConfigError(problemsFrom(decoded.left), 'synthesizeStreamingAudio arguments');
  return synthesizeSpec(streamingSpec(decoded.right.config, decoded.right.sentence)).bytes.slice();
};
