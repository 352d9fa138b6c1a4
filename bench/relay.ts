/**
 * (i) The relay (issue 12): what `createSisRelay` costs beside the proxy an app would otherwise write
 * by hand. Every process on 127.0.0.1:
 *
 *   bench/index.ts (this module: starts the others, asks them over IPC, stops them)
 *     ├─ the emulator: `sis-emulator` in fast mode, a process of its own
 *     ├─ the "browsers": one client process (the library with `auth: 'relay'`, or a raw `ws` client)
 *     └─ a proxy process per measurement, so that its memory is its own:
 *          relay     `createSisRelay` on an HTTP server (authorize reads the X-User header, origins '*',
 *                    the default limits: 4 sessions per user, 1,000 per relay)
 *          baseline  a raw `ws` proxy: the token header, frames piped both ways, no checks, no limits,
 *                    no flow control (see {@link baselineProxy})
 *
 *   browsers ──▶ relay | baseline ──▶ emulator          direct (part 1 only): browsers ──▶ emulator
 *
 * 1. Time to first chunk over sequential sessions ('你好', 8 kHz, as (b)), the three routes taking
 *    turns session by session, after a warm-up; both proxies run meanwhile.
 * 2. Concurrent sessions (the same request, one user per 4 sessions) through each proxy, a fresh
 *    proxy process per round after 100 warm-up sessions: wall time, the proxy's peak RSS, the
 *    sessions that ended normally, and the relay's `stats()` once the browsers are gone.
 * 3. A slow reader: one raw `ws` browser reads a long stream (16 kHz) at a fixed byte rate with
 *    `pause()`/`resume()`; the proxy (run with `--expose-gc`) samples its heapUsed + arrayBuffers after a
 *    full GC every 10 ms, above its idle figure, and the bytes waiting to be written to the browser
 *    (the relay: `stats().bufferedBytes`; the baseline: its sockets' `bufferedAmount`).
 * The roles run from this file: `node bench/.out/bench/relay.js relay|baseline|client '<target json>'`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { synthesizeAudio } from '../lib/emulator/index.js';
import { synthesize$, type SisClientOptions, type WebSocketFactory } from '../lib/index.js';
import { resolveRequest, toStartCommand } from '../lib/protocol/request.js';
import { createSisRelay, DEFAULT_RELAY_LIMITS, RELAY_HIGH_WATER_MARK, type SisRelayStats } from '../lib/relay/index.js';
import { wsWebSocketFactory } from '../lib/transport/index.js';
import { libraryRequest, rawStartJson, textOf, within, type BenchRequest, type Target } from './clients.js';
import { ROOT, startEmulatorProcess, stop, type Runtime } from './processes.js';
import { median, MIB, quantile } from './stats.js';

export type ProxyKind = 'relay' | 'baseline';
export const PROXIES: readonly ProxyKind[] = ['relay', 'baseline'];
/** How a browser reaches the emulator: straight (with the token, as a server would) or through a proxy. */
export type Route = 'direct' | ProxyKind;
export const ROUTES: readonly Route[] = ['direct', 'relay', 'baseline'];

export interface PerProxy<T> {
  readonly relay: T;
  readonly baseline: T;
}

/** How much of each measurement a run does. */
export interface RelayJob {
  /** Part 1: sequential sessions per route, after `warmup` of each. */
  readonly sequential: number;
  readonly warmup: number;
  /** Part 2: sessions at once, and rounds per proxy (a fresh proxy process each). */
  readonly concurrent: number;
  readonly rounds: number;
  /** Part 3: characters of the slow reader's text (16 kHz, speed -34: 6,708 B each), and its byte rate. */
  readonly slowChars: number;
  readonly readerBytesPerSecond: number;
}

/** The full run (about 40 s) and `--quick`'s (about 20 s). */
export const RELAY_JOBS: Readonly<Record<'full' | 'quick', RelayJob>> = {
  full: { sequential: 300, warmup: 30, concurrent: 1_000, rounds: 3, slowChars: 1_250, readerBytesPerSecond: 2e6 },
  quick: { sequential: 100, warmup: 10, concurrent: 1_000, rounds: 1, slowChars: 312, readerBytesPerSecond: 2e6 },
};

export const RELAY_BENCH = {
  frameBytes: 3200,
  /** Part 2's warm-up sessions, 20 at a time. */
  concurrentWarmup: 100,
  /** Part 3's sampling period and the warm-up stream (read at full speed) before it. */
  sampleEveryMs: 10,
  slowWarmupChars: 100,
  /** The relay's flow control pauses the service's socket above this many bytes waiting for a browser. */
  relayHighWaterMark: RELAY_HIGH_WATER_MARK,
} as const;

/** Parts 1 and 2: '你好', 8 kHz, 6,400 B in two frames (as (b) and (c)). */
export const RELAY_SHORT: BenchRequest = { text: '你好', sampleRate: 8000, voice: 'chinese_xiaoyan_common', speed: 0 };
const LONG_SOURCE = '语音合成服务把文字变成声音';
/** Part 3: a long text at 16 kHz (as (d)): 6,708 B per character. */
export const slowRequest = (chars: number): BenchRequest => ({
  text: Array.from({ length: chars }, (_, i) => LONG_SOURCE[i % LONG_SOURCE.length] ?? '语').join(''),
  sampleRate: 16000,
  voice: 'chinese_xiaoyan_common',
  speed: -34,
});

export interface FirstChunkFigures {
  readonly median: number;
  readonly p99: number;
}

export interface MemoryFigures {
  /** RSS now, KiB. */
  readonly rssKiB: number;
  /** process.resourceUsage().maxRSS: the process's peak RSS so far, KiB. */
  readonly maxRssKiB: number;
}

export interface ConcurrentRound {
  readonly proxy: ProxyKind;
  readonly sessions: number;
  readonly ok: number;
  readonly firstError: string | undefined;
  readonly wallMs: number;
  /** The proxy's RSS after the warm-up, idle, and its peak RSS once the sessions were over, KiB. */
  readonly rssBeforeKiB: number;
  readonly maxRssKiB: number;
  /** Connections the proxy still held once the browsers were gone (waited for up to 10 s). */
  readonly openAfter: number;
  /** The relay's `stats()` then (undefined: the baseline has none). */
  readonly relayStats: SisRelayStats | undefined;
}

/** What the proxy process sampled while one slow reader read. */
export interface Sample {
  /** Whether the proxy collected garbage before each sample (it runs with --expose-gc). */
  readonly collected: boolean;
  readonly samples: number;
  /** heapUsed + arrayBuffers of the idle proxy, and its peak above that, bytes. */
  readonly idleBytes: number;
  readonly peakBytes: number;
  readonly peakHeapUsedBytes: number;
  readonly peakArrayBuffersBytes: number;
  /** The most bytes sampled waiting to be written to the browser. */
  readonly maxBufferedBytes: number;
}

export interface SlowReaderRun extends Sample {
  readonly proxy: ProxyKind;
  readonly bytes: number;
  /** From the socket's creation until END. */
  readonly elapsedMs: number;
  /** Times the browser paused its socket. */
  readonly pauses: number;
}

export interface RelayReport {
  readonly job: RelayJob;
  readonly firstChunk: { readonly sessions: number; readonly figures: Record<Route, FirstChunkFigures> };
  /** Users the concurrent sessions are spread over (4 sessions each: the relay's default per-user limit). */
  readonly users: number;
  readonly concurrent: ConcurrentRound[];
  readonly slowReader: SlowReaderRun[];
}

// ---- the proxies -----------------------------------------------------------------------------------

/** A proxy in its process: where browsers connect, what it holds now. */
interface Proxy {
  /** `ws://127.0.0.1:port/tts`: the page's endpoint. */
  readonly url: string;
  /** Browser connections open now. */
  open(): number;
  /** Bytes waiting to be written to browsers now. */
  buffered(): number;
  stats(): SisRelayStats | undefined;
}

const listening = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/tts`;
};

/** A real app reads a session cookie; the bench sends its user in a header. */
const headerUser = (request: IncomingMessage): string | undefined => {
  const user = request.headers['x-user'];
  return typeof user === 'string' ? user : undefined;
};

const relayProxy = async (target: Target): Promise<Proxy> => {
  const relay = createSisRelay({
    sis: { endpoint: target.url, projectId: target.projectId, auth: { token: target.token } },
    authorize: headerUser,
    origins: ['*'],
  });
  const server = createServer((_request, response) => response.writeHead(404).end());
  relay.attach(server);
  return { url: await listening(server), open: () => relay.stats().sessions, buffered: () => relay.stats().bufferedBytes, stats: () => relay.stats() };
};

/**
 * The baseline: the proxy an app writes in a few lines. It adds the token and pipes frames both ways;
 * it checks nothing and never pauses the service's socket, so a slow browser's audio piles up in it.
 */
const baselineProxy = async (target: Target): Promise<Proxy> => {
  const server = createServer((_request, response) => response.writeHead(404).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (browser) => {
    const upstream = new WebSocket(`${target.url}/v1/${target.projectId}/rtts`, { headers: { 'X-Auth-Token': target.token }, perMessageDeflate: false });
    const early: { data: RawData; binary: boolean }[] = [];
    browser.on('message', (data: RawData, binary: boolean) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary });
      else early.push({ data, binary });
    });
    upstream.on('open', () => {
      for (const { data, binary } of early.splice(0)) upstream.send(data, { binary });
    });
    upstream.on('message', (data: RawData, binary: boolean) => browser.send(data, { binary }));
    upstream.on('close', () => browser.close());
    upstream.on('error', () => browser.terminate());
    browser.on('close', () => (upstream.readyState === WebSocket.OPEN ? upstream.close() : upstream.terminate()));
    browser.on('error', () => upstream.terminate());
  });
  const buffered = (): number => {
    let bytes = 0;
    for (const browser of wss.clients) bytes += browser.bufferedAmount;
    return bytes;
  };
  return { url: await listening(server), open: () => wss.clients.size, buffered, stats: () => undefined };
};

interface IdleReport {
  readonly open: number;
  readonly stats: SisRelayStats | undefined;
}

/** What the orchestrator asks a proxy process. */
interface ProxyCalls {
  memory(): Promise<MemoryFigures>;
  /** Resolves once no browser connection is open, or after `deadlineMs`. */
  idle(args: { readonly deadlineMs: number }): Promise<IdleReport>;
  sampleStart(): Promise<void>;
  sampleStop(): Promise<Sample>;
}

const collector = (): (() => void) | undefined => {
  const gc: unknown = Reflect.get(globalThis, 'gc');
  return typeof gc === 'function' ? () => void Reflect.apply(gc, globalThis, []) : undefined;
};

const proxyCalls = (proxy: Proxy): ProxyCalls => {
  const gc = collector();
  let sampling: { timer: NodeJS.Timeout; figures: Omit<Sample, 'collected' | 'idleBytes'>; idle: NodeJS.MemoryUsage } | undefined;
  const sample = (): void => {
    if (sampling === undefined) return;
    gc?.();
    const { idle, figures } = sampling;
    const now = process.memoryUsage();
    sampling.figures = {
      samples: figures.samples + 1,
      peakBytes: Math.max(figures.peakBytes, now.heapUsed + now.arrayBuffers - idle.heapUsed - idle.arrayBuffers),
      peakHeapUsedBytes: Math.max(figures.peakHeapUsedBytes, now.heapUsed - idle.heapUsed),
      peakArrayBuffersBytes: Math.max(figures.peakArrayBuffersBytes, now.arrayBuffers - idle.arrayBuffers),
      maxBufferedBytes: Math.max(figures.maxBufferedBytes, proxy.buffered()),
    };
  };
  return {
    memory: async () => ({ rssKiB: Math.round(process.memoryUsage.rss() / 1024), maxRssKiB: process.resourceUsage().maxRSS }),
    idle: async ({ deadlineMs }) => {
      // Polled: a diagnostics subscriber would make the relay build an event per session while measured.
      const started = performance.now();
      while (proxy.open() > 0 && performance.now() - started < deadlineMs) await sleep(5);
      return { open: proxy.open(), stats: proxy.stats() };
    },
    sampleStart: async () => {
      gc?.();
      gc?.();
      const figures = { samples: 0, peakBytes: 0, peakHeapUsedBytes: 0, peakArrayBuffersBytes: 0, maxBufferedBytes: 0 };
      sampling = { timer: setInterval(sample, RELAY_BENCH.sampleEveryMs), figures, idle: process.memoryUsage() };
    },
    sampleStop: async () => {
      if (sampling === undefined) throw new Error('sampleStop before sampleStart');
      clearInterval(sampling.timer);
      const { figures, idle } = sampling;
      sampling = undefined;
      return { ...figures, collected: gc !== undefined, idleBytes: idle.heapUsed + idle.arrayBuffers };
    },
  };
};

// ---- the browsers ----------------------------------------------------------------------------------

interface FirstChunkJob {
  readonly direct: Target;
  readonly relay: string;
  readonly baseline: string;
  readonly request: BenchRequest;
  readonly sessions: number;
  readonly warmup: number;
}

interface ConcurrentJob {
  readonly url: string;
  readonly sessions: number;
  /** Sessions started at once (the warm-up: 20; measured: all). */
  readonly batch: number;
  readonly users: number;
  readonly request: BenchRequest;
  readonly deadlineMs: number;
}

interface ConcurrentRun {
  readonly ok: number;
  readonly firstError: string | undefined;
  readonly wallMs: number;
}

interface SlowReadJob {
  readonly url: string;
  readonly request: BenchRequest;
  readonly expectedBytes: number;
  /** 0: as fast as it comes. */
  readonly bytesPerSecond: number;
}

interface SlowRead {
  readonly bytes: number;
  readonly elapsedMs: number;
  readonly pauses: number;
}

/** What the orchestrator asks the client process. */
interface ClientCalls {
  /** The PCM bytes the emulator renders for `request`. */
  size(request: BenchRequest): Promise<number>;
  firstChunk(job: FirstChunkJob): Promise<Record<Route, number[]>>;
  concurrent(job: ConcurrentJob): Promise<ConcurrentRun>;
  slowRead(job: SlowReadJob): Promise<SlowRead>;
}

const messageOf = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** A page's socket: the library's `ws` factory with the page's user (the relay's authorize reads it). */
const pageFactory =
  (user: string): WebSocketFactory =>
  (request, listener) =>
    wsWebSocketFactory({ ...request, headers: { ...request.headers, 'X-User': user } }, listener);

/** The library's options for a page behind a proxy (`url`), or for a server straight to the emulator. */
const clientOptions = (to: Target | string, user: string, request: BenchRequest, deadlineMs?: number): SisClientOptions => ({
  ...(typeof to === 'string'
    ? { endpoint: to, projectId: 'relay', auth: 'relay', webSocketFactory: pageFactory(user) }
    : { endpoint: to.url, projectId: to.projectId, auth: { token: to.token } }),
  limits: { maxTextLength: [...request.text].length },
  ...(deadlineMs === undefined ? {} : { timeouts: { connect: deadlineMs, firstAudio: deadlineMs } }),
});

/** One `synthesize$` to END: ms to its first chunk. */
const firstChunkOf = (options: SisClientOptions, request: BenchRequest): Promise<number> =>
  new Promise((resolve, reject) => {
    let first = Number.NaN;
    const startedAt = performance.now();
    synthesize$(libraryRequest(request), options).subscribe({
      next: () => {
        if (Number.isNaN(first)) first = performance.now() - startedAt;
      },
      error: (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
      complete: () => (Number.isNaN(first) ? reject(new Error('END without audio')) : resolve(first)),
    });
  });

/** The routes in an order that turns every session, so drift hits each alike. */
const inTurn = <T>(items: readonly T[], turn: number): T[] => items.map((_, i) => items[(i + turn) % items.length] as T);

const clientCalls: ClientCalls = {
  size: async (request) => {
    const fields = { text: request.text, audioFormat: 'pcm', sampleRate: request.sampleRate, voice: request.voice, speed: request.speed, pitch: 0, volume: 50 };
    return synthesizeAudio(toStartCommand(resolveRequest(fields, { maxTextLength: [...request.text].length }))).byteLength;
  },

  firstChunk: async ({ direct, relay, baseline, request, sessions, warmup }) => {
    const times: Record<Route, number[]> = { direct: [], relay: [], baseline: [] };
    const to: Record<Route, Target | string> = { direct, relay, baseline };
    for (let i = -warmup; i < sessions; i++) {
      for (const route of inTurn(ROUTES, i + warmup)) {
        const user = `user-${(i + warmup) % 250}`;
        const ms = await within(firstChunkOf(clientOptions(to[route], user, request), request), 30_000, `(i) ${route} session ${i}`);
        if (i >= 0) times[route].push(ms);
      }
    }
    return times;
  },

  concurrent: async ({ url, sessions, batch, users, request, deadlineMs }) => {
    let ok = 0;
    let firstError: string | undefined;
    const started = performance.now();
    const run = async (): Promise<void> => {
      for (let done = 0; done < sessions; done += batch) {
        const size = Math.min(batch, sessions - done);
        const all = Array.from({ length: size }, (_, i) =>
          firstChunkOf(clientOptions(url, `user-${(done + i) % users}`, request, deadlineMs), request).then(
            () => {
              ok++;
            },
            (error: unknown) => {
              firstError ??= messageOf(error);
            },
          ),
        );
        await Promise.all(all);
      }
    };
    try {
      await within(run(), deadlineMs, `(i) ${sessions} sessions`);
    } catch (error) {
      firstError ??= messageOf(error);
    }
    return { ok, firstError, wallMs: performance.now() - started };
  },

  /** A raw `ws` browser reading at `bytesPerSecond` on average from its first byte (a token bucket): pause(), then resume() when due. */
  slowRead: ({ url, request, expectedBytes, bytesPerSecond }) => {
    const reading = new Promise<SlowRead>((resolve, reject) => {
      let bytes = 0;
      let pauses = 0;
      let paused = false;
      let origin: number | undefined;
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const startedAt = performance.now();
      const ws = new WebSocket(`${url}/v1/relay/rtts`, { headers: { 'X-User': 'slow-reader' }, perMessageDeflate: false });
      const failWith = (message: string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(message));
      };
      ws.on('open', () => ws.send(rawStartJson(request)));
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (done) return;
        if (isBinary) {
          const now = performance.now();
          origin ??= now;
          bytes += Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;
          const due = bytesPerSecond === 0 ? now : origin + (bytes / bytesPerSecond) * 1000;
          if (paused || due <= now + 1) return;
          paused = true;
          pauses++;
          ws.pause();
          timer = setTimeout(() => {
            paused = false;
            ws.resume();
          }, due - now);
          return;
        }
        const frame = JSON.parse(textOf(data)) as { resp_type?: unknown; reason?: unknown; error_code?: unknown };
        if (frame.resp_type === 'END' && frame.reason === 'NORMAL') {
          done = true;
          clearTimeout(timer);
          ws.resume(); // a paused socket would not read the close reply
          ws.close(1000);
          if (bytes === expectedBytes) resolve({ bytes, elapsedMs: performance.now() - startedAt, pauses });
          else reject(new Error(`(i) the slow reader received ${bytes} bytes, expected ${expectedBytes}`));
        } else if (frame.resp_type === 'END' || frame.resp_type === 'ERROR' || frame.resp_type === 'FATAL_ERROR') {
          failWith(`(i) slow reader: ${String(frame.resp_type)} ${String(frame.error_code ?? frame.reason)}`);
        }
      });
      ws.on('unexpected-response', (_request, response) => failWith(`(i) slow reader: handshake refused with HTTP ${response.statusCode ?? 0}`));
      ws.on('error', (error) => failWith(`(i) slow reader: ${error.message}`));
      ws.on('close', (code) => failWith(`(i) slow reader: closed with ${code} before END`));
    });
    const deadline = bytesPerSecond === 0 ? 60_000 : (expectedBytes / bytesPerSecond) * 3_000 + 30_000;
    return within(reading, deadline, '(i) slow reader');
  },
};

// ---- the processes and their calls -------------------------------------------------------------------

type Calls<T> = { readonly [K in keyof T]: (args: never) => Promise<unknown> };
type CallMessage = { readonly id: number; readonly call: string; readonly args: unknown };
type AnswerMessage = { readonly id: number; readonly value: unknown; readonly error?: undefined } | { readonly id: number; readonly error: string };
type ReadyMessage = { readonly ready: string };

type Role = 'client' | ProxyKind;
const ROLES: readonly Role[] = ['client', 'relay', 'baseline'];

/**
 * A role's process, driven over IPC: `call()` sends a request and resolves with its answer. The child
 * exits when the channel closes (`stop()`, or this process dying), so none is left behind.
 */
class Child<T extends Calls<T>> {
  private ids = 0;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    /** What the child said when ready: a proxy's URL. */
    readonly ready: Promise<string>,
  ) {
    child.stderr?.on('data', (data: Buffer) => {
      this.stderr = `${this.stderr}${data.toString('utf8')}`.slice(-2_000);
      process.stderr.write(data);
    });
    child.on('message', (message: AnswerMessage | ReadyMessage) => {
      if ('ready' in message) return;
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.error === undefined) waiter?.resolve(message.value);
      else waiter?.reject(new Error(message.error));
    });
    child.once('exit', (code, signal) => {
      const error = new Error(
        `(i) a bench process exited (${signal ?? String(code)})${this.stderr === '' ? '' : `: ${this.stderr.trim().split('\n').pop() ?? ''}`}`,
      );
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    });
  }

  static start<T extends Calls<T>>(runtime: Runtime, role: Role, target: Target, nodeArgs: readonly string[] = []): Child<T> {
    const script = runtime === 'tsx' ? ['--import', 'tsx', 'bench/relay.ts'] : [join('bench/.out', 'bench/relay.js')];
    const child = spawn(process.execPath, [...nodeArgs, ...script, role, JSON.stringify(target)], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const ready = new Promise<string>((resolve, reject) => {
      const onMessage = (message: AnswerMessage | ReadyMessage): void => {
        if (!('ready' in message)) return;
        child.off('exit', onExit);
        resolve(message.ready);
      };
      const onExit = (code: number | null): void => reject(new Error(`(i) the ${role} process exited (${String(code)}) before it was ready`));
      child.once('message', onMessage);
      child.once('exit', onExit);
    });
    return new Child<T>(child, within(ready, 30_000, `(i) the ${role} process`));
  }

  call<K extends keyof T & string>(call: K, args: Parameters<T[K]>[0], timeoutMs: number): ReturnType<T[K]> {
    const id = ++this.ids;
    const answer = new Promise<unknown>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const message: CallMessage = { id, call, args };
      this.child.send(message);
    });
    return within(answer, timeoutMs, `(i) ${call}`) as ReturnType<T[K]>;
  }

  /** Closes the channel (the child exits at once); SIGTERM, then SIGKILL, if it lingers. */
  async stop(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    const exited =
      this.child.exitCode !== null || this.child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await Promise.race([exited, sleep(2_000)]);
    await stop(this.child, 1_000);
  }
}

/** The child's side: answers each call with its handler, exits when the channel closes. */
const serve = <T extends Calls<T>>(handlers: T, ready: string): void => {
  const send = (message: AnswerMessage | ReadyMessage): void => {
    process.send?.(message);
  };
  process.on('message', (message: CallMessage) => {
    const handler: unknown = Reflect.get(handlers, message.call);
    const answer =
      typeof handler === 'function'
        ? Promise.resolve().then(() => Reflect.apply(handler, handlers, [message.args]) as Promise<unknown>)
        : Promise.reject(new Error(`no call ${message.call}`));
    answer.then(
      (value) => send({ id: message.id, value }),
      (error: unknown) => send({ id: message.id, error: messageOf(error) }),
    );
  });
  process.once('disconnect', () => process.exit(0));
  send({ ready });
};

const role = async (name: string | undefined, targetJson: string | undefined): Promise<void> => {
  if (!ROLES.includes(name as Role) || targetJson === undefined) throw new Error(`usage: relay.js ${ROLES.join('|')} '<target json>'`);
  const target = JSON.parse(targetJson) as Target;
  if (name === 'client') return serve(clientCalls, '');
  const proxy = name === 'relay' ? await relayProxy(target) : await baselineProxy(target);
  serve(proxyCalls(proxy), proxy.url);
};

// ---- the measurements ----------------------------------------------------------------------------------

const log = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};

/**
 * Runs the three measurements (see the top of this file) with the emulator in a process of its own;
 * `runtime` says how the children run (the code tsc compiled into bench/.out, or the sources through tsx).
 */
export const relayRun = async (job: RelayJob, runtime: Runtime): Promise<RelayReport> => {
  const emulator = await startEmulatorProcess(RELAY_BENCH.frameBytes);
  const target: Target = { url: emulator.url, projectId: emulator.projectId, token: emulator.token };
  const children = new Set<{ stop(): Promise<void> }>();
  const started = <T extends Calls<T>>(child: Child<T>): Child<T> => {
    children.add(child);
    return child;
  };
  const proxy = async (kind: ProxyKind, nodeArgs: readonly string[] = []): Promise<{ child: Child<ProxyCalls>; url: string }> => {
    const child = started(Child.start<ProxyCalls>(runtime, kind, target, nodeArgs));
    return { child, url: await child.ready };
  };
  const stopping = async (child: Child<ProxyCalls>): Promise<void> => {
    children.delete(child);
    await child.stop();
  };
  try {
    log(`(i) emulator at ${emulator.url} (pid ${String(emulator.child.pid)})`);
    const client = started(Child.start<ClientCalls>(runtime, 'client', target));
    await client.ready;

    // 1. Time to first chunk, the three routes taking turns.
    const [relay, baseline] = [await proxy('relay'), await proxy('baseline')];
    const times = await client.call(
      'firstChunk',
      { direct: target, relay: relay.url, baseline: baseline.url, request: RELAY_SHORT, sessions: job.sequential, warmup: job.warmup },
      300_000,
    );
    await Promise.all([stopping(relay.child), stopping(baseline.child)]);
    const figures = (route: Route): FirstChunkFigures => ({ median: median(times[route]), p99: quantile(times[route], 0.99) });
    const firstChunk = { sessions: job.sequential, figures: { direct: figures('direct'), relay: figures('relay'), baseline: figures('baseline') } };
    log(
      `(i) first chunk, median over ${job.sequential} sessions: direct ${firstChunk.figures.direct.median.toFixed(3)} ms, relay ${firstChunk.figures.relay.median.toFixed(3)} ms, baseline ${firstChunk.figures.baseline.median.toFixed(3)} ms`,
    );

    // 2. Concurrent sessions, a fresh proxy process per round.
    const users = Math.ceil(job.concurrent / DEFAULT_RELAY_LIMITS.userSessions);
    const deadlineMs = 60_000;
    const concurrent: ConcurrentRound[] = [];
    for (let round = 0; round < job.rounds; round++) {
      for (const kind of inTurn(PROXIES, round)) {
        const { child, url } = await proxy(kind);
        const session = { url, users, request: RELAY_SHORT, deadlineMs };
        // A user per warm-up session: a batch's slots are released only as its sockets finish closing.
        const warmup = { ...session, sessions: RELAY_BENCH.concurrentWarmup, batch: 20, users: RELAY_BENCH.concurrentWarmup };
        const warm = await client.call('concurrent', warmup, deadlineMs + 10_000);
        if (warm.firstError !== undefined) throw new Error(`(i) warm-up through the ${kind} proxy failed: ${warm.firstError}`);
        await child.call('idle', { deadlineMs: 10_000 }, 15_000);
        const before = await child.call('memory', undefined, 5_000);
        const run = await client.call('concurrent', { ...session, sessions: job.concurrent, batch: job.concurrent }, deadlineMs + 10_000);
        const after = await child.call('idle', { deadlineMs: 10_000 }, 15_000);
        const memory = await child.call('memory', undefined, 5_000);
        await stopping(child);
        concurrent.push({
          proxy: kind,
          sessions: job.concurrent,
          ok: run.ok,
          firstError: run.firstError,
          wallMs: run.wallMs,
          rssBeforeKiB: before.rssKiB,
          maxRssKiB: memory.maxRssKiB,
          openAfter: after.open,
          relayStats: after.stats,
        });
        log(
          `(i) ${job.concurrent} concurrent through the ${kind} proxy: ${run.ok} ok in ${(run.wallMs / 1000).toFixed(2)} s, its peak RSS ${(memory.maxRssKiB / 1024).toFixed(1)} MiB${run.firstError === undefined ? '' : `; first error: ${run.firstError}`}`,
        );
      }
    }

    // 3. A slow reader through each proxy, sampled in the proxy's process.
    const long = slowRequest(job.slowChars);
    const warmup = slowRequest(RELAY_BENCH.slowWarmupChars);
    const [expectedBytes, warmupBytes] = [await client.call('size', long, 60_000), await client.call('size', warmup, 60_000)];
    const slowReader: SlowReaderRun[] = [];
    for (const kind of PROXIES) {
      const { child, url } = await proxy(kind, ['--expose-gc']);
      const timeout = (expectedBytes / job.readerBytesPerSecond) * 3_000 + 40_000;
      await client.call('slowRead', { url, request: warmup, expectedBytes: warmupBytes, bytesPerSecond: 0 }, 70_000);
      await child.call('idle', { deadlineMs: 10_000 }, 15_000);
      await child.call('sampleStart', undefined, 5_000);
      const read = await client.call('slowRead', { url, request: long, expectedBytes, bytesPerSecond: job.readerBytesPerSecond }, timeout);
      const sample = await child.call('sampleStop', undefined, 5_000);
      await stopping(child);
      slowReader.push({ proxy: kind, ...read, ...sample });
      log(
        `(i) slow reader through the ${kind} proxy: ${(read.bytes / 1e6).toFixed(2)} MB in ${(read.elapsedMs / 1000).toFixed(2)} s, peak above idle ${(sample.peakBytes / MIB).toFixed(2)} MiB, at most ${(sample.maxBufferedBytes / MIB).toFixed(2)} MiB buffered`,
      );
    }
    return { job, firstChunk, users, concurrent, slowReader };
  } finally {
    await Promise.all([...children].map((child) => child.stop()));
    await stop(emulator.child);
  }
};

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  try {
    await role(process.argv[2], process.argv[3]);
  } catch (error) {
    process.stderr.write(`bench (i) ${process.argv[2] ?? ''}: ${messageOf(error)}\n`);
    process.exit(1);
  }
}
