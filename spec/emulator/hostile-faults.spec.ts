/**
 * The byte-level and volume faults (trickle, oversized, flood) and the 'after-end' point, seen from
 * a raw `ws` client that also watches the TCP socket under it.
 */
import { expect } from 'chai';
import { WebSocket, type RawData } from 'ws';
import type { IncomingMessage } from 'node:http';
import { SisConfigError } from '../../lib/errors.js';
import { synthesizeAudio, type Emulator } from '../../lib/emulator/index.js';
import { resolveOptions } from '../../lib/emulator/options.js';
import { newRecord, newStats } from '../../lib/emulator/records.js';
import { HIGH_WATER_MARK, runSession, type SessionSocket } from '../../lib/emulator/session.js';
import { command, rttsUrl, shape, textFrames, typeOf, type Frame } from './helpers.js';
import { useEmulator } from '../helpers/emulator-fixture.js';

// '你好' at 8 kHz PCM, 640 bytes per frame: 6,400 bytes in 10 frames.
const REQUEST = command({ text: '你好' });
const AUDIO = synthesizeAudio(REQUEST).length;

interface Watched {
  readonly frames: Frame[];
  /** TCP reads, with the time of each (ms since connecting) and the frames received so far. */
  readonly reads: { at: number; frames: number }[];
  readonly closed: Promise<{ code: number; error: Error | undefined }>;
  readonly ws: WebSocket;
  /** Resolves once `test` holds for the frames received. */
  until(test: (frames: readonly Frame[]) => boolean): Promise<void>;
}

/** A raw client that sends START, records frames and TCP reads, and closes on END (or with `closeOnEnd: false`, never). */
const watch = (emulator: Emulator, options: { maxPayload?: number; closeOnEnd?: boolean } = {}): Watched => {
  const started = performance.now();
  const ws = new WebSocket(rttsUrl(emulator), { headers: { 'X-Auth-Token': emulator.token }, maxPayload: options.maxPayload ?? 1024 * 1024 });
  const frames: Frame[] = [];
  const reads: { at: number; frames: number }[] = [];
  let waiters: { test: (frames: readonly Frame[]) => boolean; resolve: () => void }[] = [];
  let error: Error | undefined;
  ws.on('upgrade', (response: IncomingMessage) => response.socket.on('data', () => reads.push({ at: performance.now() - started, frames: frames.length })));
  ws.on('open', () => ws.send(JSON.stringify(REQUEST)));
  ws.on('message', (data: RawData, isBinary: boolean) => {
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const raw = buffer.toString('utf8');
    let json: Record<string, unknown> | undefined;
    try {
      json = isBinary ? undefined : (JSON.parse(raw) as Record<string, unknown>);
    } catch {
      json = undefined;
    }
    const frame: Frame = isBinary ? { kind: 'binary', data: buffer } : { kind: 'text', raw, json };
    frames.push(frame);
    waiters = waiters.filter((w) => {
      if (!w.test(frames)) return true;
      w.resolve();
      return false;
    });
    if (options.closeOnEnd !== false && typeOf(frame) === 'END') ws.close(1000);
  });
  ws.on('error', (e) => (error = e));
  const closed = new Promise<{ code: number; error: Error | undefined }>((resolve) => ws.once('close', (code) => resolve({ code, error })));
  const until = (test: (frames: readonly Frame[]) => boolean): Promise<void> =>
    test(frames) ? Promise.resolve() : new Promise((resolve) => waiters.push({ test, resolve }));
  return { frames, reads, closed, ws, until };
};

describe('emulator faults: trickle, oversized, flood, after-end', () => {
  const sis = useEmulator({ options: { frameBytes: 640 }, teardown: 'idle' });

  describe('trickle', () => {
    it('writes the frame due at the point a few bytes at a time, then goes on with the session', async () => {
      const { emulator } = await sis.start();
      emulator.injectNext({ kind: 'trickle', at: 'before-start', intervalMs: 20, bytesPerTick: 8 });
      const client = watch(emulator);
      await client.closed;
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'END']);
      expect(Buffer.concat(client.frames.flatMap((f) => (f.kind === 'binary' ? [f.data] : []))).length).to.equal(AUDIO);
      // The START response (2 + 60-odd bytes) arrived over several reads, none of which completed it early.
      const startLength = Buffer.byteLength(JSON.stringify({ resp_type: 'START', trace_id: emulator.sessions[0]?.traceId })) + 2;
      const partial = client.reads.filter((read) => read.frames === 0);
      expect(partial.length).to.be.at.least(Math.ceil(startLength / 8) - 1);
      expect(partial.at(-1)?.at ?? 0).to.be.at.least(20 * (Math.ceil(startLength / 8) - 2));
      expect(emulator.sessions[0]).to.include({ ending: 'end-normal', textFrames: 2, audioFrames: 10 });
    });

    it('trickles an audio frame mid-stream, byte by byte', async () => {
      const { emulator } = await sis.start({ frameBytes: 40 });
      emulator.injectNext({ kind: 'trickle', at: { afterFrames: 2 }, intervalMs: 2 });
      const client = watch(emulator);
      await client.closed;
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'END']);
      // Between the 3rd frame (2 audio frames after START) and the 4th: one read per byte of its 42.
      expect(client.reads.filter((read) => read.frames === 3).length).to.be.at.least(30);
      expect(emulator.sessions[0]?.ending).to.equal('end-normal');
    });

    it('changes nothing where no frame is due (after END)', async () => {
      const { emulator } = await sis.start();
      emulator.injectNext({ kind: 'trickle', at: 'after-end' });
      const client = watch(emulator);
      await client.closed;
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'END']);
    });
  });

  describe('oversized', () => {
    it('sends one binary frame of the given size, streamed, then the rest of the session', async () => {
      const { emulator } = await sis.start();
      emulator.injectNext({ kind: 'oversized', at: 'after-start', bytes: 300 * 1024 });
      const client = watch(emulator);
      await client.closed;
      const sizes = client.frames.flatMap((f) => (f.kind === 'binary' ? [f.data.length] : []));
      expect(sizes[0]).to.equal(300 * 1024);
      expect(sizes.slice(1).reduce((a, b) => a + b, 0)).to.equal(AUDIO);
      expect(typeOf(client.frames.at(-1) ?? { kind: 'binary', data: Buffer.alloc(0) })).to.equal('END');
      expect(emulator.sessions[0]).to.include({ ending: 'end-normal', audioBytes: AUDIO + 300 * 1024 });
    });

    it('stops streaming a 100 MiB frame when the client rejects it (maxPayload) and goes away', async () => {
      const { emulator } = await sis.start();
      emulator.injectNext({ kind: 'oversized', at: { afterFrames: 1 }, bytes: 100 * 1024 * 1024 });
      const client = watch(emulator, { maxPayload: 1024 * 1024 });
      const { error } = await client.closed;
      expect(error).to.include({ code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' });
      await emulator.idle();
      // The frame was never finished: only the first audio frame counts as sent.
      expect(emulator.sessions[0]).to.include({ audioFrames: 1, audioBytes: 640, ending: 'client-closed' });
    });
  });

  describe('flood', () => {
    it('sends the extra frames at the point, then the rest of the session', async () => {
      const { emulator } = await sis.start();
      emulator.injectNext({ kind: 'flood', at: { afterFrames: 2 }, frames: 500, bytes: 100 });
      const client = watch(emulator);
      await client.closed;
      const sizes = client.frames.flatMap((f) => (f.kind === 'binary' ? [f.data.length] : []));
      expect(sizes).to.have.length(510);
      expect(sizes.slice(2, 502).every((size) => size === 100)).to.equal(true);
      expect(emulator.sessions[0]).to.include({ ending: 'end-normal', audioFrames: 510, audioBytes: AUDIO + 500 * 100 });
    });

    it('never queues more than the high-water mark: it waits for the socket to drain', () => {
      const socket = new DrainingSocket();
      runSession(socket, {
        config: resolveOptions({ idleTimeoutMs: 0, closeGraceMs: 0 }),
        record: { ...newRecord(1, '/v1/p/rtts', {}), fault: { kind: 'flood', at: 'after-start', frames: 10_000, bytes: 3200 } },
        stats: newStats(),
        context: { connection: 1, path: '/v1/p/rtts', api: 'realtime', headers: {} },
        acquireSlot: () => true,
        releaseSlot: () => undefined,
        reset: () => undefined,
        shuttingDown: () => false,
      });
      socket.receive(JSON.stringify(REQUEST));
      let rounds = 0;
      while (!socket.ended() && rounds++ < 100) {
        expect(socket.bufferedAmount).to.be.at.most(HIGH_WATER_MARK + 3200);
        socket.drain();
      }
      expect(socket.ended()).to.equal(true);
      expect(rounds).to.be.at.least(30); // 32 MB through a 1 MiB window
      expect(socket.binaryBytes).to.equal(10_000 * 3200 + AUDIO);
    });
  });

  describe("the 'after-end' point", () => {
    it('sends the fault after END; the session still counts as ended normally', async () => {
      const { emulator } = await sis.start();
      emulator.injectNext({ kind: 'error', at: 'after-end', errorCode: 'SIS.0401' });
      const client = watch(emulator, { closeOnEnd: false });
      await client.until((frames) => textFrames(frames, 'END').length === 2);
      client.ws.close(1000);
      await client.closed;
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'END', 'ERROR', 'END']);
      expect(textFrames(client.frames, 'END').map((f) => f['reason'])).to.deep.equal(['NORMAL', 'ERROR']);
      expect(emulator.sessions[0]?.ending).to.equal('end-normal');
    });
  });

  describe('options', () => {
    for (const fault of [
      { kind: 'trickle', at: 'after-start', intervalMs: 0 },
      { kind: 'trickle', at: 'before-start', bytesPerTick: 1.5 },
      { kind: 'oversized', at: 'after-start', bytes: 0 },
      { kind: 'flood', at: 'after-start', frames: 0 },
      { kind: 'flood', at: 'after-end', bytes: -1 },
      { kind: 'stall', at: 'after-the-end' },
    ]) {
      it(`rejects ${JSON.stringify(fault)} with SisConfigError`, async () => {
        const { emulator } = await sis.start();
        expect(() => emulator.injectNext(fault as never)).to.throw(SisConfigError);
      });
    }
  });
});

/** A server-side socket whose buffer the test empties (as in backpressure.spec.ts), counting binary bytes. */
class DrainingSocket implements SessionSocket {
  readyState = 1;
  bufferedAmount = 0;
  binaryBytes = 0;
  private texts: string[] = [];
  private pending: (() => void)[] = [];
  private readonly listeners: Record<string, ((...args: never[]) => void)[]> = {};

  send(data: string | Uint8Array, callback: (error?: Error) => void): void {
    if (typeof data === 'string') this.texts.push(data);
    else this.binaryBytes += data.length;
    this.bufferedAmount += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.pending.push(() => callback());
  }
  close(): void {
    this.readyState = 2;
  }
  on(event: 'message' | 'close' | 'error', listener: (...args: never[]) => void): this {
    this.listeners[event] = [...(this.listeners[event] ?? []), listener];
    return this;
  }
  drain(): void {
    this.bufferedAmount = 0;
    for (const callback of this.pending.splice(0)) callback();
  }
  receive(text: string): void {
    for (const listener of this.listeners['message'] ?? []) (listener as (data: RawData, isBinary: boolean) => void)(Buffer.from(text), false);
  }
  ended(): boolean {
    return this.texts.some((text) => text.includes('"END"'));
  }
}
