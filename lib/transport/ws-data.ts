/** What `ws` hands to a 'message' listener, as bytes or text: one definition for the client's socket and the emulator's. */
import type { RawData } from 'ws';

/** Joins `ws`'s fragments (its 'fragments' binary type) into one array. */
const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const joined = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.byteLength;
  }
  return joined;
};

/** The bytes of a `ws` message, whichever of its three shapes it came in (a view, not a copy, where it can be). */
export const bytesOf = (data: RawData): Uint8Array => (Array.isArray(data) ? concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data);

// TextDecoder rather than Buffer, so that this runs wherever it is bundled; `ignoreBOM` keeps a leading
// U+FEFF in the text, as Buffer does (a BOM inside a JSON frame is the peer's error, and must show as one).
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** A `ws` text message as a string (UTF-8; `ws` has already refused invalid UTF-8 in a text frame). */
export const textOf = (data: RawData): string => utf8.decode(bytesOf(data));
