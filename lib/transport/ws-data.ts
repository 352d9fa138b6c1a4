/** What `ws` hands to a 'message' listener, as bytes or text: one definition for the client's socket and the emulator's. */
import type { RawData } from 'ws';

/** The bytes of a `ws` message, whichever of its three shapes it came in (a view, not a copy, where it can be). */
export const bytesOf = (data: RawData): Uint8Array => (Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data);

/** A `ws` text message as a string (UTF-8). */
export const textOf = (data: RawData): string => {
  const bytes = bytesOf(data);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
};
