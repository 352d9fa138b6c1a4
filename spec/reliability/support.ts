/**
 * What the reliability specs measure: handles and timers keeping the process alive, TCP sockets
 * waited for by their 'close' events (never by sleeping), and every notification a subscriber gets,
 * including those RxJS drops because they came after the end (`config.onStoppedNotification`).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { config, type ObservableNotification, type Observable, type Subscription } from 'rxjs';
// RxJS reports stray notifications through this provider's setTimeout: made synchronous while
// watching, so that a stray is seen at the moment it happens, even in virtual time.
import { timeoutProvider } from 'rxjs/internal/scheduler/timeoutProvider';

// ---- handles and timers ------------------------------------------------------------------------

export type ResourceCounts = Readonly<Record<string, number>>;

// File reads come and go with the test runner and the TypeScript loader; the library does no file I/O here.
const IGNORED = new Set(['FSReqCallback']);

/**
 * `process.getActiveResourcesInfo()` counted by type, e.g. `{ TCPSocketWrap: 2, Timeout: 1 }`.
 * In a mocha test, take it after an `await`: mocha arms the test's own timeout timer only once the
 * test function has returned its promise.
 */
export const activeResources = (): ResourceCounts => {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) if (!IGNORED.has(type)) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
};

/** Types whose count changed, with the change: `{}` when nothing leaked. */
export const resourceGrowth = (before: ResourceCounts, after: ResourceCounts = activeResources()): ResourceCounts => {
  const growth: Record<string, number> = {};
  for (const type of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const delta = (after[type] ?? 0) - (before[type] ?? 0);
    if (delta !== 0) growth[type] = delta;
  }
  return growth;
};

// ---- memory ------------------------------------------------------------------------------------

setFlagsFromString('--expose-gc');
const gcFunction: unknown = runInNewContext('gc');

/** A full garbage collection (V8's `gc`, exposed at run time), so that what is measured is what is alive. */
export const collectGarbage = (): void => {
  if (typeof gcFunction === 'function') gcFunction();
};

/** Bytes alive in the JS heap and in ArrayBuffers (socket data, audio), after a full GC. */
export const liveBytes = (): number => {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};

/** The JS heap after a full GC (without ArrayBuffers, whose freeing lags behind the GC). */
export const heapAfterGc = (): number => {
  collectGarbage();
  return process.memoryUsage().heapUsed;
};

export const MiB = 1024 * 1024;

// ---- TCP sockets -------------------------------------------------------------------------------

const isSocket = (message: unknown): message is { socket: Socket } =>
  typeof message === 'object' && message !== null && 'socket' in message && typeof (message as { socket: unknown }).socket === 'object';

/**
 * Every TCP socket created in this process (client and server side) while watching, through Node's
 * `net.client.socket` / `net.server.socket` diagnostics channels: the library is not touched.
 */
export class SocketWatch {
  private readonly closes: Promise<void>[] = [];
  private count = 0;
  private readonly onSocket = (message: unknown): void => {
    if (!isSocket(message)) return;
    const { socket } = message;
    this.count++;
    this.closes.push(socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve())));
  };

  constructor() {
    subscribe('net.client.socket', this.onSocket);
    subscribe('net.server.socket', this.onSocket);
  }

  /** Sockets seen so far. */
  get sockets(): number {
    return this.count;
  }

  /** Resolves once every socket seen so far has emitted 'close'. */
  async allClosed(): Promise<void> {
    let settled = 0;
    while (settled < this.closes.length) {
      const pending = this.closes.slice(settled);
      settled = this.closes.length;
      await Promise.all(pending);
    }
  }

  stop(): void {
    unsubscribe('net.client.socket', this.onSocket);
    unsubscribe('net.server.socket', this.onSocket);
  }
}

// ---- notifications -----------------------------------------------------------------------------

export type Terminal = { readonly kind: 'complete' } | { readonly kind: 'error'; readonly error: unknown };

/** Everything one subscription received. */
export interface Recording<T> {
  readonly values: T[];
  readonly terminals: Terminal[];
  readonly subscription: Subscription;
  /** Resolves with the first terminal notification. */
  readonly ended: Promise<Terminal>;
}

export const record = <T>(source: Observable<T>, onValue?: (value: T, subscription: () => Subscription | undefined) => void): Recording<T> => {
  const values: T[] = [];
  const terminals: Terminal[] = [];
  let resolve: (terminal: Terminal) => void = () => undefined;
  const ended = new Promise<Terminal>((r) => (resolve = r));
  let subscription: Subscription | undefined;
  const end = (terminal: Terminal): void => {
    terminals.push(terminal);
    resolve(terminal);
  };
  subscription = source.subscribe({
    next: (value) => {
      values.push(value);
      onValue?.(value, () => subscription);
    },
    error: (error: unknown) => end({ kind: 'error', error }),
    complete: () => end({ kind: 'complete' }),
  });
  return { values, terminals, subscription, ended };
};

/**
 * Collects what RxJS would otherwise drop silently: notifications sent to a subscriber that has
 * already ended or unsubscribed, and errors thrown where no one can catch them. Both are recorded
 * synchronously, at the moment they happen.
 */
export class StrayNotifications {
  readonly late: ObservableNotification<unknown>[] = [];
  readonly unhandled: unknown[] = [];
  private readonly saved = {
    onStoppedNotification: config.onStoppedNotification,
    onUnhandledError: config.onUnhandledError,
    delegate: timeoutProvider.delegate,
  };

  constructor() {
    config.onStoppedNotification = (notification) => this.late.push(notification);
    config.onUnhandledError = (error) => this.unhandled.push(error);
    timeoutProvider.delegate = {
      setTimeout: (handler, _timeout, ...args: unknown[]) => {
        (handler as (...a: unknown[]) => void)(...args);
        return 0;
      },
      clearTimeout: () => undefined,
    };
  }

  restore(): void {
    config.onStoppedNotification = this.saved.onStoppedNotification;
    config.onUnhandledError = this.saved.onUnhandledError;
    timeoutProvider.delegate = this.saved.delegate;
  }
}
