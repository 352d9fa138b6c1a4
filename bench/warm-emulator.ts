/**
 * (f)'s emulator, in a worker thread of the bench worker: an event loop of its own (as a remote
 * server has), so that the client's work and the emulator's timers do not wait for each other, and
 * it ends with the worker process (nothing to orphan). Started by warm.ts with `workerData` =
 * {@link WarmEmulatorSettings}; posts {@link WarmEmulatorReady}, then answers each
 * {@link WarmEmulatorRequest} with a {@link WarmEmulatorReply}. It notes, in its own thread, when each
 * START arrived and when its think-time timer was set and fired, the event loop's delay and the
 * garbage collections, to place a slow first audio.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { startEmulator } from '../lib/emulator/index.js';

export interface WarmEmulatorSettings {
  readonly handshakeDelayMs: number;
  readonly firstAudioDelayMs: number;
}

export interface WarmEmulatorReady {
  readonly url: string;
  readonly projectId: string;
  readonly token: string;
}

/**
 * idle: answers once no connection is open; clock: this thread's clock (to align it with the client's);
 * timers: the event loop's delay and the think-time timers since the last `timers` (then reset);
 * close: stops the emulator.
 */
export type WarmEmulatorRequest = { readonly id: number; readonly kind: 'idle' | 'clock' | 'timers' | 'close' };

/**
 * A think-time timer: when the START it answers was received, when the timer was set and when it
 * fired, ms on this thread's clock (`performance.timeOrigin + performance.now()`).
 */
export interface ThinkTimer {
  readonly receivedAt: number;
  readonly setAt: number;
  readonly firedAt: number;
}

export interface WarmEmulatorReply {
  readonly id: number;
  /** Connections, sessions started, sessions completed and idle closes so far. */
  readonly stats: { readonly connections: number; readonly started: number; readonly completed: number; readonly idleClosed: number };
  /** For `clock`: this thread's clock when it answered. */
  readonly now?: number;
  /** For `timers`: the event loop's delay since the last `timers`, ms. */
  readonly delayMs?: Quantiles;
  /** For `timers`: the think-time timers fired since the last `timers`, in order. */
  readonly thinkTimers?: ThinkTimer[];
  /** For `timers`: this thread's garbage collections since the last `timers`. */
  readonly gc?: GcPauses;
}

export interface GcPauses {
  readonly count: number;
  readonly totalMs: number;
  readonly maxMs: number;
}

/** Notes the garbage collections of the calling thread from now on; `take()` returns them and starts again. */
export const watchGc = (): { take(): GcPauses; stop(): void } => {
  let pauses: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    take: () => {
      const taken = pauses;
      pauses = [];
      return { count: taken.length, totalMs: taken.reduce((a, b) => a + b, 0), maxMs: Math.max(0, ...taken) };
    },
    stop: () => observer.disconnect(),
  };
};

export interface Quantiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** The emulator thread: starts the emulator, posts where it listens, answers requests. */
const serve = async (port: MessagePort): Promise<void> => {
  const settings = workerData as WarmEmulatorSettings;
  const clock = (): number => performance.timeOrigin + performance.now();
  /**
   * The emulator's think time is a `setTimeout(…, firstAudioDelayMs)` (its player's 'wait' step, set
   * while it handles START, right after the START response is written): this thread's `setTimeout`
   * notes when each such timer was set and when it fired, and `ws`'s 'message' event on the server's
   * sockets when the text frame being handled (the START) was received. Only this thread's globals are
   * wrapped; the emulator's behaviour is unchanged.
   */
  const thinkTimers: ThinkTimer[] = [];
  let textReceivedAt = Number.NaN;
  const plainEmit = WebSocket.prototype.emit;
  WebSocket.prototype.emit = function emit(this: WebSocket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'message' && args[1] === false) textReceivedAt = clock();
    return plainEmit.call(this, event, ...args);
  };
  const plainSetTimeout = globalThis.setTimeout;
  const noted = <A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): NodeJS.Timeout => {
    if (ms !== settings.firstAudioDelayMs) return plainSetTimeout(callback, ms, ...args);
    const setAt = clock();
    const receivedAt = textReceivedAt;
    return plainSetTimeout(() => {
      thinkTimers.push({ receivedAt, setAt, firedAt: clock() });
      callback(...args);
    }, ms);
  };
  globalThis.setTimeout = Object.assign(noted, { __promisify__: plainSetTimeout.__promisify__ }) as typeof setTimeout;
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0, ...settings });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const gc = watchGc();
  port.on('message', (request: WarmEmulatorRequest) => {
    const reply = (extra: Partial<WarmEmulatorReply> = {}): void => {
      const { connections, sessionsStarted, sessionsCompleted, idleClosed } = emulator.stats;
      port.postMessage({ id: request.id, stats: { connections, started: sessionsStarted, completed: sessionsCompleted, idleClosed }, ...extra });
    };
    if (request.kind === 'idle') void emulator.idle().then(() => reply());
    else if (request.kind === 'clock') reply({ now: clock() });
    else if (request.kind === 'timers') {
      const delayMs = { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
      delay.reset();
      reply({ delayMs, thinkTimers: thinkTimers.splice(0), gc: gc.take() });
    } else {
      delay.disable();
      gc.stop();
      void emulator.close().then(() => {
        reply();
        port.close();
      });
    }
  });
  const ready: WarmEmulatorReady = { url: emulator.url, projectId: emulator.projectId, token: emulator.token };
  port.postMessage(ready);
};

// warm.ts imports this module in the client's thread too (types, watchGc): only the worker thread serves.
if (parentPort !== null) await serve(parentPort);
