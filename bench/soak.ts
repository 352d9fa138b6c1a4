/**
 * `npm run soak` (node --expose-gc --import tsx bench/soak.ts): 10,000 sessions against the emulator,
 * SOAK_CONCURRENCY at a time (default 100). A third run to the end, a third are unsubscribed at a
 * random moment (at once, after a few events, or after a few ms), a third fail by an injected fault
 * (ERROR, FATAL_ERROR, END/ERROR, close, reset, malformed, stall, oversized frame, out of order,
 * rejected handshake). At the end it prints: open connections on the emulator (must be 0), handles
 * and timers against the baseline (must be equal), heap growth after a full GC (must be < 5 MB),
 * and PASS or FAIL (exit code 0 or 1). The emulator runs in a child process, so that its own
 * records do not count in the heap measured here. Stops by itself after SOAK_DEADLINE_MS (180 s).
 *
 * Environment: SOAK_SESSIONS (10000), SOAK_CONCURRENCY (100), SOAK_SEED (random), SOAK_DEADLINE_MS (180000).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { config, type Subscription } from 'rxjs';
// RxJS reports stray notifications through this provider's setTimeout; made synchronous so that
// they are counted at the moment they happen.
import { timeoutProvider } from 'rxjs/internal/scheduler/timeoutProvider';
import {
  SisConnectionError,
  type SisError,
  SisHandshakeError,
  SisProtocolError,
  SisServiceError,
  SisTimeoutError,
  createSisClient,
  type SisClient,
  type SisEvent,
} from '../lib/index.js';
import type { Fault, SessionFault } from '../lib/emulator/index.js';
import { mulberry32 } from './stats.js';

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

// ---- the emulator, in a child process ------------------------------------------------------------

type ToChild = { readonly kind: 'idle' };
type FromChild =
  | { readonly kind: 'ready'; readonly url: string; readonly token: string; readonly projectId: string }
  | { readonly kind: 'idle'; readonly open: number; readonly connections: number; readonly faults: number };

/** Session faults by name, chosen by the text of the START command (`fail:<name> …`). */
const SESSION_FAULTS: Readonly<Record<string, SessionFault>> = {
  error: { kind: 'error', at: { afterFrames: 1 } },
  fatal: { kind: 'fatal', at: 'after-start' },
  'end-error': { kind: 'end-error', at: 'before-end' },
  drop: { kind: 'drop', at: { afterFrames: 1 } },
  reset: { kind: 'drop', at: 'after-start', how: 'reset' },
  malformed: { kind: 'malformed', at: 'before-start' },
  stall: { kind: 'stall', at: { afterFrames: 1 } },
  oversized: { kind: 'oversized', at: 'after-start', bytes: 2 * 1024 * 1024 },
  'out-of-order': { kind: 'out-of-order', what: 'audio-before-start' },
};

const runEmulator = async (): Promise<void> => {
  const { startEmulator } = await import('../lib/emulator/index.js');
  const emulator = await startEmulator({
    port: 0,
    faultOnStart: (command) => SESSION_FAULTS[/^fail:(\S+)/.exec(command.text)?.[1] ?? ''],
    // A handshake rejected by the gateway: the client asks for it through its Enterprise-Project-Id.
    fault: (context): Fault | undefined => (context.headers['enterprise-project-id'] === 'reject' ? { kind: 'reject-handshake', status: 503 } : undefined),
  });
  const send = (message: FromChild): void => void process.send?.(message);
  process.on('message', (message: ToChild) => {
    if (message.kind !== 'idle') return;
    void emulator
      .idle()
      .then(() => send({ kind: 'idle', open: emulator.openConnections(), connections: emulator.stats.connections, faults: emulator.stats.faultsApplied }));
  });
  process.once('disconnect', () => void emulator.close());
  send({ kind: 'ready', url: emulator.url, token: emulator.token, projectId: emulator.projectId });
};

const startChild = (): Promise<{ child: ChildProcess; ready: Extract<FromChild, { kind: 'ready' }> }> =>
  new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--emulator'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('error', reject);
    child.once('message', (message: FromChild) => (message.kind === 'ready' ? resolve({ child, ready: message }) : reject(new Error('unexpected message'))));
  });

const askIdle = (child: ChildProcess): Promise<Extract<FromChild, { kind: 'idle' }>> =>
  new Promise((resolve) => {
    child.once('message', (message: FromChild) => {
      if (message.kind === 'idle') resolve(message);
    });
    child.send({ kind: 'idle' } satisfies ToChild);
  });

// ---- measuring ------------------------------------------------------------------------------------

const gc = (): void => {
  const collect: unknown = Reflect.get(globalThis, 'gc');
  if (typeof collect !== 'function') throw new Error('run with node --expose-gc (npm run soak does)');
  for (let i = 0; i < 3; i++) (collect as () => void)();
};

const resources = (): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
};

const sameCounts = (a: Record<string, number>, b: Record<string, number>): boolean =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].every((type) => (a[type] ?? 0) === (b[type] ?? 0));

/** Waits for every TCP socket created from now on to close, by its 'close' event. */
const socketTracker = (): { readonly created: () => number; readonly allClosed: () => Promise<void> } => {
  let created = 0;
  let open = 0;
  const waiters: (() => void)[] = [];
  subscribe('net.client.socket', (message: unknown) => {
    const socket = (message as { socket: Socket }).socket;
    created++;
    open++;
    socket.once('close', () => {
      open--;
      if (open === 0) for (const resolve of waiters.splice(0)) resolve();
    });
  });
  return { created: () => created, allClosed: () => (open === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))) };
};

// ---- the sessions ---------------------------------------------------------------------------------

type Plan =
  | { readonly kind: 'complete' }
  | { readonly kind: 'leave'; readonly when: 'at-once' | { readonly afterEvents: number } | { readonly afterMs: number } }
  | { readonly kind: 'fail'; readonly fault: string };

const FAULT_NAMES = [...Object.keys(SESSION_FAULTS), 'reject'];

/** The class a failing session must end with. */
const EXPECTED: Readonly<Record<string, abstract new (...args: never[]) => SisError>> = {
  error: SisServiceError,
  fatal: SisServiceError,
  'end-error': SisServiceError,
  drop: SisConnectionError,
  reset: SisConnectionError,
  malformed: SisProtocolError,
  stall: SisTimeoutError,
  oversized: SisProtocolError,
  'out-of-order': SisProtocolError,
  reject: SisHandshakeError,
};

interface Tally {
  completed: number;
  left: number;
  /** Sessions planned to be left that completed or failed first. */
  endedBeforeLeaving: number;
  failedAsExpected: number;
  unexpected: string[];
  multipleTerminals: number;
  late: number;
  unhandled: number;
  byError: Record<string, number>;
}

const runSession = (clients: { plain: SisClient; rejected: SisClient }, plan: Plan, index: number, tally: Tally): Promise<void> =>
  new Promise((resolve) => {
    const text = plan.kind === 'fail' && plan.fault !== 'reject' ? `fail:${plan.fault} 第${index}句。` : `第${index}句，你好。`;
    const client = plan.kind === 'fail' && plan.fault === 'reject' ? clients.rejected : clients.plain;
    let terminals = 0;
    let events = 0;
    let subscription: Subscription | undefined;
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      if (timer !== undefined) clearTimeout(timer);
      resolve();
    };
    const unexpected = (what: string): void => {
      if (tally.unexpected.length < 20) tally.unexpected.push(`#${index} ${JSON.stringify(plan)}: ${what}`);
      else tally.unexpected.push('…');
    };
    const leave = (): void => {
      if (terminals > 0 || finished) return;
      tally.left++;
      subscription?.unsubscribe();
      finish();
    };
    const ended = (error: unknown): void => {
      terminals++;
      if (terminals > 1) return void tally.multipleTerminals++;
      if (error !== undefined) {
        const name = error instanceof Error ? error.name : typeof error;
        tally.byError[name] = (tally.byError[name] ?? 0) + 1;
      }
      if (plan.kind === 'leave') tally.endedBeforeLeaving++;
      else if (plan.kind === 'complete') {
        if (error === undefined) tally.completed++;
        else unexpected(`failed: ${String(error)}`);
      } else {
        const expected = EXPECTED[plan.fault];
        if (expected !== undefined && error instanceof expected) tally.failedAsExpected++;
        else unexpected(`ended with ${error === undefined ? 'complete' : String(error)}, expected ${expected?.name ?? '?'}`);
      }
      finish();
    };
    subscription = client.events$({ text }).subscribe({
      next: (_event: SisEvent) => {
        events++;
        if (plan.kind === 'leave' && typeof plan.when === 'object' && 'afterEvents' in plan.when && events >= plan.when.afterEvents) leave();
      },
      error: (error: unknown) => ended(error),
      complete: () => ended(undefined),
    });
    if (plan.kind !== 'leave') return;
    if (plan.when === 'at-once') leave();
    else if ('afterMs' in plan.when) timer = setTimeout(leave, plan.when.afterMs);
  });

const main = async (): Promise<void> => {
  const sessions = env('SOAK_SESSIONS', 10_000);
  const concurrency = env('SOAK_CONCURRENCY', 100);
  const deadlineMs = env('SOAK_DEADLINE_MS', 180_000);
  const seed = env('SOAK_SEED', Math.floor(Math.random() * 2 ** 31));
  const next = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;

  const deadline = setTimeout(() => {
    console.log(`FAIL: not finished after ${deadlineMs} ms`);
    process.exit(1);
  }, deadlineMs);
  deadline.unref();

  const { child, ready } = await startChild();
  const options = {
    endpoint: ready.url,
    projectId: ready.projectId,
    auth: { token: ready.token },
    timeouts: { connect: 5_000, firstAudio: 5_000, idle: 250, errorGrace: 200, total: 30_000 },
    maxPayload: 1024 * 1024,
  };
  const clients = { plain: createSisClient(options), rejected: createSisClient({ ...options, enterpriseProjectId: 'reject' }) };

  const tally: Tally = {
    completed: 0,
    left: 0,
    endedBeforeLeaving: 0,
    failedAsExpected: 0,
    unexpected: [],
    multipleTerminals: 0,
    late: 0,
    unhandled: 0,
    byError: {},
  };
  const saved = { stopped: config.onStoppedNotification, unhandled: config.onUnhandledError, delegate: timeoutProvider.delegate };
  config.onStoppedNotification = () => void tally.late++;
  config.onUnhandledError = () => void tally.unhandled++;
  timeoutProvider.delegate = {
    setTimeout: (handler, _timeout, ...args: unknown[]) => {
      (handler as (...a: unknown[]) => void)(...args);
      return 0;
    },
    clearTimeout: () => undefined,
  };

  const planFor = (i: number): Plan => {
    const third = i % 3;
    if (third === 0) return { kind: 'complete' };
    if (third === 2) return { kind: 'fail', fault: pick(FAULT_NAMES) };
    const r = next();
    return { kind: 'leave', when: r < 0.2 ? 'at-once' : r < 0.6 ? { afterEvents: 1 + Math.floor(next() * 4) } : { afterMs: Math.floor(next() * 30) } };
  };

  const runBatch = async (from: number, to: number): Promise<void> => {
    let nextIndex = from;
    const worker = async (): Promise<void> => {
      while (nextIndex < to) {
        const i = nextIndex++;
        await runSession(clients, planFor(i), i, tally);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, to - from) }, worker));
  };

  // Warm up (JIT, caches, the socket pool of the OS), then take the baseline.
  const sockets = socketTracker();
  const warmUp = Math.min(300, sessions);
  await runBatch(0, warmUp);
  await sockets.allClosed();
  await askIdle(child);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;
  const handlesBefore = resources();
  const started = performance.now();
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);

  await runBatch(warmUp, sessions);
  const wallMs = performance.now() - started;
  clearInterval(sampler);
  await sockets.allClosed();
  const emulatorState = await askIdle(child);
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const handlesAfter = resources();

  config.onStoppedNotification = saved.stopped;
  config.onUnhandledError = saved.unhandled;
  timeoutProvider.delegate = saved.delegate;

  const growthMb = (heapAfter - heapBefore) / 1e6;
  const planned = { complete: 0, leave: 0, fail: 0 };
  for (let i = 0; i < sessions; i++) planned[i % 3 === 0 ? 'complete' : i % 3 === 1 ? 'leave' : 'fail']++;
  const checks: [string, boolean][] = [
    ['every planned completion completed', tally.completed === planned.complete],
    ['every injected fault failed with its error class', tally.failedAsExpected === planned.fail],
    ['every session left or ended', tally.left + tally.endedBeforeLeaving === planned.leave],
    ['no second terminal notification', tally.multipleTerminals === 0],
    ['no notification after the end or after unsubscribing', tally.late === 0],
    ['no unhandled error', tally.unhandled === 0],
    ['0 open connections on the emulator', emulatorState.open === 0],
    ['active handles at their baseline', sameCounts(handlesBefore, handlesAfter)],
    ['heap growth after GC under 5 MB', growthMb < 5],
  ];
  const pass = checks.every(([, ok]) => ok);

  const line = (label: string, value: string): void => console.log(`${label.padEnd(48)} ${value}`);
  console.log(`soak: ${sessions} sessions, ${concurrency} at a time, seed ${seed} (SOAK_SEED=${seed} repeats it)`);
  line('sessions measured (after a warm-up of)', `${sessions - warmUp} (${warmUp})`);
  line('wall time', `${(wallMs / 1000).toFixed(1)} s (${Math.round(((sessions - warmUp) / wallMs) * 1000)} sessions/s)`);
  line('completed / planned', `${tally.completed} / ${planned.complete}`);
  line('unsubscribed / planned (ended before leaving)', `${tally.left} / ${planned.leave} (${tally.endedBeforeLeaving})`);
  line('failed as injected / planned', `${tally.failedAsExpected} / ${planned.fail}`);
  line(
    'errors by class',
    Object.entries(tally.byError)
      .map(([name, n]) => `${name} ${n}`)
      .join(', '),
  );
  line('second terminal notifications', String(tally.multipleTerminals));
  line('notifications after the end', String(tally.late));
  line('unhandled errors', String(tally.unhandled));
  line('client sockets opened', String(sockets.created()));
  line('emulator connections (faults applied)', `${emulatorState.connections} (${emulatorState.faults})`);
  line('open connections on the emulator', String(emulatorState.open));
  line('active handles: baseline → end', `${JSON.stringify(handlesBefore)} → ${JSON.stringify(handlesAfter)}`);
  line('heap growth after GC', `${growthMb.toFixed(2)} MB (${(heapBefore / 1e6).toFixed(1)} → ${(heapAfter / 1e6).toFixed(1)} MB)`);
  line('peak RSS', `${(peakRss / 1e6).toFixed(0)} MB (${(rssBefore / 1e6).toFixed(0)} MB at the baseline)`);
  for (const [label, ok] of checks) if (!ok) console.log(`  failed: ${label}`);
  for (const what of tally.unexpected) console.log(`  unexpected: ${what}`);
  console.log(pass ? 'PASS' : 'FAIL');

  child.disconnect();
  clearTimeout(deadline);
  process.exitCode = pass ? 0 : 1;
};

if (process.argv.includes('--emulator')) await runEmulator();
else await main();
