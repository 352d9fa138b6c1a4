/** Reading a small HTTP request body, for the emulator's IAM and control endpoints. */
import type { IncomingMessage } from 'node:http';

/**
 * The body as UTF-8 text; `'too-large'` past `maxBytes` (read to its end, so that the answer can be
 * sent on a connection that is still usable); `'failed'` when the request broke off.
 */
export const readRequestBody = (request: IncomingMessage, maxBytes: number): Promise<{ readonly text: string } | 'too-large' | 'failed'> =>
  new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    request.on('data', (part: Buffer) => {
      size += part.length;
      if (size <= maxBytes) parts.push(part);
    });
    request.once('end', () => resolve(size > maxBytes ? 'too-large' : { text: Buffer.concat(parts).toString('utf8') }));
    request.once('error', () => resolve('failed'));
  });
