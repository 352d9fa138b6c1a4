/** Renders an {@link AudioPlan} as 16-bit PCM samples. */
import type { AudioPlan, Syllable } from './plan.js';

/** Peak sample value at volume 100 (a little headroom below 32767). */
export const FULL_SCALE = 24_000;

const TABLE_BITS = 12;
const TABLE_SIZE = 1 << TABLE_BITS;
// One period of a sine: a table lookup with a 32-bit phase accumulator is several times faster than
// Math.sin per sample, and exact enough for a test tone.
const SINE = Float64Array.from({ length: TABLE_SIZE }, (_, i) => Math.sin((2 * Math.PI * i) / TABLE_SIZE));
const PHASE_SHIFT = 32 - TABLE_BITS;
const FADE_SECONDS = 0.005;

/** One syllable's samples: a sine with short linear fades in and out so syllables do not click. */
const renderTone = (frequency: number, length: number, amplitude: number, sampleRate: number): Int16Array => {
  const out = new Int16Array(length);
  if (frequency === 0 || amplitude === 0) return out;
  const fade = Math.max(1, Math.min(Math.round(sampleRate * FADE_SECONDS), Math.floor(length / 4)));
  const step = Math.round((frequency / sampleRate) * 2 ** 32) >>> 0;
  let phase = 0;
  for (let i = 0; i < length; i++) {
    const envelope = i < fade ? i / fade : i >= length - fade ? (length - 1 - i) / fade : 1;
    out[i] = Math.round(amplitude * envelope * (SINE[phase >>> PHASE_SHIFT] ?? 0));
    phase = (phase + step) >>> 0;
  }
  return out;
};

/**
 * PCM samples of a plan at `volume` 0..100 (amplitude is linear in volume; 0 is digital silence).
 * Syllables of the same character and length sound the same, so each distinct one is rendered once.
 */
export const renderPlan = (plan: AudioPlan, volume: number): Int16Array => {
  const samples = new Int16Array(plan.totalSamples);
  const amplitude = (FULL_SCALE * volume) / 100;
  if (amplitude === 0) return samples;
  const rendered = new Map<string, Int16Array>();
  const toneOf = ({ frequency, length }: Syllable): Int16Array => {
    const key = `${frequency}/${length}`;
    let tone = rendered.get(key);
    if (tone === undefined) {
      tone = renderTone(frequency, length, amplitude, plan.sampleRate);
      rendered.set(key, tone);
    }
    return tone;
  };
  for (const syllable of plan.syllables) {
    if (syllable.frequency !== 0) samples.set(toneOf(syllable), syllable.start);
  }
  return samples;
};

const littleEndianHost = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** 16-bit signed little-endian bytes of the samples (sharing their memory on a little-endian host). */
export const toPcmBytes = (samples: Int16Array): Uint8Array => {
  if (littleEndianHost) return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  samples.forEach((sample, i) => {
    view.setInt16(i * 2, sample, true);
  });
  return bytes;
};
