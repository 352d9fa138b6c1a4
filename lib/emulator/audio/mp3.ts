/**
 * MP3 output. Encoding real MP3 is out of scope for an emulator, so `mp3` audio is *silence*: a run
 * of valid MPEG audio frames (MPEG-2 Layer III at 24000 and 16000 Hz, MPEG-2.5 Layer III at 8000 Hz,
 * mono, 8 kbit/s, no CRC) whose count matches the duration of the synthesised speech. Each frame is a
 * header, an all-zero side info (no Huffman data, so every decoder yields zeros) and zero padding.
 */

/** Layer III frames of MPEG-2 and MPEG-2.5 carry 576 samples. */
export const SAMPLES_PER_FRAME = 576;
export const BITRATE = 8000;

const HEADER = {
  // 11 sync bits, version (10 = MPEG-2, 00 = MPEG-2.5), layer 01 = III, protection bit 1 = no CRC;
  // then bitrate index 1 (8 kbit/s), the sample-rate index (MPEG-2: 1 = 24000, 2 = 16000; MPEG-2.5:
  // 2 = 8000), no padding.
  24000: { versionByte: 0xf3, rateByte: 0x14 },
  16000: { versionByte: 0xf3, rateByte: 0x18 },
  8000: { versionByte: 0xe3, rateByte: 0x18 },
} as const;

export type Mp3SampleRate = keyof typeof HEADER;
/** Mono (channel mode 11), original bit set, no emphasis. */
const MODE_BYTE = 0xc4;

/** Bytes of one frame: 72 × bitrate / sample rate for MPEG-2 and 2.5 Layer III (24 at 24 kHz, 36 at 16 kHz, 72 at 8 kHz). */
export const frameLength = (sampleRate: Mp3SampleRate): number => (72 * BITRATE) / sampleRate;

export const silentMp3 = (totalSamples: number, sampleRate: Mp3SampleRate): Uint8Array => {
  const frames = Math.ceil(totalSamples / SAMPLES_PER_FRAME);
  const length = frameLength(sampleRate);
  const out = new Uint8Array(frames * length);
  for (let offset = 0; offset < out.length; offset += length) {
    out.set([0xff, HEADER[sampleRate].versionByte, HEADER[sampleRate].rateByte, MODE_BYTE], offset);
  }
  return out;
};
