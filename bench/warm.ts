/**
 * (f) Warm connections (issue 10), the worker's side. An emulator with a 50 ms handshake and 20 ms of
 * think time runs in a worker thread of this process (warm-emulator.ts: an event loop of its own, as
 * a remote server has); the client is this thread. Every session asks for '你好' (8 kHz PCM, 6,400 B
 * in two frames, as (b)).
 *
 * 1. Time to first audio, sequential sessions, four ways each round, one after the other (see round()):
 *    - warm:     `client.events$` of a client with `warm: { size: 2 }`, its pool full (awaited with
 *                `prewarm()`) before each session;
 *    - raw-warm: a raw `ws` client on a socket opened beforehand (the ideal warm baseline: START sent
 *                at once, nothing else);
 *    - cold:     `client.events$` of a client without `warm`;
 *    - raw-cold: a raw `ws` client opening its socket (the cold baseline).
 *    From the subscription (raw cold: the socket's creation; raw-warm: the session's start) to the
 *    first audio. To place a slow first audio, each session also notes when `send(START)` was called
 *    (the library's clients: through a `ws` factory wrapped for that only), and the emulator thread
 *    when it received that START, set its think-time timer and when the timer fired (warm-emulator.ts),
 *    its clock aligned with this thread's (clockOffset()).
 * 2. Steady load: `lanes` lanes running sessions back to back for a fixed time, the same session,
 *    raw cold, library cold, and library with pools of two sizes: sessions completed per second in
 *    the measured window (after a warm-up), their time to first audio, and the pool's hits and
 *    misses in the window.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import { createSisClient, type SisClient, type WarmStats, type WebSocketFactory } from '../lib/index.js';
import { wsWebSocketFactory } from '../lib/transport/index.js';
import { libraryRequest, rawStartJson, textOf, within, type BenchRequest, type Target } from './clients.js';
import { median, quantile } from './stats.js';
import {
  watchGc,
  type GcPauses,
  type Quantiles,
  type ThinkTimer,
  type WarmEmulatorReady,
  type WarmEmulatorReply,
  type WarmEmulatorRequest,
  type WarmEmulatorSettings,
} from './warm-emulator.js';

export const WARM_SETTINGS = {
  handshakeDelayMs: 50,
  firstAudioDelayMs: 20,
  /** The pool of part 1 (and the small pool of part 2). */
  poolSize: 2,
  lanes: 4,
  /**
   * The large pool of part 2: with hits a lane's session lasts about think time + 1 ms (21 ms) and
   * each take starts a 50 ms connect, so a lane keeps about 2.5 sockets connecting and one warm: 4 per lane.
   */
  loadPoolSize: 16,
  /** Load: a warm-up, then the measured window. */
  loadWarmupMs: 500,
} as const;

/** '你好' at 8 kHz: two syllables, 6,400 B, two 3,200-B frames. */
export const WARM_REQUEST: BenchRequest = { text: '你好', sampleRate: 8000, voice: 'chinese_xiaoyan_common', speed: 0 };
const EXPECTED_BYTES = 6400;

export type WarmMethod = 'warm' | 'raw-warm' | 'cold' | 'raw-cold';
export const WARM_METHODS: readonly WarmMethod[] = ['warm', 'raw-warm', 'cold', 'raw-cold'];

export interface WarmJob {
  /** Sequential sessions of each method (part 1). */
  readonly sessions: number;
  /** Rounds run first, not measured. */
  readonly warmup: number;
  /** The measured window of each load run (part 2), ms. */
  readonly loadMs: number;
}

/** One session's moments, ms from its start. */
export interface Timing {
  /** The start, on this thread's clock (`performance.timeOrigin + performance.now()`). */
  readonly startedAt: number;
  readonly startSentMs: number;
  readonly startAnsweredMs: number;
  readonly firstAudioMs: number;
  /** When the emulator received START, set and fired this session's think-time timer, from the start on this clock (part 1; NaN: not found). */
  readonly startReceivedMs?: number;
  readonly timerSetMs?: number;
  readonly timerFiredMs?: number;
}

export type LoadMethod = 'raw-cold' | 'cold' | 'warm-small' | 'warm-large';
export const LOAD_METHODS: readonly LoadMethod[] = ['raw-cold', 'cold', 'warm-small', 'warm-large'];

export interface LoadResult {
  readonly method: LoadMethod;
  /** The pool's size (0: none). */
  readonly poolSize: number;
  /** Sessions completed in the window. */
  readonly sessions: number;
  readonly windowMs: number;
  readonly perSecond: number;
  readonly firstAudioMs: { readonly p50: number; readonly p99: number };
  /** The pool's counters over the window (undefined: no pool). */
  readonly pool: WarmStats | undefined;
}

export interface WarmReport {
  readonly sessions: number;
  /** Per method, one timing per session in order. */
  readonly timings: Record<WarmMethod, Timing[]>;
  /** The warm client's pool over part 1 (hits must equal the sessions, warm-up included). */
  readonly pool: WarmStats;
  readonly load: LoadResult[];
  readonly loadMs: number;
  /** The event loops' delay over part 1, ms: the client's (this thread) and the emulator's. */
  readonly loopDelayMs: { readonly client: Quantiles; readonly emulator: Quantiles };
  /** The garbage collections over part 1: the client's (this thread) and the emulator's. */
  readonly gc: { readonly client: GcPauses; readonly emulator: GcPauses };
  /** The emulator thread's clock minus this thread's, and its uncertainty (half the fastest round trip), ms. */
  readonly clock: { readonly offsetMs: number; readonly uncertaintyMs: number };
}

// ---- the emulator thread ------------------------------------------------------------------------

class EmulatorThread {
  private nextId = 0;
  private readonly pending = new Map<number, (reply: WarmEmulatorReply) => void>();

  private constructor(
    private readonly worker: Worker,
    readonly target: Target,
  ) {
    worker.on('message', (reply: WarmEmulatorReply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
  }

  static start(settings: WarmEmulatorSettings): Promise<EmulatorThread> {
    // Compiled (bench/.out), or through tsx: Node 20 does not run `--import tsx` in worker threads,
    // so the thread registers tsx itself before importing the TypeScript entry.
    const compiled = !import.meta.url.endsWith('.ts');
    const entry = new URL(`./warm-emulator.${compiled ? 'js' : 'ts'}`, import.meta.url);
    const worker = compiled
      ? new Worker(entry, { workerData: settings })
      : new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`,
          { eval: true, workerData: settings },
        );
    return new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (ready: WarmEmulatorReady) => {
        worker.off('error', reject);
        worker.on('error', (error) => process.stderr.write(`bench: (f) emulator thread: ${error.message}\n`));
        resolve(new EmulatorThread(worker, { url: ready.url, projectId: ready.projectId, token: ready.token }));
      });
    });
  }

  request(kind: WarmEmulatorRequest['kind']): Promise<WarmEmulatorReply> {
    const id = this.nextId++;
    return within(
      new Promise<WarmEmulatorReply>((resolve) => {
        this.pending.set(id, resolve);
        this.worker.postMessage({ id, kind } satisfies WarmEmulatorRequest);
      }),
      10_000,
      `(f) the emulator thread did not answer '${kind}'`,
    );
  }

  /** Its clock minus ours (`performance.timeOrigin + performance.now()` in each thread), from the fastest of 50 round trips. */
  async clockOffset(): Promise<{ offsetMs: number; uncertaintyMs: number }> {
    let best = { offsetMs: Number.NaN, uncertaintyMs: Number.POSITIVE_INFINITY };
    for (let i = 0; i < 50; i++) {
      const sent = clock();
      const { now } = await this.request('clock');
      const received = clock();
      if (now !== undefined && (received - sent) / 2 < best.uncertaintyMs)
        best = { offsetMs: now - (sent + received) / 2, uncertaintyMs: (received - sent) / 2 };
    }
    return best;
  }

  async close(): Promise<void> {
    await this.request('close').catch(() => undefined);
    await this.worker.terminate();
  }
}

// ---- one session, four ways ---------------------------------------------------------------------

const ms = (since: number): number => performance.now() - since;
const clock = (): number => performance.timeOrigin + performance.now();

/**
 * The library's clients use the default `ws` factory, wrapped only to note when `send` is called (with
 * START: the only command of a real-time session). The session's 'open' event follows in the same
 * turn, so the last note is that session's.
 */
let startWrittenAt = Number.NaN;
const notingFactory: WebSocketFactory = (request, listener) => {
  const socket = wsWebSocketFactory(request, listener);
  const send = socket.send;
  socket.send = (text) => {
    startWrittenAt = performance.now();
    send(text);
  };
  return socket;
};

/** A session of the library: `events$`, checked to END with all its bytes. */
const librarySession = (client: SisClient): Promise<Timing> =>
  new Promise((resolve, reject) => {
    let startSentMs = Number.NaN;
    let startAnsweredMs = Number.NaN;
    let firstAudioMs = Number.NaN;
    let bytes = 0;
    const startedAt = performance.now();
    client.events$(libraryRequest(WARM_REQUEST)).subscribe({
      next: (event) => {
        if (event.type === 'audio') {
          if (bytes === 0) firstAudioMs = ms(startedAt);
          bytes += event.chunk.data.byteLength;
        } else if (event.type === 'open') startSentMs = startWrittenAt - startedAt;
        else if (event.type === 'start') startAnsweredMs = ms(startedAt);
      },
      error: (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
      complete: () =>
        bytes === EXPECTED_BYTES
          ? resolve({ startedAt: performance.timeOrigin + startedAt, startSentMs, startAnsweredMs, firstAudioMs })
          : reject(new Error(`(f) library: ${bytes} bytes, expected ${EXPECTED_BYTES}`)),
    });
  });

const rawSocket = (target: Target): WebSocket =>
  new WebSocket(`${target.url}/v1/${target.projectId}/rtts`, { headers: { 'X-Auth-Token': target.token }, perMessageDeflate: false });

const byteLength = (data: WebSocket.RawData): number => (Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength);

/** A raw socket, resolved once open (for raw-warm); a failure while it waits is reported by the session that uses it. */
const preOpen = (target: Target): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = rawSocket(target);
    const failed = (error: Error): void => reject(new Error(`(f) raw pre-open: ${error.message}`));
    ws.once('error', failed);
    ws.once('open', () => {
      ws.off('error', failed);
      ws.on('error', () => undefined);
      resolve(ws);
    });
  });

/** A raw `ws` session: on `opened` (START at once, timed from here) or on a socket of its own (timed from its creation). */
const rawSession = (target: Target, opened?: WebSocket): Promise<Timing> =>
  new Promise((resolve, reject) => {
    let startSentMs = Number.NaN;
    let startAnsweredMs = Number.NaN;
    let firstAudioMs = Number.NaN;
    let bytes = 0;
    let done = false;
    const startedAt = performance.now();
    const ws = opened ?? rawSocket(target);
    const fail = (message: string): void => {
      if (done) return;
      done = true;
      ws.terminate();
      reject(new Error(`(f) raw: ${message}`));
    };
    const sendStart = (): void => {
      const start = rawStartJson(WARM_REQUEST);
      startSentMs = ms(startedAt);
      ws.send(start);
    };
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (done) return;
      if (isBinary) {
        if (bytes === 0) firstAudioMs = ms(startedAt);
        bytes += byteLength(data);
        return;
      }
      const frame = JSON.parse(textOf(data)) as { resp_type?: unknown; reason?: unknown; error_code?: unknown };
      if (frame.resp_type === 'START') startAnsweredMs = ms(startedAt);
      else if (frame.resp_type === 'END' && frame.reason === 'NORMAL') {
        done = true;
        ws.close(1000);
        if (bytes === EXPECTED_BYTES) resolve({ startedAt: performance.timeOrigin + startedAt, startSentMs, startAnsweredMs, firstAudioMs });
        else reject(new Error(`(f) raw: ${bytes} bytes, expected ${EXPECTED_BYTES}`));
      } else if (frame.resp_type === 'END' || frame.resp_type === 'ERROR' || frame.resp_type === 'FATAL_ERROR') {
        fail(`${String(frame.resp_type)} ${String(frame.error_code ?? frame.reason)}`);
      }
    });
    ws.on('unexpected-response', (_request, response) => fail(`handshake rejected with HTTP ${response.statusCode ?? 0}`));
    ws.on('error', (error) => fail(error.message));
    ws.on('close', (code) => fail(`closed with ${code} before END`));
    if (opened === undefined) ws.on('open', sendStart);
    else sendStart();
  });

// ---- part 1: sequential time to first audio -------------------------------------------------------

const log = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};

const NO_QUANTILES: Quantiles = { p50: Number.NaN, p99: Number.NaN, max: Number.NaN };

const delayOf = (histogram: ReturnType<typeof monitorEventLoopDelay>): Quantiles => ({
  p50: histogram.percentile(50) / 1e6,
  p99: histogram.percentile(99) / 1e6,
  max: histogram.max / 1e6,
});

/** The pool full again (the refill after the last take is done): `prewarm()` resolves at once when it is. */
const poolFull = async (client: SisClient): Promise<void> => {
  const ready = await within(client.prewarm(), 10_000, '(f) the warm pool did not refill');
  const stats = client.stats();
  if (ready !== WARM_SETTINGS.poolSize || stats.warm !== WARM_SETTINGS.poolSize || stats.connecting !== 0) {
    throw new Error(`(f) the warm pool did not refill: ${JSON.stringify(stats)}`);
  }
};

/**
 * One round: warm, cold, raw-warm, raw-cold, each alone while measured. The background handshakes fall
 * inside the cold session's 50 ms handshake wait, away from every measured START and first audio: the
 * pool's refill started by the warm take (open about 50 ms after it, some 27 ms into the cold session),
 * and the raw-warm socket, opened 10 ms into the cold session (open at about 60 ms, between that
 * session's START at 50 ms and its first audio at 70 ms; used some 12 ms later).
 */
const round = async (target: Target, warm: SisClient, cold: SisClient, into: Record<WarmMethod, Timing[]> | undefined): Promise<void> => {
  await poolFull(warm);
  const w = await within(librarySession(warm), 10_000, '(f) warm session');
  let opening: Promise<WebSocket> | undefined;
  const timer = setTimeout(() => {
    opening = preOpen(target);
  }, 10);
  const c = await within(librarySession(cold), 10_000, '(f) cold session');
  clearTimeout(timer);
  const opened = await within(opening ?? preOpen(target), 10_000, '(f) raw pre-open');
  const rw = await within(rawSession(target, opened), 10_000, '(f) raw-warm session');
  const rc = await within(rawSession(target), 10_000, '(f) raw-cold session');
  into?.warm.push(w);
  into?.cold.push(c);
  into?.['raw-warm'].push(rw);
  into?.['raw-cold'].push(rc);
};

/**
 * Each session's think-time timer: the one the emulator set between the session's START and its first
 * audio (part 1 runs one session at a time), moved to this thread's clock.
 */
/** The clocks of two threads are aligned to within a few µs (see clockOffset): a margin for matching. */
const CLOCK_SLACK_MS = 1;

const withTimers = (timings: Record<WarmMethod, Timing[]>, timers: readonly ThinkTimer[], offsetMs: number): Record<WarmMethod, Timing[]> => {
  const local = timers.map((t) => ({ receivedAt: t.receivedAt - offsetMs, setAt: t.setAt - offsetMs, firedAt: t.firedAt - offsetMs }));
  const match = (t: Timing): Timing => {
    const timer = local.find((l) => l.setAt >= t.startedAt + t.startSentMs - CLOCK_SLACK_MS && l.setAt <= t.startedAt + t.firstAudioMs);
    return {
      ...t,
      startReceivedMs: (timer?.receivedAt ?? Number.NaN) - t.startedAt,
      timerSetMs: (timer?.setAt ?? Number.NaN) - t.startedAt,
      timerFiredMs: (timer?.firedAt ?? Number.NaN) - t.startedAt,
    };
  };
  return {
    warm: timings.warm.map(match),
    'raw-warm': timings['raw-warm'].map(match),
    cold: timings.cold.map(match),
    'raw-cold': timings['raw-cold'].map(match),
  };
};

const sequential = async (
  emulator: EmulatorThread,
  job: WarmJob,
): Promise<{
  timings: Record<WarmMethod, Timing[]>;
  pool: WarmStats;
  client: Quantiles;
  emulator: Quantiles;
  gc: { client: GcPauses; emulator: GcPauses };
  clock: { offsetMs: number; uncertaintyMs: number };
}> => {
  const { target } = emulator;
  const auth = { endpoint: target.url, projectId: target.projectId, auth: { token: target.token }, webSocketFactory: notingFactory };
  const warm = createSisClient({ ...auth, warm: { size: WARM_SETTINGS.poolSize } });
  const cold = createSisClient(auth);
  const timings: Record<WarmMethod, Timing[]> = { warm: [], 'raw-warm': [], cold: [], 'raw-cold': [] };
  try {
    for (let r = 0; r < job.warmup; r++) await round(target, warm, cold, undefined);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    await emulator.request('timers');
    delay.enable();
    const gc = watchGc();
    for (let r = 0; r < job.sessions; r++) {
      await round(target, warm, cold, timings);
      if ((r + 1) % 50 === 0 || r + 1 === job.sessions) {
        const last = (m: WarmMethod): number[] => timings[m].slice(-50).map((t) => t.firstAudioMs);
        log(
          `(f) ${r + 1}/${job.sessions} rounds; first audio median of the last 50: ` +
            WARM_METHODS.map((m) => `${m} ${median(last(m)).toFixed(2)} ms`).join(', '),
        );
      }
    }
    delay.disable();
    const clientGc = gc.take();
    gc.stop();
    const { delayMs, thinkTimers, gc: emulatorGc } = await emulator.request('timers');
    const pool = warm.stats();
    const offset = await emulator.clockOffset();
    return {
      timings: withTimers(timings, thinkTimers ?? [], offset.offsetMs),
      pool,
      client: delayOf(delay),
      emulator: delayMs ?? NO_QUANTILES,
      gc: { client: clientGc, emulator: emulatorGc ?? { count: 0, totalMs: 0, maxMs: 0 } },
      clock: offset,
    };
  } finally {
    await warm.close();
    await cold.close();
  }
};

// ---- part 2: steady load ------------------------------------------------------------------------------

const subtract = (a: WarmStats, b: WarmStats): WarmStats => ({
  warm: a.warm,
  connecting: a.connecting,
  hits: a.hits - b.hits,
  misses: a.misses - b.misses,
  expired: a.expired - b.expired,
  lost: a.lost - b.lost,
  failed: a.failed - b.failed,
  backoffMs: a.backoffMs,
});

/** `lanes` lanes of back-to-back sessions for the warm-up and the window; sessions completed in the window count. */
const load = async (emulator: EmulatorThread, method: LoadMethod, windowMs: number): Promise<LoadResult> => {
  const { target } = emulator;
  const poolSize = method === 'warm-small' ? WARM_SETTINGS.poolSize : method === 'warm-large' ? WARM_SETTINGS.loadPoolSize : 0;
  const client = createSisClient({
    endpoint: target.url,
    projectId: target.projectId,
    auth: { token: target.token },
    webSocketFactory: notingFactory,
    ...(poolSize === 0 ? {} : { warm: { size: poolSize } }),
  });
  try {
    if (poolSize > 0) await within(client.prewarm(), 10_000, '(f) prewarm');
    const session = (): Promise<Timing> => (method === 'raw-cold' ? rawSession(target) : librarySession(client));
    const origin = performance.now();
    const from = origin + WARM_SETTINGS.loadWarmupMs;
    const until = from + windowMs;
    let before: WarmStats | undefined;
    let after: WarmStats | undefined;
    const firstAudio: number[] = [];
    const windowTimer = setTimeout(() => {
      before = client.stats();
    }, WARM_SETTINGS.loadWarmupMs);
    const endTimer = setTimeout(() => {
      after = client.stats();
    }, WARM_SETTINGS.loadWarmupMs + windowMs);
    const lane = async (): Promise<void> => {
      while (performance.now() < until) {
        const timing = await within(session(), 10_000, `(f) load ${method}`);
        const ended = performance.now();
        if (ended >= from && ended < until) firstAudio.push(timing.firstAudioMs);
      }
    };
    await Promise.all(Array.from({ length: WARM_SETTINGS.lanes }, lane));
    clearTimeout(windowTimer);
    clearTimeout(endTimer);
    const sessions = firstAudio.length;
    return {
      method,
      poolSize,
      sessions,
      windowMs,
      perSecond: sessions / (windowMs / 1000),
      firstAudioMs: { p50: quantile(firstAudio, 0.5), p99: quantile(firstAudio, 0.99) },
      pool: poolSize === 0 || before === undefined || after === undefined ? undefined : subtract(after, before),
    };
  } finally {
    await client.close();
    await emulator.request('idle');
  }
};

export const warmRun = async (job: WarmJob): Promise<WarmReport> => {
  const { handshakeDelayMs, firstAudioDelayMs } = WARM_SETTINGS;
  const emulator = await EmulatorThread.start({ handshakeDelayMs, firstAudioDelayMs });
  try {
    log(`(f) emulator thread at ${emulator.target.url}: ${handshakeDelayMs} ms handshake, ${firstAudioDelayMs} ms think time`);
    const part1 = await sequential(emulator, job);
    await emulator.request('idle');
    const results: LoadResult[] = [];
    for (const method of LOAD_METHODS) {
      const result = await load(emulator, method, job.loadMs);
      results.push(result);
      const pool = result.pool === undefined ? '' : `, pool hits ${result.pool.hits}, misses ${result.pool.misses}`;
      log(
        `(f) load ${method}: ${result.sessions} sessions in ${(job.loadMs / 1000).toFixed(1)} s = ${result.perSecond.toFixed(1)}/s, ` +
          `first audio p50 ${result.firstAudioMs.p50.toFixed(2)} ms${pool}`,
      );
    }
    return {
      sessions: job.sessions,
      timings: part1.timings,
      pool: part1.pool,
      load: results,
      loadMs: job.loadMs,
      loopDelayMs: { client: part1.client, emulator: part1.emulator },
      gc: part1.gc,
      clock: part1.clock,
    };
  } finally {
    await emulator.close();
  }
};
