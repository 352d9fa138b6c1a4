/**
 * One WebSocket connection on the server side: wait for the START command, check it, then play the
 * session's script (script.ts) frame by frame, paced in real time or as fast as the socket drains,
 * and stop the moment the client goes away.
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import type { StartCommand } from '../protocol/wire.js';
import { synthesize } from './audio/synthesize.js';
import { isSessionFault, type FaultContext, type SessionFault } from './faults.js';
import type { EmulatorConfig } from './options.js';
import { faultProblems } from './options.js';
import type { EmulatorStats, Mutable, SessionRecord } from './records.js';
import { errorSteps, fatalSteps, sessionScript, type AudioStep, type Outcome, type ScriptSettings, type SessionEnding, type Step, type TextStep } from './script.js';
import { checkStart, type ServiceError } from './start.js';

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

/** Endings after which the synthesis no longer counts against `maxConcurrentSessions` (a stalled one still does). */
const SYNTHESIS_OVER: ReadonlySet<SessionEnding> = new Set(['end-normal', 'end-error', 'error', 'fatal', 'dropped', 'reset']);

export interface SessionDeps {
  readonly config: EmulatorConfig;
  readonly record: Mutable<SessionRecord>;
  readonly stats: Mutable<EmulatorStats>;
  readonly context: FaultContext;
  /** A concurrency slot for a running synthesis; false when the cap is reached. */
  readonly acquireSlot: () => boolean;
  readonly releaseSlot: () => void;
  /** Destroys the TCP connection without a close frame. */
  readonly reset: () => void;
  /**
   * The upgraded TCP connection under the WebSocket: byte-level faults (trickle, oversized) write
   * frames to it themselves, since `ws` only sends whole frames at once. Absent (unit tests over a
   * fake socket): those faults send whole frames.
   */
  readonly raw?: Duplex | undefined;
  readonly shuttingDown: () => boolean;
}

export const runSession = (ws: SessionSocket, deps: SessionDeps): void => {
  const { config, record, stats } = deps;
  const traceId = randomUUID();
  record.traceId = traceId;
  const settings: ScriptSettings = {
    traceId,
    frameBytes: config.frameBytes,
    firstAudioDelayMs: config.firstAudioDelayMs,
    closeGraceMs: config.closeGraceMs,
    errorThenEnd: config.errorThenEnd,
  };

  let steps: readonly Step[] = [];
  let next = 0;
  // The one timer of the session: idle timeout, pacing, first-audio delay or close grace.
  let timer: NodeJS.Timeout | undefined;
  let waitingForDrain = false;
  // Frames of the current flood step sent so far.
  let flooded = 0;
  // Stops a raw write that waits for the socket to drain (oversized).
  let stopRaw: (() => void) | undefined;
  // While a frame is written by hand, an answer from `ws` would land inside it: client messages are ignored.
  let midFrame = false;
  let paceOrigin: number | undefined;
  let received = 0;
  let holdsSlot = false;
  let serverClosing = false;
  // silent and stalled sessions ignore whatever the client sends.
  let deaf = record.fault?.kind === 'silent';

  const clearTimer = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const releaseSlot = (): void => {
    if (holdsSlot) deps.releaseSlot();
    holdsSlot = false;
  };
  const note = (outcome: Outcome | undefined): void => {
    // The first ending that finishes the synthesis stands (an ERROR's END/ERROR completes it):
    // an ERROR answering a message sent after END does not change how the session ended.
    const { ending: previous } = record;
    const replaces = previous === undefined || !SYNTHESIS_OVER.has(previous) || (previous === 'error' && outcome?.ending === 'end-error');
    if (outcome?.ending !== undefined && replaces) {
      record.ending = outcome.ending;
      if (SYNTHESIS_OVER.has(outcome.ending)) releaseSlot();
      if (outcome.ending === 'end-normal') stats.sessionsCompleted++;
      if (outcome.ending === 'error') stats.errorsSent++;
      if (outcome.ending === 'fatal') stats.fatalErrorsSent++;
    }
    if (outcome?.errorCode !== undefined) record.errorCode = outcome.errorCode;
  };
  const closeWith = (code: number, reason: string): void => {
    serverClosing = true;
    ws.close(code, reason);
  };

  const sentAudio = (length: number): void => {
    record.audioFrames++;
    record.audioBytes += length;
    stats.audioFramesSent++;
    stats.audioBytesSent += length;
  };
  const sentFrame = (step: TextStep | AudioStep): void => {
    if (step.kind === 'audio') return sentAudio(step.data.length);
    record.textFrames++;
    note(step.outcome);
  };

  /** Writes a frame `bytesPerTick` bytes every `intervalMs` to the TCP socket, then goes on with the script. */
  const trickle = (step: Extract<Step, { kind: 'trickle' }>): void => {
    const { raw } = deps;
    const bytes = wireFrame(step.frame);
    if (raw === undefined) {
      ws.send(step.frame.data, onSent);
      sentFrame(step.frame);
      return pump();
    }
    let offset = 0;
    midFrame = true;
    const tick = (): void => {
      timer = undefined;
      if (ws.readyState !== WebSocket.OPEN) return;
      raw.write(bytes.subarray(offset, offset + step.bytesPerTick));
      offset += step.bytesPerTick;
      if (offset < bytes.length) {
        timer = setTimeout(tick, step.intervalMs);
        return;
      }
      midFrame = false;
      sentFrame(step.frame);
      pump();
    };
    tick();
  };

  /** Streams one binary frame of `bytes` zero bytes to the TCP socket, as fast as it drains, then goes on. */
  const oversized = (bytes: number): void => {
    const { raw } = deps;
    const done = (): void => {
      midFrame = false;
      sentAudio(bytes);
      pump();
    };
    if (raw === undefined) {
      ws.send(new Uint8Array(bytes), onSent);
      return done();
    }
    let left = bytes;
    const write = (): void => {
      stopRaw = undefined;
      while (ws.readyState === WebSocket.OPEN) {
        if (left === 0) return done();
        const chunk = ZEROS.subarray(0, Math.min(left, ZEROS.length));
        left -= chunk.length;
        if (!raw.write(chunk)) {
          raw.once('drain', write);
          stopRaw = () => raw.off('drain', write);
          return;
        }
      }
    };
    midFrame = true;
    raw.write(frameHeader(2, bytes));
    write();
  };

  const onSent = (): void => {
    if (waitingForDrain && ws.bufferedAmount <= HIGH_WATER_MARK / 2) {
      waitingForDrain = false;
      pump();
    }
  };

  /** Plays steps until the script ends, waits for a timer, or the socket must drain. */
  const pump = (): void => {
    clearTimer();
    while (next < steps.length && ws.readyState === WebSocket.OPEN) {
      if (ws.bufferedAmount > HIGH_WATER_MARK) {
        waitingForDrain = true;
        return;
      }
      const step = steps[next];
      if (step === undefined) return;
      if (step.kind === 'flood') {
        // One frame per turn of the loop, so that the high-water mark is checked between frames.
        ws.send(step.data, onSent);
        sentAudio(step.data.length);
        flooded++;
        if (flooded < step.frames) continue;
        flooded = 0;
        next++;
        continue;
      }
      if (step.kind === 'audio' && config.realtimeFactor > 0) {
        const now = performance.now();
        paceOrigin ??= now - step.atMs / config.realtimeFactor;
        const due = paceOrigin + step.atMs / config.realtimeFactor;
        if (due > now + 1) {
          timer = setTimeout(pump, due - now);
          return;
        }
      }
      next++;
      switch (step.kind) {
        case 'text':
        case 'audio':
          ws.send(step.data, onSent);
          sentFrame(step);
          break;
        case 'trickle':
          return trickle(step);
        case 'oversized':
          return oversized(step.bytes);
        case 'wait':
          timer = setTimeout(pump, step.ms);
          return;
        case 'close':
          note(step.outcome);
          releaseSlot();
          closeWith(step.code, step.reason);
          return;
        case 'reset':
          note({ ending: 'reset' });
          releaseSlot();
          serverClosing = true;
          deps.reset();
          return;
        case 'await-close':
          note(step.outcome);
          if (step.outcome?.ending === 'stalled') deaf = true;
          if (step.graceMs !== undefined) timer = setTimeout(() => closeWith(1000, ''), step.graceMs);
          return;
      }
    }
  };

  /** Replaces whatever was left to send. */
  const play = (script: readonly Step[]): void => {
    steps = script;
    next = 0;
    flooded = 0;
    waitingForDrain = false;
    stopRaw?.();
    stopRaw = undefined;
    pump();
  };

  const fail = (error: ServiceError, options?: { end: boolean }): void => play(errorSteps(settings, error, options));

  const chooseFault = (command: StartCommand): SessionFault | 'invalid' | undefined => {
    if (record.fault !== undefined) return isSessionFault(record.fault) ? record.fault : undefined;
    const chosen = config.faultOnStart?.(command, deps.context);
    if (chosen === undefined) return undefined;
    // A chooser is user code: a fault it returns is checked like an option.
    if (faultProblems(chosen, '').length > 0 || !isSessionFault(chosen)) return 'invalid';
    record.fault = chosen;
    stats.faultsApplied++;
    return chosen;
  };

  const onStart = (message: string): void => {
    const checked = checkStart(message, config);
    if (!checked.ok) return fail(checked);
    const { command } = checked;
    record.command = command;
    if (!deps.acquireSlot()) return fail({ errorCode: 'SIS.0312', errorMsg: 'the number of concurrent requests exceeds the limit' });
    holdsSlot = true;
    stats.sessionsStarted++;
    const fault = chooseFault(command);
    if (fault === 'invalid') return fail({ errorCode: 'SIS.0001', errorMsg: 'emulator: faultOnStart returned an invalid fault' });
    play(sessionScript(command, synthesize(command), fault, settings));
  };

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (deaf || serverClosing || midFrame) return;
    received++;
    if (received === 1) clearTimer();
    if (isBinary) {
      // After END the session is over: answer the mistake, but do not end it a second time.
      fail({ errorCode: 'SIS.0032', errorMsg: 'binary data is not accepted: send the START command as a JSON text frame' }, { end: config.errorThenEnd && record.ending === undefined });
      return;
    }
    if (received === 1) return onStart(rawText(data));
    fail({ errorCode: 'SIS.0031', errorMsg: 'only one START command is accepted per connection' }, { end: config.errorThenEnd && record.ending === undefined });
  });

  ws.on('close', (code: number) => {
    clearTimer();
    stopRaw?.();
    stopRaw = undefined;
    steps = [];
    releaseSlot();
    record.closeCode = code;
    record.closedBy = deps.shuttingDown() ? 'emulator' : serverClosing ? 'server' : 'client';
    record.ending ??= deps.shuttingDown() ? 'emulator-closed' : 'client-closed';
  });
  // Socket errors (a reset by the client, …) end in 'close'; without a listener they would crash the process.
  ws.on('error', () => undefined);

  if (deaf) {
    record.ending = 'silent';
  } else if (config.idleTimeoutMs > 0) {
    timer = setTimeout(() => play(fatalSteps(settings, { errorCode: 'SIS.0304', errorMsg: 'wait voice timeout' })), config.idleTimeoutMs);
  }
};

const rawText = (data: RawData): string =>
  (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
