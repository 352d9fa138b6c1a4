/**
 * Hostile servers on 127.0.0.1 (port 0), written on raw TCP so that they can do what `ws` never
 * would: answer nothing, ignore the close handshake, announce a frame and send it a byte at a time.
 */
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The header of an unmasked server frame (RFC 6455 §5.2). `fin: false` starts or continues a fragmented message. */
export const frameHeader = (opcode: number, length: number, fin = true): Buffer => {
  const first = (fin ? 0x80 : 0) | opcode;
  if (length < 126) return Buffer.from([first, length]);
  if (length < 0x10000) return Buffer.from([first, 126, length >> 8, length & 0xff]);
  const header = Buffer.alloc(10);
  header[0] = first;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
};

export const textFrame = (value: unknown): Buffer => {
  const payload = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  return Buffer.concat([frameHeader(1, payload.length), payload]);
};

export const binaryFrame = (payload: Uint8Array): Buffer => Buffer.concat([frameHeader(2, payload.length), payload]);

export const START = textFrame({ resp_type: 'START', trace_id: 'hostile-trace' });
export const END = textFrame({ resp_type: 'END', trace_id: 'hostile-trace', reason: 'NORMAL' });

/** A connection to a raw peer, after the HTTP request head has been read. */
export interface RawConnection {
  readonly socket: Socket;
  /** The request head, e.g. to check the handshake headers. */
  readonly head: string;
  /** Answers 101 Switching Protocols; bytes written after it are WebSocket frames. */
  upgrade(): void;
  /** Resolves with the first text frame the client sends (its START command), or undefined if it closes first. */
  firstMessage(): Promise<string | undefined>;
}

export interface RawPeer {
  readonly endpoint: string;
  readonly connections: RawConnection[];
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/** Splits masked client frames off the front of `data`: whole frames, unmasked, and the bytes left over. */
const clientFrames = (data: Buffer): { frames: { opcode: number; payload: Buffer }[]; rest: Buffer } => {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = 0;
  for (;;) {
    if (data.length - at < 2) break;
    let length = (data[at + 1] ?? 0) & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (data.length - at < 4) break;
      length = data.readUInt16BE(at + 2);
      offset = at + 4;
    } else if (length === 127) {
      if (data.length - at < 10) break;
      length = Number(data.readBigUInt64BE(at + 2));
      offset = at + 10;
    }
    if (data.length < offset + 4 + length) break;
    const mask = data.subarray(offset, offset + 4);
    const payload = Buffer.from(data.subarray(offset + 4, offset + 4 + length).map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
    frames.push({ opcode: (data[at] ?? 0) & 0x0f, payload });
    at = offset + 4 + length;
  }
  return { frames, rest: data.subarray(at) };
};

/**
 * A TCP server that hands each connection to `onConnection` once the HTTP request head has arrived
 * (or at once with `{ raw: true }`, for servers that never answer anything). It ignores the client's
 * close frame unless `answerClose` is set.
 */
export const rawPeer = async (onConnection: (connection: RawConnection) => void, options: { raw?: boolean; answerClose?: boolean } = {}): Promise<RawPeer> => {
  const connections: RawConnection[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    let received: Buffer = Buffer.alloc(0);
    let upgraded = false;
    let head = '';
    const waiting: ((text: string | undefined) => void)[] = [];
    socket.once('close', () => {
      for (const resolve of waiting.splice(0)) resolve(undefined);
    });
    const connection: RawConnection = {
      socket,
      get head() {
        return head;
      },
      upgrade: () => {
        const key = /sec-websocket-key: *(.*)\r\n/i.exec(head)?.[1] ?? '';
        const accept = createHash('sha1')
          .update(key + GUID)
          .digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        upgraded = true;
        received = Buffer.alloc(0);
      },
      firstMessage: () => new Promise((resolve) => waiting.push(resolve)),
    };
    if (options.raw === true) {
      // Read and drop: without reading, the client's FIN would go unnoticed and the socket never close.
      socket.resume();
      connections.push(connection);
      return onConnection(connection);
    }
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      if (!upgraded && head === '') {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = received.subarray(0, end).toString('latin1');
        received = received.subarray(end + 4);
        connections.push(connection);
        onConnection(connection);
        return;
      }
      if (!upgraded) return;
      const { frames, rest } = clientFrames(received);
      received = rest;
      for (const frame of frames) {
        if (frame.opcode === 1) for (const resolve of waiting.splice(0)) resolve(frame.payload.toString('utf8'));
        // A polite peer answers a close frame with one, then ends the TCP connection.
        if (frame.opcode === 8 && options.answerClose === true && socket.writable)
          socket.end(Buffer.concat([frameHeader(8, frame.payload.length), frame.payload]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `ws://127.0.0.1:${port}`,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};

/**
 * Writes `total` bytes of zeros to a socket as fast as it drains (never more than one chunk queued),
 * stopping when the peer goes away; `framing` may put a header before each chunk. Calls `onDrain`
 * each time it waits, and resolves with the payload bytes written.
 */
export const stream = (
  socket: Socket,
  total: number,
  options: { chunkBytes?: number; framing?: (chunk: number, bytes: number) => Buffer; onDrain?: () => void } = {},
): Promise<number> =>
  new Promise((resolve) => {
    const chunkBytes = options.chunkBytes ?? 64 * 1024;
    const chunk = Buffer.alloc(chunkBytes);
    let written = 0;
    let index = 0;
    const stop = (): void => {
      socket.off('drain', write).off('close', stop);
      resolve(written);
    };
    const write = (): void => {
      options.onDrain?.();
      while (written < total && !socket.destroyed) {
        const part = chunk.subarray(0, Math.min(chunkBytes, total - written));
        if (options.framing !== undefined) socket.write(options.framing(index, part.length));
        index++;
        written += part.length;
        if (!socket.write(part)) return;
      }
      stop();
    };
    socket.on('drain', write).on('close', stop);
    write();
  });
