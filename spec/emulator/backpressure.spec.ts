/**
 * The session's flow control, driven through a fake socket whose buffered amount the test controls:
 * deterministic, where a real socket would depend on kernel buffer sizes.
 */
import { expect } from 'chai';
import type { RawData } from 'ws';
import { resolveOptions } from '../../lib/emulator/options.js';
import { newRecord, newStats } from '../../lib/emulator/records.js';
import { HIGH_WATER_MARK, runSession, type SessionSocket } from '../../lib/emulator/session.js';
import { synthesizeAudio } from '../../lib/emulator/index.js';
import { command } from './helpers.js';

class FakeSocket implements SessionSocket {
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: (string | Uint8Array)[] = [];
  readonly closes: number[] = [];
  private pending: (() => void)[] = [];
  private readonly listeners: Record<string, ((...args: never[]) => void)[]> = {};

  send(data: string | Uint8Array, callback: (error?: Error) => void): void {
    this.sent.push(data);
    this.bufferedAmount += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.pending.push(() => callback());
  }
  close(code: number): void {
    this.closes.push(code);
    this.readyState = 2;
  }
  on(event: 'message' | 'close' | 'error', listener: (...args: never[]) => void): this {
    this.listeners[event] = [...(this.listeners[event] ?? []), listener];
    return this;
  }
  /** The peer read everything: the buffer empties and every send callback runs. */
  drain(): void {
    this.bufferedAmount = 0;
    const callbacks = this.pending;
    this.pending = [];
    for (const callback of callbacks) callback();
  }
  receive(text: string): void {
    for (const listener of this.listeners['message'] ?? []) (listener as (data: RawData, isBinary: boolean) => void)(Buffer.from(text), false);
  }
  closedByPeer(): void {
    this.readyState = 3;
    for (const listener of this.listeners['close'] ?? []) (listener as (code: number) => void)(1000);
  }
  audioBytes(): number {
    return this.sent.reduce((n, d) => n + (typeof d === 'string' ? 0 : d.length), 0);
  }
}

const startSession = (socket: FakeSocket): void => {
  const record = newRecord(1, '/v1/p/rtts', {});
  runSession(socket, {
    config: resolveOptions({ idleTimeoutMs: 0, closeGraceMs: 0 }),
    record,
    stats: newStats(),
    context: { connection: 1, path: '/v1/p/rtts', api: 'realtime', headers: {} },
    acquireSlot: () => true,
    releaseSlot: () => undefined,
    reset: () => undefined,
    shuttingDown: () => false,
  });
};

describe('emulator session flow control', () => {
  // About 2.5 MiB of PCM: more than twice the high-water mark.
  const LONG = command({ text: '好'.repeat(400), sampleRate: 16000 });
  const TOTAL = synthesizeAudio(LONG).length;

  it('stops sending above the high-water mark and resumes when the socket drains', () => {
    const socket = new FakeSocket();
    startSession(socket);
    socket.receive(JSON.stringify(LONG));
    expect(socket.audioBytes())
      .to.be.above(0)
      .and.at.most(HIGH_WATER_MARK + 3200);
    let rounds = 0;
    while (socket.audioBytes() < TOTAL && rounds++ < 100) {
      const before = socket.audioBytes();
      socket.drain();
      expect(socket.audioBytes() - before)
        .to.be.above(0)
        .and.at.most(HIGH_WATER_MARK + 3200);
    }
    expect(socket.audioBytes()).to.equal(TOTAL);
    expect(rounds).to.be.above(1);
    expect(JSON.parse(String(socket.sent[socket.sent.length - 1]))).to.include({ resp_type: 'END', reason: 'NORMAL' });
  });

  it('sends nothing more once the client has closed', () => {
    const socket = new FakeSocket();
    startSession(socket);
    socket.receive(JSON.stringify(LONG));
    const sent = socket.sent.length;
    socket.closedByPeer();
    socket.drain();
    expect(socket.sent.length).to.equal(sent);
  });
});
