/**
 * The emulator's "speech": deterministic audio that follows every field of the START command, so a
 * client's handling of formats, rates, durations and subtitles can be tested against real bytes.
 */
import type { StartCommand } from '../../protocol/wire.js';
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

/** The fields that change the audio (not the voice name, not subtitles). */
const cacheKey = ({ text, config }: StartCommand): string =>
  JSON.stringify([config.audio_format, config.sample_rate, config.speed, config.pitch, config.volume, text]);

// Benchmarks send the same long text over and over (10,000 CJK characters at 16 kHz is 64 MiB of PCM).
const cache = new LruCache<string, Uint8Array>({ maxEntries: 16, maxWeight: 192 * 1024 * 1024 }, (bytes) => bytes.byteLength);

const planOf = ({ text, config }: StartCommand): AudioPlan =>
  planAudio(text, Number(config.sample_rate), config.speed, config.pitch);

/** Renders without the cache. */
export const renderAudio = (command: StartCommand, plan: AudioPlan = planOf(command)): Uint8Array => {
  const { audio_format: format, sample_rate: rate, volume } = command.config;
  if (format === 'mp3') return silentMp3(plan.totalSamples, rate === '16000' ? 16000 : 8000);
  const samples = renderPlan(plan, volume);
  return format === 'alaw' ? encodeAlaw(samples) : format === 'ulaw' ? encodeMulaw(samples) : toPcmBytes(samples);
};

/** Cached audio of a command, shared: the session slices frames out of it without copying. */
export const synthesize = (command: StartCommand): SynthesizedAudio => {
  const plan = planOf(command);
  const key = cacheKey(command);
  let bytes = cache.get(key);
  if (bytes === undefined) {
    bytes = renderAudio(command, plan);
    cache.set(key, bytes);
  }
  return { plan, bytes };
};

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
