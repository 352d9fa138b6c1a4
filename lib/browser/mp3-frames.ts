/**
 * MPEG audio frame headers, read only as far as cutting a byte stream at frame boundaries needs:
 * where a frame starts (the 11-bit sync 0xFFE and a valid header), how long it is and how many
 * samples it carries. The decoding itself is the browser's (`decodeAudioData`).
 */

/** One frame found in a buffer. */
export interface Mp3Frame {
  /** Byte offset of the header in the buffer searched. */
  readonly offset: number;
  /** Bytes, header included. */
  readonly length: number;
  /** Samples per channel: 384 (Layer I), 1152 (Layer II, Layer III of MPEG-1) or 576 (Layer III of MPEG-2 and 2.5). */
  readonly samples: number;
  /** Hz. */
  readonly sampleRate: number;
}

// kbit/s by bitrate index 1–14, for [MPEG-1 | MPEG-2 and 2.5][layer I, II, III].
const BITRATES: readonly (readonly (readonly number[])[])[] = [
  [
    [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  ],
  [
    [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  ],
];
// Hz by sample-rate index 0–2, for the version bits 00 (MPEG-2.5), 10 (MPEG-2), 11 (MPEG-1).
const SAMPLE_RATES: Readonly<Record<number, readonly number[]>> = {
  0: [11025, 12000, 8000],
  2: [22050, 24000, 16000],
  3: [44100, 48000, 32000],
};

/**
 * The frame whose header starts at `offset`, or `undefined` when there is no valid header there
 * (no sync, a reserved version, layer or rate, the free or bad bitrate). The frame may extend past
 * the end of `bytes`: compare `offset + length` with what has arrived.
 */
export const mp3FrameAt = (bytes: Uint8Array, offset: number): Mp3Frame | undefined => {
  if (offset + 4 > bytes.length) return undefined;
  const b1 = bytes[offset + 1] ?? 0;
  const b2 = bytes[offset + 2] ?? 0;
  if (bytes[offset] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const version = (b1 >> 3) & 0x03;
  const layerBits = (b1 >> 1) & 0x03;
  const bitrateIndex = b2 >> 4;
  const sampleRate = SAMPLE_RATES[version]?.[(b2 >> 2) & 0x03];
  if (layerBits === 0 || bitrateIndex === 0 || bitrateIndex === 15 || sampleRate === undefined) return undefined;
  const layer = 4 - layerBits; // 1, 2 or 3
  const mpeg1 = version === 3;
  const bitrate = (BITRATES[mpeg1 ? 0 : 1]?.[layer - 1]?.[bitrateIndex - 1] ?? 0) * 1000;
  const padding = (b2 >> 1) & 0x01;
  if (layer === 1) return { offset, length: (Math.floor((12 * bitrate) / sampleRate) + padding) * 4, samples: 384, sampleRate };
  const samples = layer === 3 && !mpeg1 ? 576 : 1152;
  return { offset, length: Math.floor((samples / 8) * (bitrate / sampleRate)) + padding, samples, sampleRate };
};

/**
 * The complete frames at the start of `bytes`, walking header to header. Bytes that are not a frame
 * (an ID3 tag, garbage) are skipped up to the next valid header, and left for the decoder to skip
 * too. Stops at the first frame that has not fully arrived.
 */
export const completeMp3Frames = (bytes: Uint8Array): Mp3Frame[] => {
  const frames: Mp3Frame[] = [];
  let at = 0;
  while (at + 4 <= bytes.length) {
    const frame = mp3FrameAt(bytes, at);
    if (frame === undefined) {
      at += 1;
      continue;
    }
    if (frame.offset + frame.length > bytes.length) break;
    frames.push(frame);
    at += frame.length;
  }
  return frames;
};
