/**
 * Decoding for playback: the linear formats SIS sends (16-bit PCM little-endian, G.711 A-law and
 * µ-law, mono) into float samples in [-1, 1), as Web Audio's `AudioBuffer` holds them. mp3 needs a
 * real decoder (the browser's `decodeAudioData`) and is not handled here.
 *
 * Pure functions on bytes: no DOM, no Node, no `Buffer`, so they run in a page, a worker or Node alike.
 * A stream's chunks may split a 16-bit sample between them: the odd byte comes back as `carry` and is
 * passed in with the next chunk, so decoding chunk by chunk gives the same samples as decoding the whole.
 */
import { check, isIntegerIn, optional } from '../checks.js';
import { SisConfigError } from '../errors.js';
import type { AudioFormat } from '../protocol/wire.js';

/** The formats decoded here, one sample at a time: every format but mp3. */
export type LinearAudioFormat = Exclude<AudioFormat, 'mp3'>;

/** What one chunk decodes to. */
export interface DecodedSamples {
  /** Float samples in [-1, 1): a 16-bit value divided by 32768. */
  readonly samples: Float32Array;
  /**
   * The low byte of a 16-bit PCM sample whose high byte is in the next chunk; pass it as `carry` with
   * that chunk. Always `undefined` for G.711 (one byte per sample).
   */
  readonly carry: number | undefined;
}

/** The 16-bit value of an A-law code (ITU-T G.711): an even number from -32256 to 32256, never 0. */
export const alawToLinear = (code: number): number => {
  const value = (code ^ 0x55) & 0xff;
  const exponent = (value >> 4) & 0x07;
  const mantissa = value & 0x0f;
  // Each segment's step is doubled from the one below it; +0.5 step puts the value mid-interval.
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  // In A-law the sign bit set means positive.
  return (value & 0x80) !== 0 ? magnitude : -magnitude;
};

const MULAW_BIAS = 0x84;

/** The 16-bit value of a µ-law code (ITU-T G.711): from -32124 to 32124 (both 0x7f and 0xff are 0). */
export const ulawToLinear = (code: number): number => {
  const value = ~code & 0xff;
  const exponent = (value >> 4) & 0x07;
  const mantissa = value & 0x0f;
  const magnitude = (((mantissa << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
  // 0 - magnitude rather than -magnitude: code 0x7f is 0, not a negative zero.
  return (value & 0x80) !== 0 ? 0 - magnitude : magnitude;
};

/** A 256-entry table of float samples, built on first use (pages that play PCM never build it). */
const tableOf = (toLinear: (code: number) => number): (() => Float32Array) => {
  let table: Float32Array | undefined;
  return () => {
    table ??= Float32Array.from({ length: 256 }, (_, code) => toLinear(code) / 32768);
    return table;
  };
};

const alawTable = tableOf(alawToLinear);
const ulawTable = tableOf(ulawToLinear);

const decodeG711 = (table: Float32Array, bytes: Uint8Array): Float32Array => {
  const samples = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) samples[i] = table[bytes[i] ?? 0] ?? 0;
  return samples;
};

/**
 * 16-bit little-endian PCM to float samples. `carry` is the odd byte the previous chunk ended with
 * (see {@link DecodedSamples.carry}); an odd byte at the end of this chunk is returned the same way.
 */
export const decodePcm16 = (bytes: Uint8Array, carry?: number | undefined): DecodedSamples => {
  const total = bytes.length + (carry === undefined ? 0 : 1);
  const samples = new Float32Array(total >> 1);
  // Reading byte by byte rather than through an Int16Array view: the chunk may start at an odd offset
  // of its buffer, and the carried byte belongs to another buffer altogether.
  let at = 0;
  let n = 0;
  if (carry !== undefined && bytes.length > 0) {
    samples[n++] = ((((bytes[0] ?? 0) << 8) | carry) << 16) >> 16;
    at = 1;
  }
  for (; at + 1 < bytes.length; at += 2) samples[n++] = ((((bytes[at + 1] ?? 0) << 8) | (bytes[at] ?? 0)) << 16) >> 16;
  for (let i = 0; i < samples.length; i++) samples[i] = (samples[i] ?? 0) / 32768;
  const odd = total % 2 === 1;
  return { samples, carry: odd ? (bytes.length === 0 ? carry : bytes[bytes.length - 1]) : undefined };
};

/**
 * One chunk of a linear format to float samples.
 * @throws {SisConfigError} naming each bad argument.
 * @example
 * let carry: number | undefined;
 * for (const chunk of chunks) {
 *   const decoded = decodeSamples('pcm', chunk, carry);
 *   carry = decoded.carry;
 *   play(decoded.samples);
 * }
 */
export const decodeSamples = (audioFormat: LinearAudioFormat, bytes: Uint8Array, carry?: number | undefined): DecodedSamples => {
  const problems = [
    ...check("'pcm', 'alaw' or 'ulaw' (mp3 is decoded by the browser: playAudio does it)", (value) => value === 'pcm' || value === 'alaw' || value === 'ulaw')(
      'audioFormat',
      audioFormat,
    ),
    ...check('a Uint8Array', (value) => value instanceof Uint8Array)('bytes', bytes),
    ...optional(check('a byte (an integer 0..255) left over from the previous chunk', (value) => isIntegerIn(0, 255)(value)))('carry', carry),
  ];
  if (problems.length > 0) throw new SisConfigError(problems, 'decodeSamples arguments');
  return decodeLinear(audioFormat, bytes, carry);
};

/** {@link decodeSamples} without the argument checks: for `playAudio`, which checked its format once, on every chunk. */
export const decodeLinear = (audioFormat: LinearAudioFormat, bytes: Uint8Array, carry?: number | undefined): DecodedSamples => {
  switch (audioFormat) {
    case 'pcm':
      return decodePcm16(bytes, carry);
    case 'alaw':
      return { samples: decodeG711(alawTable(), bytes), carry: undefined };
    case 'ulaw':
      return { samples: decodeG711(ulawTable(), bytes), carry: undefined };
  }
};
