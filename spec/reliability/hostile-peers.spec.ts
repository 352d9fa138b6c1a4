/**
 * Slow and hostile servers (raw TCP or `ws`, on 127.0.0.1 port 0): one that never answers, one that
 * trickles a frame, one that sends a 100 MB frame, one that floods a slow consumer. Each test ends
 * with every socket closed (by their events) and no handle or timer left behind.
 */
import { expect } from 'chai';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  SisError,
  SisOverflowError,
  SisProtocolError,
  SisTimeoutError,
  createSisClient,
  type SisClient,
  type SisConnectionOptions,
  type SisEvent,
} from '../../lib/index.js';
import { toReadable } from '../../lib/node/index.js';
import { binaryFrame, END, frameHeader, rawPeer, START, stream, type RawConnection, type RawPeer } from './peers.js';
import { activeResources, heapAfterGc, liveBytes, MiB, record, resourceGrowth, SocketWatch, StrayNotifications, type ResourceCounts } from './support.js';

const clientFor = (endpoint: string, options: Partial<SisConnectionOptions> = {}): SisClient =>
  createSisClient({ endpoint, projectId: 'p', auth: { token: 't' }, ...options });

/** The error a session ends with, and its events (fails the test if it completes). */
const failure = async (events$: ReturnType<SisClient['events$']>): Promise<{ error: SisError; events: SisEvent[] }> => {
  const recording = record(events$);
  const terminal = await recording.ended;
  expect(recording.terminals).to.have.length(1);
  if (terminal.kind !== 'error') throw new Error('expected the session to fail');
  expect(terminal.error).to.be.instanceOf(SisError);
  return { error: terminal.error as SisError, events: recording.values };
};

describe('slow and hostile peers', () => {
  let peer: RawPeer | undefined;
  // Servers to stop once their clients are done (before the count of handles).
  const stops: (() => Promise<void>)[] = [];
  let watch: SocketWatch;
  let strays: StrayNotifications;
  let before: ResourceCounts;

  beforeEach(() => {
    watch = new SocketWatch();
    strays = new StrayNotifications();
  });
  afterEach(async () => {
    watch.stop();
    strays.restore();
    await stopServers();
  });

  const stopServers = async (): Promise<void> => {
    await peer?.close();
    peer = undefined;
    await Promise.all(stops.splice(0).map((stop) => stop()));
  };

  /** Handles and timers once the server listens: the count to come back to (the server's own handle included). */
  const baseline = (): void => {
    before = activeResources();
  };

  /** Every socket closed, nothing left running, nothing delivered late. */
  const settled = async (): Promise<void> => {
    await watch.allClosed();
    expect(resourceGrowth(before), 'handles and timers left').to.deep.equal({});
    expect(strays.late, 'notifications after the end').to.deep.equal([]);
    expect(strays.unhandled, 'unhandled errors').to.deep.equal([]);
  };

  describe('a server that never answers', () => {
    it('accepts TCP and never answers the upgrade: the connect timeout fires', async () => {
      peer = await rawPeer(() => undefined, { raw: true });
      baseline();
      const { error } = await failure(clientFor(peer.endpoint, { timeouts: { connect: 150 } }).events$({ text: 'x' }));
      expect(error).to.be.instanceOf(SisTimeoutError).and.include({ phase: 'connect', timeoutMs: 150, traceId: undefined });
      await settled();
    });

    it('upgrades and never answers START, nor the close handshake: firstAudio fires and the socket is released within a second', async () => {
      let started: Promise<string | undefined> | undefined;
      peer = await rawPeer((connection) => {
        connection.upgrade();
        started = connection.firstMessage();
      });
      baseline();
      const { error, events } = await failure(clientFor(peer.endpoint, { timeouts: { firstAudio: 150 } }).events$({ text: '你好' }));
      expect(error).to.be.instanceOf(SisTimeoutError).and.include({ phase: 'firstAudio', timeoutMs: 150 });
      expect(events.map((e) => e.type)).to.deep.equal(['open']);
      expect(JSON.parse((await started) ?? '{}')).to.include({ command: 'START', text: '你好' });
      // `ws` alone would wait 30 s for the peer's close frame, holding the socket and a timer.
      const failedAt = performance.now();
      await watch.allClosed();
      expect(performance.now() - failedAt, 'ms until the socket is released').to.be.below(1_500);
      await settled();
    });
  });

  describe('a server that trickles a frame (timeouts.idle 150 ms)', () => {
    /** START, one whole audio frame, then a frame of `bytes` announced and sent a byte every `everyMs`, then END. */
    const trickler = (bytes: number, everyMs: number) =>
      rawPeer((connection) => {
        connection.upgrade();
        void connection.firstMessage().then(() => {
          connection.socket.write(Buffer.concat([START, binaryFrame(new Uint8Array(100)), frameHeader(2, bytes)]));
          let sent = 0;
          const timer = setInterval(() => {
            connection.socket.write(Buffer.from([sent % 256]));
            sent++;
            if (sent < bytes) return;
            clearInterval(timer);
            connection.socket.write(END);
          }, everyMs);
          connection.socket.once('close', () => clearInterval(timer));
        });
      });

    it('does not time out idle while the bytes of a frame keep coming (a byte every 30 ms), but the total timeout fires', async () => {
      peer = await trickler(1_000, 30);
      baseline();
      const client = clientFor(peer.endpoint, { timeouts: { idle: 150, firstAudio: 1_000, total: 1_000 } });
      const { error, events } = await failure(client.events$({ text: 'x' }));
      expect(error).to.be.instanceOf(SisTimeoutError).and.include({ phase: 'total', timeoutMs: 1_000, traceId: 'hostile-trace' });
      expect(events.filter((e) => e.type === 'audio')).to.have.length(1);
      await settled();
    });

    it('completes when the trickled frame (20 bytes over 600 ms, four idle periods) is followed by END', async () => {
      peer = await trickler(20, 30);
      baseline();
      const recording = record(clientFor(peer.endpoint, { timeouts: { idle: 150 } }).events$({ text: 'x' }));
      const terminal = await recording.ended;
      if (terminal.kind === 'error') throw terminal.error;
      const audio = recording.values.flatMap((e) => (e.type === 'audio' ? [e.chunk.data.byteLength] : []));
      expect(audio).to.deep.equal([100, 20]);
      await settled();
    });

    it('times out idle when the bytes stop for longer than timeouts.idle (a byte every 400 ms)', async () => {
      peer = await trickler(1_000, 400);
      baseline();
      const { error } = await failure(clientFor(peer.endpoint, { timeouts: { idle: 150, total: 5_000 } }).events$({ text: 'x' }));
      expect(error).to.be.instanceOf(SisTimeoutError).and.include({ phase: 'idle', timeoutMs: 150 });
      await settled();
    });
  });

  describe('a server that sends a 100 MB frame (maxPayload 8 MiB by default)', () => {
    const HUNDRED_MB = 100 * 1024 * 1024;

    /**
     * START, then `send` streams the frame. Measures the bytes the client read from its socket
     * (exact), and the peak of heap + ArrayBuffers while it flows (garbage not yet collected included).
     */
    const oversized = async (send: (connection: RawConnection, sample: () => void) => Promise<number>) => {
      const base = liveBytes();
      let peak = 0;
      let received = 0;
      const sample = (): void => {
        const usage = process.memoryUsage();
        peak = Math.max(peak, usage.heapUsed + usage.arrayBuffers - base);
      };
      const onSocket = (message: unknown): void => void (message as { socket: Socket }).socket.on('data', (data: Buffer) => (received += data.length));
      subscribe('net.client.socket', onSocket);
      let written: Promise<number> | undefined;
      peer = await rawPeer((connection) => {
        connection.upgrade();
        written = connection.firstMessage().then(() => {
          connection.socket.write(START);
          return send(connection, sample);
        });
      });
      baseline();
      const { error } = await failure(clientFor(peer.endpoint).events$({ text: 'x' }));
      unsubscribe('net.client.socket', onSocket);
      return { error, written: (await written) ?? 0, peak, received };
    };

    it('rejects it at its header with SisProtocolError, having read almost none of it', async () => {
      const { error, written } = await oversized((connection, sample) => {
        connection.socket.write(frameHeader(2, HUNDRED_MB));
        return stream(connection.socket, HUNDRED_MB, { onDrain: sample });
      });
      expect(error).to.be.instanceOf(SisProtocolError).and.include({ traceId: 'hostile-trace', retryable: false });
      expect(error.message).to.include('maxPayload (8388608 bytes)');
      expect(written, 'bytes the server could send before the client hung up').to.be.below(HUNDRED_MB / 4);
      await settled();
    });

    it('rejects it sent as 64 KiB fragments once past maxPayload, with memory bounded by maxPayload', async () => {
      const { error, written, peak, received } = await oversized((connection, sample) =>
        stream(connection.socket, HUNDRED_MB, { onDrain: sample, framing: (chunk, bytes) => frameHeader(chunk === 0 ? 2 : 0, bytes, false) }),
      );
      expect(error).to.be.instanceOf(SisProtocolError);
      expect(error.message).to.include('maxPayload');
      expect(written).to.be.below(HUNDRED_MB / 4);
      // The fragments are kept up to the limit (8 MiB), then dropped; what `ws` reads after that, while
      // its close frame waits for an answer, is discarded as it comes. Garbage not yet collected counts
      // in the peak too (about 23 MiB measured).
      expect(received, `${(received / MiB).toFixed(1)} MiB read`).to.be.below(HUNDRED_MB / 4);
      expect(peak, `peak growth ${(peak / MiB).toFixed(1)} MiB`).to.be.below(64 * MiB);
      await settled();
    });
  });

  describe('a server that breaks the WebSocket protocol itself', () => {
    it('sends a frame with a reserved opcode: SisProtocolError with the trace id, not a retryable connection error', async () => {
      peer = await rawPeer((connection) => {
        connection.upgrade();
        void connection.firstMessage().then(() => {
          connection.socket.write(START);
          connection.socket.write(frameHeader(3, 0)); // opcode 3 is reserved (RFC 6455 §5.2)
        });
      });
      baseline();
      const { error } = await failure(clientFor(peer.endpoint).events$({ text: 'x' }));
      expect(error).to.be.instanceOf(SisProtocolError).and.include({ traceId: 'hostile-trace', retryable: false });
      expect(error.message).to.include('an invalid WebSocket frame (invalid opcode 3)');
      await settled();
    });
  });

  describe('a server that floods a consumer slower than it (64 MiB in 64 KiB frames)', () => {
    const TOTAL = 64 * MiB;
    const FRAME = 64 * 1024;

    /** A `ws` server that sends as fast as its socket drains (it never queues more than 1 MiB itself). */
    const floodServer = async (): Promise<string> => {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
      stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      server.on('connection', (ws: WebSocket) => {
        ws.once('message', () => {
          ws.send(JSON.stringify({ resp_type: 'START', trace_id: 'flood' }));
          const frame = Buffer.alloc(FRAME);
          let sent = 0;
          const pump = (): void => {
            while (sent < TOTAL && ws.readyState === ws.OPEN) {
              sent += FRAME;
              // Above 1 MiB queued, go on once this frame has been written out.
              if (ws.bufferedAmount > MiB) return void ws.send(frame, pump);
              ws.send(frame);
            }
            if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ resp_type: 'END', trace_id: 'flood', reason: 'NORMAL' }));
          };
          pump();
        });
      });
      await new Promise((resolve) => server.once('listening', resolve));
      return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };

    /**
     * Takes 64 KiB per millisecond at most. Measures, at each chunk, the bytes the process holds for
     * it: read from the client's TCP socket but not consumed yet (exact, unlike heap figures, which
     * lag behind freed buffers); and every 8 MiB the heap after a full GC.
     */
    const slowConsumer = () => {
      const seen = { bytes: 0, received: 0, held: 0, heap: 0 };
      const onSocket = (message: unknown): void => void (message as { socket: Socket }).socket.on('data', (data: Buffer) => (seen.received += data.length));
      subscribe('net.client.socket', onSocket);
      const base = heapAfterGc();
      const writable = new Writable({
        highWaterMark: 64 * 1024,
        write(chunk: Buffer, _encoding, callback) {
          seen.bytes += chunk.length;
          seen.held = Math.max(seen.held, seen.received - seen.bytes);
          if (seen.bytes % (8 * MiB) < chunk.length) seen.heap = Math.max(seen.heap, heapAfterGc() - base);
          setTimeout(callback, 1);
        },
        final(callback) {
          unsubscribe('net.client.socket', onSocket);
          callback();
        },
        destroy(error, callback) {
          unsubscribe('net.client.socket', onSocket);
          callback(error);
        },
      });
      return { writable, seen };
    };

    it('with paused$ flow control: completes, every byte delivered, the bytes held for the consumer bounded', async () => {
      const client = clientFor(await floodServer());
      baseline();
      const { writable, seen } = slowConsumer();
      await pipeline(
        toReadable((paused$) => client.synthesize$({ text: 'x' }, { paused$ })),
        writable,
      );
      expect(seen.bytes).to.equal(TOTAL);
      expect(seen.held, `at most ${(seen.held / MiB).toFixed(2)} MiB held`).to.be.below(4 * MiB);
      expect(seen.heap, `heap growth ${(seen.heap / MiB).toFixed(1)} MiB`).to.be.below(8 * MiB);
      await settled();
    });

    it('without flow control: the buffer for the lagging consumer overflows with SisOverflowError instead of growing without bound', async () => {
      const client = clientFor(await floodServer());
      baseline();
      const { writable, seen } = slowConsumer();
      const error = await pipeline(toReadable(client.synthesize$({ text: 'x' }), { maxBufferedBytes: 16 * MiB }), writable).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(SisOverflowError);
      expect(seen.bytes).to.be.below(TOTAL);
      // What paused$ prevents: the socket is read as fast as the server sends, far ahead of the consumer.
      expect(seen.received - seen.bytes).to.be.above(16 * MiB);
      await settled();
    });
  });
});
