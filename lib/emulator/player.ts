/**
 * Plays a session's steps (script.ts) on its socket: frames as fast as the socket drains or paced in
 * real time, waits, the byte-level faults written to the TCP socket by hand, and the close. The
 * sessions of both APIs (session.ts, streaming-session.ts) decide what to send; the player decides
 * when, counts what went out, and stops the moment it is told to.
 */
import type { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import type { EmulatorStats, Mutable } from './records.js';
import type { AudioStep, Outcome, SessionEnding, Step, TextStep } from './script.js';

/** Sending pauses above this many buffered bytes and resumes below half of it. */
export const HIGH_WATER_MARK = 1024 * 1024;

/** The part of a server-side `ws` WebSocket a session uses (a fake one drives it in tests). */
export interface SessionSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string | Uint8Array, callback: (error?: Error) => void): void;
  close(code: number, reason: string): void;
  on(event: 'message', listener: (data: RawData, isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Endings after which the synthesis no longer counts against `maxConcurrentSessions` (a stalled one still does). */
export const SYNTHESIS_OVER: ReadonlySet<SessionEnding> = new Set(['end-normal', 'end-error', 'error', 'fatal', 'dropped', 'reset']);

/** The header of an unmasked, final server frame (RFC 6455 §5.2): opcode 1 text, 2 binary. */
const frameHeader = (opcode: 1 | 2, length: number): Buffer => {
  if (length < 126) return Buffer.from([0x80 | opcode, length]);
  if (length < 0x10000) return Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff]);
  const header = Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
};

const wireFrame = (step: TextStep | AudioStep): Buffer => {
  const payload = typeof step.data === 'string' ? Buffer.from(step.data, 'utf8') : Buffer.from(step.data.buffer, step.data.byteOffset, step.data.byteLength);
  return Buffer.concat([frameHeader(step.kind === 'text' ? 1 : 2, payload.length), payload]);
};

// Silence for oversized frames, written over and over: never modified.
const ZEROS = new Uint8Array(64 * 1024);

export interface PlayerDeps {
  readonly ws: SessionSocket;
  /**
   * The upgraded TCP connection under the WebSocket: byte-level faults (trickle, oversized) write
   * frames to it themselves, since `ws` only sends whole frames at once. Absent (unit tests over a
   * fake socket): those faults send whole frames.
   */
  readonly raw: Duplex | undefined;
  /** 0: as fast as the socket drains; 1: real time; 2: twice real time. */
  readonly realtimeFactor: number;
  /** Where frames and bytes sent are counted. */
  readonly record: { audioFrames: number; audioBytes: number; textFrames: number };
  readonly stats: Mutable<EmulatorStats>;
  /** What a step means for the session (its ending, its error code), once it is played. */
  readonly note: (outcome: Outcome | undefined) => void;
  /** The server is about to close the connection: with a close frame of `code` (a close step, the close grace), or without (a reset). */
  readonly closing: (code?: number) => void;
  /** Destroys the TCP connection without a close frame. */
  readonly reset: () => void;
}

/** Plays steps on one socket; see the file comment. */
export class StepPlayer {
  private steps: readonly Step[] = [];
  private next = 0;
  // The one timer of the player: pacing, a wait, a trickle tick or the close grace.
  private timer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  // Frames of the current flood step sent so far.
  private flooded = 0;
  // Stops a raw write that waits for the socket to drain (oversized).
  private stopRaw: (() => void) | undefined;
  // While a frame is written by hand, anything `ws` sent would land inside it.
  private writingRaw = false;
  private afterRawFrame: (() => void)[] = [];
  // An await-close step was reached: nothing more plays until `play` replaces the steps.
  private parked = false;
  private paceOrigin: number | undefined;

  constructor(private readonly deps: PlayerDeps) {}

  /** True while a frame is written to the TCP socket by hand. */
  get midFrame(): boolean {
    return this.writingRaw;
  }

  /** Runs `task` now, or as soon as the frame being written by hand is complete (never, if the socket closes first). */
  whenFrameDone(task: () => void): void {
    if (this.writingRaw) this.afterRawFrame.push(task);
    else task();
  }

  /** Replaces whatever was left to play. */
  play(steps: readonly Step[]): void {
    this.steps = steps;
    this.next = 0;
    this.flooded = 0;
    this.waitingForDrain = false;
    this.parked = false;
    this.stopRaw?.();
    this.stopRaw = undefined;
    this.pump();
  }

  /** Plays `steps` after what is left; after an await-close they never play. */
  append(steps: readonly Step[]): void {
    if (steps.length === 0) return;
    this.steps = [...this.steps.slice(this.next), ...steps];
    this.next = 0;
    // Otherwise a timer, a drain or the frame being written by hand resumes playing.
    const idle = this.timer === undefined && !this.waitingForDrain && !this.writingRaw && !this.parked;
    if (idle) this.pump();
  }

  /** Sends a text frame now, ahead of anything queued (a notice answering a command). Not while {@link midFrame}. */
  sendNow(step: TextStep): void {
    if (this.deps.ws.readyState !== WebSocket.OPEN) return;
    this.deps.ws.send(step.data, this.onSent);
    this.sentFrame(step);
  }

  /** Nothing more is sent; every timer and wait is released. */
  stop(): void {
    this.clearTimer();
    this.stopRaw?.();
    this.stopRaw = undefined;
    this.steps = [];
    this.next = 0;
    this.afterRawFrame = [];
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private sentAudio(length: number): void {
    const { record, stats } = this.deps;
    record.audioFrames++;
    record.audioBytes += length;
    stats.audioFramesSent++;
    stats.audioBytesSent += length;
  }

  private sentFrame(step: TextStep | AudioStep): void {
    if (step.kind === 'audio') return this.sentAudio(step.data.length);
    this.deps.record.textFrames++;
    this.deps.note(step.outcome);
  }

  private closeWith(code: number, reason: string): void {
    // A socket the client is closing already gets no close frame of ours (ws answers the client's).
    this.deps.closing(this.deps.ws.readyState === WebSocket.OPEN ? code : undefined);
    this.deps.ws.close(code, reason);
  }

  private readonly onSent = (): void => {
    if (this.waitingForDrain && this.deps.ws.bufferedAmount <= HIGH_WATER_MARK / 2) {
      this.waitingForDrain = false;
      this.pump();
    }
  };

  /** The frame written by hand is complete: what waited for it runs, then the steps go on. */
  private rawFrameDone(): void {
    this.writingRaw = false;
    const tasks = this.afterRawFrame;
    this.afterRawFrame = [];
    for (const task of tasks) task();
    this.pump();
  }

  /** Writes a frame `bytesPerTick` bytes every `intervalMs` to the TCP socket, then goes on with the steps. */
  private trickle(step: Extract<Step, { kind: 'trickle' }>): void {
    const { raw, ws } = this.deps;
    if (raw === undefined) {
      ws.send(step.frame.data, this.onSent);
      this.sentFrame(step.frame);
      return this.pump();
    }
    const bytes = wireFrame(step.frame);
    let offset = 0;
    this.writingRaw = true;
    const tick = (): void => {
      this.timer = undefined;
      if (ws.readyState !== WebSocket.OPEN) return;
      raw.write(bytes.subarray(offset, offset + step.bytesPerTick));
      offset += step.bytesPerTick;
      if (offset < bytes.length) {
        this.timer = setTimeout(tick, step.intervalMs);
        return;
      }
      this.sentFrame(step.frame);
      this.rawFrameDone();
    };
    tick();
  }

  /** Streams one binary frame of `bytes` zero bytes to the TCP socket, as fast as it drains, then goes on. */
  private oversized(bytes: number): void {
    const { raw, ws } = this.deps;
    if (raw === undefined) {
      ws.send(new Uint8Array(bytes), this.onSent);
      this.sentAudio(bytes);
      return this.pump();
    }
    let left = bytes;
    const write = (): void => {
      this.stopRaw = undefined;
      while (ws.readyState === WebSocket.OPEN) {
        if (left === 0) {
          this.sentAudio(bytes);
          return this.rawFrameDone();
        }
        const chunk = ZEROS.subarray(0, Math.min(left, ZEROS.length));
        left -= chunk.length;
        if (!raw.write(chunk)) {
          raw.once('drain', write);
          this.stopRaw = () => raw.off('drain', write);
          return;
        }
      }
    };
    this.writingRaw = true;
    raw.write(frameHeader(2, bytes));
    write();
  }

  /** Plays steps until they end, a timer must run, or the socket must drain. */
  private pump(): void {
    const { ws, realtimeFactor } = this.deps;
    this.clearTimer();
    while (this.next < this.steps.length && ws.readyState === WebSocket.OPEN) {
      if (ws.bufferedAmount > HIGH_WATER_MARK) {
        this.waitingForDrain = true;
        return;
      }
      const step = this.steps[this.next];
      if (step === undefined) return;
      if (step.kind === 'flood') {
        // One frame per turn of the loop, so that the high-water mark is checked between frames.
        ws.send(step.data, this.onSent);
        this.sentAudio(step.data.length);
        this.flooded++;
        if (this.flooded < step.frames) continue;
        this.flooded = 0;
        this.next++;
        continue;
      }
      if (step.kind === 'anchor') {
        const now = performance.now();
        if (step.notBefore > now + 1) {
          this.timer = setTimeout(() => this.pump(), step.notBefore - now);
          return;
        }
        // Audio that arrives after the previous sentence was heard starts now, not in a burst to catch up.
        if (realtimeFactor > 0) this.paceOrigin = Math.max(this.paceOrigin ?? Number.NEGATIVE_INFINITY, now - step.atMs / realtimeFactor);
        this.next++;
        continue;
      }
      if (step.kind === 'audio' && realtimeFactor > 0) {
        const now = performance.now();
        this.paceOrigin ??= now - step.atMs / realtimeFactor;
        const due = this.paceOrigin + step.atMs / realtimeFactor;
        if (due > now + 1) {
          this.timer = setTimeout(() => this.pump(), due - now);
          return;
        }
      }
      this.next++;
      switch (step.kind) {
        case 'text':
        case 'audio':
          ws.send(step.data, this.onSent);
          this.sentFrame(step);
          break;
        case 'trickle':
          return this.trickle(step);
        case 'oversized':
          return this.oversized(step.bytes);
        case 'wait':
          this.timer = setTimeout(() => this.pump(), step.ms);
          return;
        case 'close':
          this.deps.note(step.outcome);
          this.closeWith(step.code, step.reason);
          return;
        case 'reset':
          this.deps.note({ ending: 'reset' });
          this.deps.closing();
          this.deps.reset();
          return;
        case 'await-close':
          this.parked = true;
          this.deps.note(step.outcome);
          if (step.graceMs !== undefined) this.timer = setTimeout(() => this.closeWith(1000, ''), step.graceMs);
          return;
      }
    }
  }
}
