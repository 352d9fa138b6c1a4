/** The one builder of audio chunks for specs: a chunk as a session emits it. */
import type { AudioChunk } from '../../lib/session/events.js';
import { TRACE } from './fake-socket.js';

/** Where a chunk sits in its session; each field defaults to that of the first chunk of a fake socket's session. */
export type ChunkPlace = Partial<Omit<AudioChunk, 'data'>>;

/**
 * An {@link AudioChunk} of `bytes`: the bytes themselves, or a number n for n bytes of 1 where only the
 * size matters. A Uint8Array is used as it is, not copied (a spec may check that nothing copies it).
 *
 * @example audioChunk([1, 2]) // index 0, offset 0, traceId TRACE
 * @example audioChunk([3, 4, 5], { index: 1, offset: 2, traceId: 't1' })
 */
export const audioChunk = (bytes: Uint8Array | readonly number[] | number, { index = 0, offset = 0, traceId = TRACE }: ChunkPlace = {}): AudioChunk => ({
  data: bytes instanceof Uint8Array ? bytes : typeof bytes === 'number' ? new Uint8Array(bytes).fill(1) : Uint8Array.from(bytes),
  index,
  offset,
  traceId,
});
