/**
 * Cuts an mp3 stream into blocks the browser can decode one by one with `decodeAudioData`, which only
 * takes a whole file, and which plays back to back without a gap.
 *
 * A block is cut at a frame boundary once it holds {@link MP3_BLOCK_SECONDS} of audio (and at the end
 * of the stream). A Layer III frame cannot be decoded alone: its data may start in earlier frames
 * (the bit reservoir, up to 511 bytes back) and its first samples overlap the previous frame's. So
 * each block is decoded with the last frames of the block before it in front (the primer), and the
 * primer's samples are skipped when it is played (`start(when, offset, duration)`). Decoders
 * output exactly 576 or 1152 samples per frame without a LAME header (Chromium does), so the skip
 * is exact and the blocks join without a gap or a repeat; a decoder that trims its start would
 * leave a small hole at each block instead. `decodeAudioData` refuses a single frame, so a stream
 * of one frame is decoded with a copy of it after it and played for one frame's time.
 */
import { completeMp3Frames, type Mp3Frame } from './mp3-frames.js';

/** Seconds of audio a block gathers before it is decoded: the delay before the first sound, too. */
export const MP3_BLOCK_SECONDS = 0.5;
// Enough frames before a block for its bit reservoir (main_data_begin reaches 511 bytes back at
// most) and the overlap of the previous granule.
const PRIMER_BYTES = 512;
const PRIMER_FRAMES = 2;

/** One block ready for `decodeAudioData`. */
export interface Mp3Block {
  /** A complete little mp3 file: the primer, then the block's frames. A copy: decoding may detach it. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Seconds of the decoded audio to skip (the primer's). */
  readonly offset: number;
  /** Seconds of the decoded audio to play after `offset`: the block's own frames. */
  readonly seconds: number;
  /** 0-based, in stream order. */
  readonly index: number;
  /** Offset of the block's first byte in the stream. */
  readonly streamOffset: number;
}

const secondsOf = (frames: readonly Mp3Frame[]): number => frames.reduce((sum, frame) => sum + frame.samples / frame.sampleRate, 0);

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
};

/** The stream's bytes in, decodable blocks out; one per stream. */
export class Mp3Blocks {
  private pending: Uint8Array = new Uint8Array(0);
  private primer: Uint8Array = new Uint8Array(0);
  private primerSeconds = 0;
  private blocks = 0;
  private cutBytes = 0;

  /** Takes the next bytes of the stream; returns the block they complete, if any. */
  push(bytes: Uint8Array): Mp3Block | undefined {
    this.pending = concat(this.pending, bytes);
    const frames = completeMp3Frames(this.pending);
    const last = frames[frames.length - 1];
    if (last === undefined || secondsOf(frames) < MP3_BLOCK_SECONDS) return undefined;
    return this.cut(last.offset + last.length, frames);
  }

  /** At the end of the stream: the block of what is left (a frame cut short is dropped), if any. */
  flush(): Mp3Block | undefined {
    const frames = completeMp3Frames(this.pending);
    const last = frames[frames.length - 1];
    const block = last === undefined ? undefined : this.cut(last.offset + last.length, frames);
    this.pending = new Uint8Array(0);
    return block;
  }

  private cut(end: number, frames: readonly Mp3Frame[]): Mp3Block {
    const block = this.pending.subarray(0, end);
    this.pending = this.pending.slice(end);
    let bytes = concat(this.primer, block);
    const all = completeMp3Frames(bytes);
    const lastFrame = all[all.length - 1];
    if (all.length < 2 && lastFrame !== undefined) bytes = concat(bytes, bytes.slice(lastFrame.offset, lastFrame.offset + lastFrame.length));
    const result: Mp3Block = { bytes, offset: this.primerSeconds, seconds: secondsOf(frames), index: this.blocks, streamOffset: this.cutBytes };
    this.blocks += 1;
    this.cutBytes += end;
    this.keepPrimer(concat(this.primer, block), all);
    return result;
  }

  /** The last frames of what was just decoded, to go in front of the next block. */
  private keepPrimer(decoded: Uint8Array, frames: readonly Mp3Frame[]): void {
    let from = frames.length;
    let bytes = 0;
    while (from > 0 && (frames.length - from < PRIMER_FRAMES || bytes < PRIMER_BYTES)) {
      from -= 1;
      bytes += frames[from]?.length ?? 0;
    }
    const first = frames[from];
    this.primer = first === undefined ? new Uint8Array(0) : decoded.slice(first.offset);
    this.primerSeconds = secondsOf(frames.slice(from));
  }
}
