/** What the byte-level operators accept: a session's chunks, or plain bytes (e.g. after `toWav`). */
import type { AudioChunk } from '../session/events.js';

/** Audio as the byte-level operators take it: an {@link AudioChunk} (its `data` is used) or plain bytes. */
export type AudioData = AudioChunk | Uint8Array;

/** The bytes of a chunk or of plain bytes, without copying. */
export const bytesOf = (audio: AudioData): Uint8Array => (audio instanceof Uint8Array ? audio : audio.data);
