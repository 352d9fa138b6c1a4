/**
 * (h) What one session costs, in figures that do not depend on the machine's noise: bytes of heap a
 * live session holds, and bytes (and objects) it allocates from subscription to teardown. No network:
 * every side talks to the same scripted fake server in this process, which answers
 *
 *   socket ──setImmediate──▶ open ─▶ (START sent) ──setImmediate──▶ START response
 *          ──setImmediate (or, when holding, the release)──▶ 3,200 B audio, 3,200 B audio, END/NORMAL
 *
 * with its frames as `ws` hands them over (a Buffer and `isBinary`); the library's side reads them
 * through `bytesOf`/`textOf` as the `ws` factory does, so what differs is the library alone.
 * Sides:
 *  - `client`: `createSisClient({ …, webSocketFactory })` once, then `client.synthesize$(request)` per session;
 *  - `one-shot`: `synthesize$(request, options)` per session, as (c) runs it (the options checked each time);
 *  - `raw`: the least a hand-written client does (build the START JSON, send it, parse text frames,
 *    hand the binary ones over, close at END), on the same fake socket.
 * Each (side, run) is a child process (`node --expose-gc`), which, after warm-up sessions:
 *  (1) holds `sessions` sessions open after their START response, `gc()` twice, and takes
 *      (heapUsed + arrayBuffers − the idle baseline) ÷ sessions: retained bytes per live session;
 *      then lets them finish, `gc()` twice, and reports what is left above the baseline (residue);
 *  then runs `sessions` complete sessions for their CPU time (`process.cpuUsage()`, indicative only);
 *  (2) runs `sessions` complete sessions, `batch` at a time, under the inspector's sampling heap
 *      profiler (one sample per 64 bytes on average, objects collected by either GC included):
 *      bytes (and, estimated from the samples, objects) allocated per session, by area of the code.
 * Child: `node --expose-gc bench/.out/bench/per-session.js child '{"side":"client","sessions":20000,"batch":100,"warmup":2000}'`;
 * with `census` instead of `child` (and fewer sessions, e.g. 2000), what a live session is made of, from heap snapshots.
 */
import { spawn } from 'node:child_process';
import { Session as InspectorSession } from 'node:inspector/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getHeapSnapshot } from 'node:v8';
import type { Subscribable } from 'rxjs';
import { createSisClient, synthesize$, type AudioChunk, type SisClientOptions } from '../lib/index.js';
import { bytesOf, textOf } from '../lib/transport/ws-data.js';
import type { ConnectRequest, SocketListener, WebSocketFactory, WebSocketLike } from '../lib/transport/websocket-like.js';
import { libraryRequest, rawStartJson, type BenchRequest, type Target } from './clients.js';
import { ROOT, type Runtime } from './processes.js';
import { machine } from './report.js';
import { count, fmt, median } from './stats.js';

export type PerSessionSide = 'client' | 'one-shot' | 'raw';
export const PER_SESSION_SIDES: readonly PerSessionSide[] = ['client', 'one-shot', 'raw'];

/** (b) and (c)'s request: two syllables at 8 kHz. */
const REQUEST: BenchRequest = { text: '你好', sampleRate: 8000, voice: 'chinese_xiaoyan_common', speed: 0 };
/** Never dialled: the fake factory answers instead. */
const TARGET: Target = { url: 'ws://127.0.0.1:9', projectId: 'per-session-project', token: 'per-session-token' };
const TRACE = '567e8537-a89c-13c3-a882-826321939651';
const AUDIO_FRAME_BYTES = 3_200;
const SAMPLING_INTERVAL = 64;

// ---- the fake server ---------------------------------------------------------------------------------

/** What a raw client is told, as `ws` tells it: open, then each frame as a Buffer and whether it is binary. */
interface RawListener {
  onOpen(): void;
  onMessage(data: Buffer, isBinary: boolean): void;
}

/** The frames, allocated once: a session's own allocations are what is measured. */
const START_RESPONSE = Buffer.from(JSON.stringify({ resp_type: 'START', trace_id: TRACE }));
const AUDIO = Buffer.alloc(AUDIO_FRAME_BYTES, 1);
const END_NORMAL = Buffer.from(JSON.stringify({ resp_type: 'END', trace_id: TRACE, reason: 'NORMAL' }));

/**
 * One connection of the fake server. A class with module-level callbacks, so that the fake's own
 * per-socket cost is the same small object on every side.
 */
class FakeConnection implements WebSocketLike {
  private ended = false;

  constructor(
    private readonly server: FakeServer,
    private readonly library: SocketListener | undefined,
    private readonly raw: RawListener | undefined,
  ) {
    server.opened += 1;
    setImmediate(openConnection, this);
  }

  /** Hands a frame over as `ws` would, and as the library's `ws` factory turns it into text or bytes. */
  deliver(data: Buffer, isBinary: boolean): void {
    if (this.ended) return;
    if (this.library !== undefined) this.library.onMessage(isBinary ? bytesOf(data) : textOf(data));
    else this.raw?.onMessage(data, isBinary);
  }

  opened(): void {
    if (this.ended) return;
    if (this.library !== undefined) this.library.onOpen();
    else this.raw?.onOpen();
  }

  send(text: string): void {
    if (!text.startsWith('{"command":"START"')) throw new Error(`the fake server expected START, got ${text.slice(0, 40)}`);
    setImmediate(respondStart, this);
  }

  close(): void {
    this.end();
  }

  terminate(): void {
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.server.closed += 1;
  }

  startResponded(): void {
    if (this.ended) return;
    this.server.responded(this);
  }
}

function openConnection(connection: FakeConnection): void {
  connection.opened();
}
function respondStart(connection: FakeConnection): void {
  connection.deliver(START_RESPONSE, false);
  connection.startResponded();
}
function finish(connection: FakeConnection): void {
  connection.deliver(AUDIO, true);
  connection.deliver(AUDIO, true);
  connection.deliver(END_NORMAL, false);
}

/** The fake server: its connections, and, while holding, the sessions waiting after their START response. */
class FakeServer {
  opened = 0;
  closed = 0;
  private holding = false;
  private held: FakeConnection[] = [];
  private heldWanted = 0;
  private onHeld: (() => void) | undefined;

  /** The library's `webSocketFactory`. */
  readonly factory: WebSocketFactory = (_request: ConnectRequest, listener: SocketListener) => new FakeConnection(this, listener, undefined);

  connectRaw(listener: RawListener): FakeConnection {
    return new FakeConnection(this, undefined, listener);
  }

  responded(connection: FakeConnection): void {
    if (!this.holding) {
      setImmediate(finish, connection);
      return;
    }
    this.held.push(connection);
    if (this.held.length === this.heldWanted) this.onHeld?.();
  }

  /** From now on sessions wait after their START response; resolves once `sessions` of them do. */
  hold(sessions: number): Promise<void> {
    this.holding = true;
    this.heldWanted = sessions;
    return new Promise((resolve) => {
      this.onHeld = resolve;
    });
  }

  /** Lets every held session finish (audio, audio, END), and stops holding. */
  release(): void {
    const held = this.held;
    this.holding = false;
    this.held = [];
    this.onHeld = undefined;
    for (const connection of held) finish(connection);
  }
}

// ---- the sides ------------------------------------------------------------------------------------

/** Counts what every session of a run delivered; one object for all of them, so it costs no session anything. */
class Tally {
  chunks = 0;
  bytes = 0;
  settled = 0;
  failed = 0;
  firstError: string | undefined;
  private wanted = Number.POSITIVE_INFINITY;
  private onSettled: (() => void) | undefined;

  next(chunk: AudioChunk | Buffer): void {
    this.chunks += 1;
    this.bytes += 'data' in chunk ? chunk.data.byteLength : chunk.byteLength;
  }

  error(error: unknown): void {
    this.failed += 1;
    this.firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.settle();
  }

  complete(): void {
    this.settle();
  }

  /** Resolves once `settled` reaches `total`. */
  until(total: number): Promise<void> {
    if (this.settled >= total) return Promise.resolve();
    this.wanted = total;
    return new Promise((resolve) => {
      this.onSettled = resolve;
    });
  }

  private settle(): void {
    this.settled += 1;
    if (this.settled < this.wanted) return;
    this.wanted = Number.POSITIVE_INFINITY;
    const resolve = this.onSettled;
    this.onSettled = undefined;
    resolve?.();
  }
}

/** The least a hand-written client does per session (see clients.ts's `rawRunner`, without `ws`'s events). */
class RawSession implements RawListener {
  private done = false;
  private readonly socket: FakeConnection;

  constructor(
    server: FakeServer,
    private readonly request: BenchRequest,
    private readonly tally: Tally,
  ) {
    this.socket = server.connectRaw(this);
  }

  onOpen(): void {
    this.socket.send(rawStartJson(this.request));
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    if (this.done) return;
    if (isBinary) return this.tally.next(data);
    const frame = JSON.parse(data.toString('utf8')) as { resp_type?: unknown; reason?: unknown };
    if (frame.resp_type === 'END' && frame.reason === 'NORMAL') {
      this.done = true;
      this.socket.close();
      this.tally.complete();
    } else if (frame.resp_type === 'END' || frame.resp_type === 'ERROR' || frame.resp_type === 'FATAL_ERROR') {
      this.done = true;
      this.socket.terminate();
      this.tally.error(new Error(`raw: ${String(frame.resp_type)}`));
    }
  }
}

/** Starts one session of a side; its outcome goes to the tally. */
type Starter = () => void;

const starterFor = (side: PerSessionSide, server: FakeServer, tally: Tally): Starter => {
  const options: SisClientOptions = {
    endpoint: TARGET.url,
    projectId: TARGET.projectId,
    auth: { token: TARGET.token },
    limits: { maxTextLength: [...REQUEST.text].length },
    // As in (c); and held sessions must not time out while 20,000 of them are being opened.
    timeouts: { connect: 120_000, firstAudio: 120_000 },
    webSocketFactory: server.factory,
  };
  const request = libraryRequest(REQUEST);
  const subscribe = (audio: Subscribable<AudioChunk>): void => void audio.subscribe(tally);
  switch (side) {
    case 'client': {
      const client = createSisClient(options);
      return () => subscribe(client.synthesize$(request));
    }
    case 'one-shot':
      return () => subscribe(synthesize$(request, options));
    case 'raw':
      return () => void new RawSession(server, REQUEST, tally);
  }
};

// ---- the child: measure one side ----------------------------------------------------------------------

/** What the parent asks a child to measure. */
export interface PerSessionJob {
  readonly side: PerSessionSide;
  /** Sessions held at once in (1), and run in (2). */
  readonly sessions: number;
  /** Sessions at a time in (2) and in the warm-up. */
  readonly batch: number;
  /** Complete sessions run first, so that the code is compiled and every lazy structure built. */
  readonly warmup: number;
}

/** Sampled allocations of one area of the code (or one function), per session. */
export interface AllocationShare {
  readonly name: string;
  readonly bytes: number;
  readonly objects: number;
}

export interface PerSessionReport {
  readonly side: PerSessionSide;
  readonly sessions: number;
  /** heapUsed + arrayBuffers after gc() twice, bytes: idle, with every session open, after they ended. */
  readonly baselineBytes: number;
  readonly heldBytes: number;
  readonly afterBytes: number;
  /** (heldBytes − baselineBytes) ÷ sessions. */
  readonly retainedPerSession: number;
  /** afterBytes − baselineBytes. */
  readonly residueBytes: number;
  /** Sampled bytes allocated in (2) ÷ sessions. */
  readonly allocatedPerSession: number;
  /** Objects allocated in (2) ÷ sessions, estimated from the samples (each weighted by its chance of being sampled). */
  readonly objectsPerSession: number;
  /** CPU time (user + system) of this process per complete session, µs, without the profiler: machine-dependent, indicative. */
  readonly cpuMicrosPerSession: number;
  /** Allocations by the area of the function that made them, per session, largest first. */
  readonly byArea: readonly AllocationShare[];
  /** Allocations by the nearest function of lib/ on the stack (rxjs, io-ts and builtins called from there count for it), per session. */
  readonly byLibFunction: readonly AllocationShare[];
  /** Sessions that failed (must be 0), and the first error. */
  readonly failed: number;
  readonly firstError: string | undefined;
}

const gcTwice = async (): Promise<number> => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run the per-session child with node --expose-gc');
  for (let i = 0; i < 2; i++) {
    collect();
    // Let finalizers and the microtasks they queue run before the next collection.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

/** Runs `total` complete sessions, `batch` at a time. */
const runBatches = async (start: Starter, tally: Tally, total: number, batch: number): Promise<void> => {
  for (let done = 0; done < total; ) {
    const n = Math.min(batch, total - done);
    const target = tally.settled + n;
    for (let i = 0; i < n; i++) start();
    await tally.until(target);
    done += n;
  }
};

interface ProfileNode {
  readonly id: number;
  readonly selfSize: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children: readonly ProfileNode[];
}
interface SamplingProfile {
  readonly head: ProfileNode;
  readonly samples: readonly { readonly size: number; readonly nodeId: number }[];
}

/** The area of the code a function belongs to, from its script's URL. */
export const areaOf = (url: string, functionName: string): string => {
  if (url === '') return functionName.startsWith('(') ? functionName : '(V8 builtins and native code)';
  const path = url.replaceAll('\\', '/');
  const lib = /\/lib\/([a-z-]+)\/[^/]+$/.exec(path);
  if (lib !== null && !path.includes('/node_modules/')) return `lib/${lib[1] ?? ''}`;
  const module = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (module !== null) return module[1] ?? 'node_modules';
  if (path.startsWith('node:')) return 'node internals';
  if (/\/bench\//.test(path)) return 'bench (fake server, tally, raw client)';
  return path;
};

const libFunctionOf = (frame: ProfileNode['callFrame']): string | undefined => {
  const match = /\/(lib\/[a-z-]+\/[^/]+)$/.exec(frame.url.replaceAll('\\', '/'));
  if (match === null || frame.url.includes('/node_modules/')) return undefined;
  // Compiled (bench/.out) lines are those of the emitted .js; under tsx, of esbuild's output.
  return `${frame.functionName === '' ? '(anonymous)' : frame.functionName} (${match[1] ?? ''}:${frame.lineNumber + 1})`;
};

/** Sums a sampling profile: total bytes and objects, by area and by nearest lib/ function. */
const summarise = (profile: SamplingProfile, sessions: number) => {
  const parentOf = new Map<number, ProfileNode | undefined>();
  const byId = new Map<number, ProfileNode>();
  const visit = (node: ProfileNode, parent: ProfileNode | undefined): void => {
    byId.set(node.id, node);
    parentOf.set(node.id, parent);
    for (const child of node.children) visit(child, node);
  };
  visit(profile.head, undefined);
  // Each sample is one object; an object of `size` bytes is sampled with probability 1 − e^(−size/interval).
  const objectsAt = new Map<number, number>();
  for (const sample of profile.samples) {
    objectsAt.set(sample.nodeId, (objectsAt.get(sample.nodeId) ?? 0) + 1 / (1 - Math.exp(-sample.size / SAMPLING_INTERVAL)));
  }
  const area = new Map<string, { bytes: number; objects: number }>();
  const libFn = new Map<string, { bytes: number; objects: number }>();
  const add = (map: Map<string, { bytes: number; objects: number }>, key: string, bytes: number, objects: number): void => {
    const entry = map.get(key) ?? { bytes: 0, objects: 0 };
    entry.bytes += bytes;
    entry.objects += objects;
    map.set(key, entry);
  };
  let bytes = 0;
  let objects = 0;
  for (const node of byId.values()) {
    if (node.selfSize === 0) continue;
    const nodeObjects = objectsAt.get(node.id) ?? 0;
    bytes += node.selfSize;
    objects += nodeObjects;
    add(area, areaOf(node.callFrame.url, node.callFrame.functionName), node.selfSize, nodeObjects);
    let owner: string | undefined;
    for (let at: ProfileNode | undefined = node; at !== undefined && owner === undefined; at = parentOf.get(at.id)) owner = libFunctionOf(at.callFrame);
    add(libFn, owner ?? '(no lib/ function on the stack)', node.selfSize, nodeObjects);
  }
  const shares = (map: Map<string, { bytes: number; objects: number }>): AllocationShare[] =>
    [...map.entries()].map(([name, entry]) => ({ name, bytes: entry.bytes / sessions, objects: entry.objects / sessions })).sort((a, b) => b.bytes - a.bytes);
  return { bytes, objects, byArea: shares(area), byLibFunction: shares(libFn).slice(0, 25) };
};

/** One side in this process: (1) retained per live session, then (2) allocated per session. */
export const measureSide = async ({ side, sessions, batch, warmup }: PerSessionJob): Promise<PerSessionReport> => {
  const server = new FakeServer();
  const tally = new Tally();
  const start = starterFor(side, server, tally);
  await runBatches(start, tally, warmup, batch);
  // The holding path warmed up too, on fewer sessions.
  const warmHeld = Math.min(sessions, 1_000);
  const warmHeldDone = tally.settled + warmHeld;
  const warmHolding = server.hold(warmHeld);
  for (let i = 0; i < warmHeld; i++) start();
  await warmHolding;
  server.release();
  await tally.until(warmHeldDone);

  // (1) retained per live session
  const baselineBytes = await gcTwice();
  const allHeld = tally.settled + sessions;
  const holding = server.hold(sessions);
  for (let i = 0; i < sessions; i++) start();
  await holding;
  const heldBytes = await gcTwice();
  server.release();
  await tally.until(allHeld);
  const afterBytes = await gcTwice();

  // CPU time of complete sessions, without the profiler: the one figure here the machine's noise reaches.
  const cpu = process.cpuUsage();
  await runBatches(start, tally, sessions, batch);
  const used = process.cpuUsage(cpu);
  const cpuMicrosPerSession = (used.user + used.system) / sessions;

  // (2) allocated per session
  const inspector = new InspectorSession();
  inspector.connect();
  await inspector.post('HeapProfiler.startSampling', {
    samplingInterval: SAMPLING_INTERVAL,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await runBatches(start, tally, sessions, batch);
  // @types/node 20 leaves out the node ids and the samples, which V8 sends.
  const { head, samples } = (await inspector.post('HeapProfiler.stopSampling')).profile as unknown as Partial<SamplingProfile>;
  inspector.disconnect();
  if (head === undefined || samples === undefined) throw new Error('the sampling heap profile has no samples: this needs Node ≥ 20 (V8 ≥ 11.3)');
  const allocated = summarise({ head, samples }, sessions);

  const expectedChunks = 2 * (warmup + warmHeld + 3 * sessions);
  if (tally.failed === 0 && tally.chunks !== expectedChunks) throw new Error(`${side}: ${tally.chunks} audio chunks, expected ${expectedChunks}`);
  if (server.closed !== server.opened) throw new Error(`${side}: ${server.opened} sockets opened, ${server.closed} closed by the client`);
  return {
    side,
    sessions,
    baselineBytes,
    heldBytes,
    afterBytes,
    retainedPerSession: (heldBytes - baselineBytes) / sessions,
    residueBytes: afterBytes - baselineBytes,
    allocatedPerSession: allocated.bytes / sessions,
    objectsPerSession: allocated.objects / sessions,
    cpuMicrosPerSession,
    byArea: allocated.byArea,
    byLibFunction: allocated.byLibFunction,
    failed: tally.failed,
    firstError: tally.firstError,
  };
};

// ---- the parent: one child per (side, run) ---------------------------------------------------------------

/** What (h) measured: every side's report of every run. */
export interface PerSessionResult {
  readonly job: Omit<PerSessionJob, 'side'>;
  readonly runs: number;
  readonly reports: Readonly<Record<PerSessionSide, readonly PerSessionReport[]>>;
}

/** The child for one side, compiled (bench/.out) or through tsx, as the rest of the bench runs. */
const runChild = (job: PerSessionJob, runtime: Runtime, timeoutMs: number): Promise<PerSessionReport> => {
  const script = runtime === 'tsx' ? ['--import', 'tsx', join('bench', 'per-session.ts')] : [join('bench', '.out', 'bench', 'per-session.js')];
  const child = spawn(process.execPath, ['--expose-gc', ...script, 'child', JSON.stringify(job)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (data: Buffer) => {
    out += data.toString('utf8');
  });
  child.stderr.on('data', (data: Buffer) => {
    err += data.toString('utf8');
  });
  const stopChild = (): void => void child.kill('SIGKILL');
  process.once('exit', stopChild);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`per-session ${job.side}: killed after ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      process.off('exit', stopChild);
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || line === '') return reject(new Error(`per-session ${job.side} failed (exit ${String(code)}): ${err.trim()}`));
      resolve(JSON.parse(line) as PerSessionReport);
    });
  });
};

const log = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};

/** (h): `runs` rounds, each running every side in its own child (the order turning every round). */
export const perSession = async (
  runtime: Runtime,
  runs = 3,
  job: Omit<PerSessionJob, 'side'> = { sessions: 20_000, batch: 100, warmup: 2_000 },
): Promise<PerSessionResult> => {
  const reports: Record<PerSessionSide, PerSessionReport[]> = { client: [], 'one-shot': [], raw: [] };
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? PER_SESSION_SIDES : [...PER_SESSION_SIDES].reverse();
    for (const side of order) {
      const report = await runChild({ ...job, side }, runtime, 300_000);
      if (report.failed > 0) throw new Error(`per-session ${side}: ${report.failed} sessions failed (${report.firstError ?? '?'})`);
      log(
        `(h) run ${run + 1}/${runs} ${side}: ${fmt(report.retainedPerSession, 0)} B retained per live session (residue ${count(report.residueBytes)} B), ` +
          `${fmt(report.allocatedPerSession, 0)} B / ${fmt(report.objectsPerSession, 0)} objects allocated per session, ${fmt(report.cpuMicrosPerSession, 1)} µs CPU`,
      );
      reports[side].push(report);
    }
  }
  return { job, runs, reports };
};

/** Largest distance from the median, as a fraction of it: how closely the runs agree. */
const spread = (values: readonly number[]): number => {
  const mid = median(values);
  return Math.max(...values.map((v) => Math.abs(v - mid))) / mid;
};

const SIDE_LABELS: Record<PerSessionSide, string> = {
  client: '`client.synthesize$(request)` (one client)',
  'one-shot': '`synthesize$(request, options)` (one-shot, as in (c))',
  raw: 'raw: START JSON, `JSON.parse`, chunks (same fake socket)',
};

/** (h) as a Markdown table: medians over the runs, the runs' spread, and ours ÷ raw. */
export const perSessionMarkdown = (result: PerSessionResult, command: string, runtime: string): string => {
  const figure = (side: PerSessionSide, f: (r: PerSessionReport) => number): number => median(result.reports[side].map(f));
  const raw = {
    retained: figure('raw', (r) => r.retainedPerSession),
    allocated: figure('raw', (r) => r.allocatedPerSession),
    cpu: figure('raw', (r) => r.cpuMicrosPerSession),
  };
  const lines = PER_SESSION_SIDES.map((side) => {
    const reports = result.reports[side];
    const retained = figure(side, (r) => r.retainedPerSession);
    const allocated = figure(side, (r) => r.allocatedPerSession);
    const objects = figure(side, (r) => r.objectsPerSession);
    const cpu = figure(side, (r) => r.cpuMicrosPerSession);
    const residue = Math.max(...reports.map((r) => r.residueBytes));
    const ratio = (value: number, base: number): string => (side === 'raw' ? '' : ` (${fmt(value / base, 2)}×)`);
    const pct = (values: number[]): string => (values.length < 2 ? '—' : `±${fmt(100 * spread(values), 1)} %`);
    return (
      `| ${SIDE_LABELS[side]} | ${count(Math.round(retained))} B${ratio(retained, raw.retained)} | ${pct(reports.map((r) => r.retainedPerSession))} ` +
      `| ${count(residue)} B | ${count(Math.round(allocated))} B${ratio(allocated, raw.allocated)} | ${pct(reports.map((r) => r.allocatedPerSession))} ` +
      `| ${count(Math.round(objects))} | ${fmt(cpu, 1)} µs${ratio(cpu, raw.cpu)} |`
    );
  });
  // Allocations by area: the median over runs of each side's bytes per session in that area.
  const areas = [...new Set(PER_SESSION_SIDES.flatMap((side) => result.reports[side].flatMap((r) => r.byArea.map((a) => a.name))))];
  const inArea = (side: PerSessionSide, area: string): number => figure(side, (r) => r.byArea.find((a) => a.name === area)?.bytes ?? 0);
  areas.sort((a, b) => inArea('one-shot', b) - inArea('one-shot', a));
  const areaLines = areas
    .filter((area) => PER_SESSION_SIDES.some((side) => inArea(side, area) >= 1))
    .map((area) => `| ${area} | ${PER_SESSION_SIDES.map((side) => `${count(Math.round(inArea(side, area)))} B`).join(' | ')} |`);
  const { sessions, batch, warmup } = result.job;
  return [
    `### (h) Per-session cost on a fake socket (${machine()}; \`${command}\`; ${runtime})`,
    '',
    `Retained: ${count(sessions)} sessions held open after their START response, heapUsed + arrayBuffers after \`gc()\` twice, minus the idle process, ÷ ${count(sessions)}. ` +
      `Allocated: ${count(sessions)} complete sessions (${batch} at a time) under the sampling heap profiler (64 B interval, collected objects included). ` +
      `Each side ran ${result.runs === 1 ? 'once' : `${result.runs} times`} in a fresh \`node --expose-gc\` process after ${count(warmup)} warm-up sessions; medians, and the largest distance of a run from the median. ` +
      `CPU: \`process.cpuUsage()\` over another ${count(sessions)} complete sessions without the profiler, the one figure here that depends on the machine.`,
    '',
    '| side | retained per live session (÷ raw) | runs | residue after release, worst | allocated per session (÷ raw) | runs | objects allocated per session | CPU per session (indicative) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...lines,
    '',
    'Allocated per session, by the area of the code of the function that allocated:',
    '',
    `| area | ${PER_SESSION_SIDES.join(' | ')} |`,
    `|---|${PER_SESSION_SIDES.map(() => '---:').join('|')}|`,
    ...areaLines,
  ].join('\n');
};

// ---- census: what a live session is made of ----------------------------------------------------------

/** Objects of one kind (heap snapshot type and name) that a live session holds. */
export interface CensusLine {
  /** `type name`, e.g. `object SafeSubscriber`, `closure next`, `hidden system / Context`. */
  readonly kind: string;
  readonly count: number;
  readonly bytes: number;
}

interface HeapSnapshotJson {
  readonly snapshot: { readonly meta: { readonly node_fields: readonly string[]; readonly node_types: readonly [readonly string[], ...unknown[]] } };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

/** Count and self size of every kind of object on the heap now (after the GC that a snapshot makes). */
const heapCensus = async (): Promise<Map<string, { count: number; bytes: number }>> => {
  let text = '';
  for await (const chunk of getHeapSnapshot()) text += String(chunk);
  const { snapshot, nodes, strings } = JSON.parse(text) as HeapSnapshotJson;
  const fields = snapshot.meta.node_fields;
  const [typeNames] = snapshot.meta.node_types;
  const at = { type: fields.indexOf('type'), name: fields.indexOf('name'), size: fields.indexOf('self_size') };
  const kinds = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = typeNames[nodes[i + at.type] ?? 0] ?? '?';
    const raw = strings[nodes[i + at.name] ?? 0] ?? '?';
    // Strings and numbers are named by their value: one kind each.
    const name = type === 'string' || type === 'number' || type === 'concatenated string' || type === 'sliced string' ? '' : raw.slice(0, 60);
    const kind = `${type} ${name}`.trim();
    const entry = kinds.get(kind) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += nodes[i + at.size] ?? 0;
    kinds.set(kind, entry);
  }
  return kinds;
};

/**
 * What one live session is made of: heap snapshots with none and with `sessions` sessions held after
 * their START response, the difference ÷ sessions, by kind of object, largest first.
 * `node --expose-gc bench/.out/bench/per-session.js census '{"side":"client","sessions":2000,"batch":100,"warmup":2000}'`
 */
export const census = async ({ side, sessions, batch, warmup }: PerSessionJob): Promise<CensusLine[]> => {
  const server = new FakeServer();
  const tally = new Tally();
  const start = starterFor(side, server, tally);
  await runBatches(start, tally, warmup, batch);
  await gcTwice();
  const before = await heapCensus();
  const allHeld = tally.settled + sessions;
  const holding = server.hold(sessions);
  for (let i = 0; i < sessions; i++) start();
  await holding;
  await gcTwice();
  const held = await heapCensus();
  server.release();
  await tally.until(allHeld);
  return [...held.entries()]
    .map(([kind, entry]) => ({
      kind,
      count: (entry.count - (before.get(kind)?.count ?? 0)) / sessions,
      bytes: (entry.bytes - (before.get(kind)?.bytes ?? 0)) / sessions,
    }))
    .filter((line) => line.bytes >= 1)
    .sort((a, b) => b.bytes - a.bytes);
};

// ---- child entry ---------------------------------------------------------------------------------

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, json] = process.argv.slice(2);
  try {
    if ((mode !== 'child' && mode !== 'census') || json === undefined) {
      throw new Error('usage: node --expose-gc per-session.js child|census \'{"side":…,"sessions":…,"batch":…,"warmup":…}\'');
    }
    const job = JSON.parse(json) as PerSessionJob;
    const report = mode === 'child' ? await measureSide(job) : await census(job);
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(0);
  } catch (error) {
    process.stderr.write(`per-session: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  }
}
