/** The four measurements; each alternates the sides so drift (JIT, GC, emulator state) hits both. */
import { readFileSync } from 'node:fs';
import { runnerFor, SIDES, within, type BenchRequest, type Side, type Target } from './clients.js';
import type { BackpressureJob, BackpressureReport, Measured, Sampling } from './backpressure.js';
import { runWorker } from './processes.js';
import { median, MIB, quantile } from './stats.js';
import type { ConcurrentJob, ConcurrentReport, SizeJob, SizeReport } from './worker.js';

const log = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};

/** Both sides, in an order that flips every round. */
const inTurn = (round: number): readonly Side[] => (round % 2 === 0 ? SIDES : [...SIDES].reverse());

export interface PerSide<T> {
  readonly ours: T;
  readonly raw: T;
}

export interface ThroughputResult {
  readonly bytes: number;
  readonly runs: number;
  /** MB/s (10^6 bytes) of each run, per side. */
  readonly mbps: PerSide<number[]>;
  /** This process's CPU time (user + system) per run, ms: the client's cost, the emulator excluded. */
  readonly cpuMs: PerSide<number[]>;
}

/** Rounds of (a) run and discarded first, so both sides are measured with compiled code. */
const THROUGHPUT_WARMUP = 2;

/** (a) One long stream at a time, `runs` times per side, after {@link THROUGHPUT_WARMUP} rounds. */
export const throughput = async (target: Target, request: BenchRequest, expectedBytes: number, runs: number): Promise<ThroughputResult> => {
  const mbps: PerSide<number[]> = { ours: [], raw: [] };
  const cpuMs: PerSide<number[]> = { ours: [], raw: [] };
  const maxTextLength = [...request.text].length; // 10,000: both the client's and the emulator's default limit
  for (let round = -THROUGHPUT_WARMUP; round < runs; round++) {
    for (const side of inTurn(round)) {
      const run = runnerFor(side, { maxTextLength });
      const cpu = process.cpuUsage();
      const result = await within(run(target, request), 180_000, `(a) ${side}`);
      const used = process.cpuUsage(cpu);
      if (result.bytes !== expectedBytes) throw new Error(`(a) ${side} received ${result.bytes} bytes, expected ${expectedBytes}`);
      const rate = result.bytes / 1e6 / (result.totalMs / 1000);
      log(`(a) ${round < 0 ? 'warm-up' : `run ${round + 1}/${runs}`} ${side}: ${rate.toFixed(1)} MB/s`);
      if (round < 0) continue;
      mbps[side].push(rate);
      cpuMs[side].push((used.user + used.system) / 1000);
    }
  }
  return { bytes: expectedBytes, runs, mbps, cpuMs };
};

export interface FirstChunkResult {
  readonly sessions: number;
  readonly median: PerSide<number>;
  readonly p99: PerSide<number>;
  /** Median of the paired differences ours − raw (sessions run back to back), ms. */
  readonly pairedMedianDiff: number;
}

/** (b) `sessions` sequential sessions per side, interleaved one by one, after `warmup` of each. */
export const firstChunk = async (target: Target, request: BenchRequest, sessions: number, warmup: number): Promise<FirstChunkResult> => {
  const times: PerSide<number[]> = { ours: [], raw: [] };
  const maxTextLength = [...request.text].length;
  const runners = { ours: runnerFor('ours', { maxTextLength }), raw: runnerFor('raw', { maxTextLength }) };
  for (let i = -warmup; i < sessions; i++) {
    for (const side of inTurn(i)) {
      const result = await within(runners[side](target, request), 30_000, `(b) ${side} session ${i}`);
      if (i >= 0) times[side].push(result.firstChunkMs);
    }
  }
  const diffs = times.ours.map((t, i) => t - (times.raw[i] ?? Number.NaN));
  log(`(b) ${sessions} sessions per side done`);
  return {
    sessions,
    median: { ours: median(times.ours), raw: median(times.raw) },
    p99: { ours: quantile(times.ours, 0.99), raw: quantile(times.raw, 0.99) },
    pairedMedianDiff: median(diffs),
  };
};

export interface ConcurrentResult {
  readonly sessions: number;
  readonly rounds: number;
  /** Median over rounds. */
  readonly wallMs: PerSide<number>;
  readonly maxRssKiB: PerSide<number>;
  readonly rssBeforeKiB: PerSide<number>;
  /** Worst round: sessions that completed normally. */
  readonly ok: PerSide<number>;
  /**
   * All rounds: connects the kernel dropped because the emulator's accept queue was full (each retried
   * by the client's kernel one second later or more); undefined where the count is not available.
   */
  readonly listenOverflows: PerSide<number> | undefined;
  readonly errors: string[];
}

const CONCURRENT_WARMUP = 100;

/**
 * The kernel's count of connections dropped because a listening socket's accept queue was full
 * (`TcpExt: ListenOverflows` of /proc/net/netstat, for the whole machine); undefined outside Linux.
 * A load's wall time that jumps by a second or more between runs is usually this.
 */
export const listenOverflows = (): number | undefined => {
  let lines: string[];
  try {
    lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  } catch {
    return undefined;
  }
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]?.split(' ') ?? [];
    const at = names.indexOf('ListenOverflows');
    if (names[0] === 'TcpExt:' && at > 0) return Number(lines[i + 1]?.split(' ')[at]);
  }
  return undefined;
};

/** (c) `sessions` at once, each side in its own worker process, `rounds` times per side. */
export const concurrent = async (target: Target, request: BenchRequest, sessions: number, rounds: number, deadlineMs: number): Promise<ConcurrentResult> => {
  const reports: PerSide<ConcurrentReport[]> = { ours: [], raw: [] };
  const errors: string[] = [];
  const overflows: Record<Side, number> = { ours: 0, raw: 0 };
  let counted = true;
  for (let round = 0; round < rounds; round++) {
    for (const side of inTurn(round)) {
      const job: ConcurrentJob = { target, side, sessions, request, deadlineMs, warmup: CONCURRENT_WARMUP };
      const before = listenOverflows();
      const report = await runWorker<ConcurrentReport>(['concurrent', JSON.stringify(job)], deadlineMs + 30_000);
      const after = listenOverflows();
      const dropped = before === undefined || after === undefined ? undefined : after - before;
      if (dropped === undefined) counted = false;
      else overflows[side] += dropped;
      log(
        `(c) ${sessions} concurrent, ${side}: ${report.ok}/${sessions} ok in ${(report.wallMs / 1000).toFixed(2)} s, max RSS ${(report.maxRssKiB / 1024).toFixed(1)} MiB${dropped === undefined ? '' : `, ${dropped} connects dropped by a full accept queue`}`,
      );
      if (report.firstError !== undefined) errors.push(`${side}: ${report.firstError}`);
      reports[side].push(report);
      // Let the emulator finish the closing handshakes of the last batch.
      await new Promise((resolve) => setTimeout(resolve, sessions >= 5_000 ? 2_000 : 500));
    }
  }
  const pick = (f: (r: ConcurrentReport) => number): PerSide<number> => ({ ours: median(reports.ours.map(f)), raw: median(reports.raw.map(f)) });
  return {
    sessions,
    rounds,
    wallMs: pick((r) => r.wallMs),
    maxRssKiB: pick((r) => r.maxRssKiB),
    rssBeforeKiB: pick((r) => r.rssBeforeKiB),
    ok: { ours: Math.min(...reports.ours.map((r) => r.ok)), raw: Math.min(...reports.raw.map((r) => r.ok)) },
    listenOverflows: counted ? overflows : undefined,
    errors,
  };
};

export interface BackpressureFigures {
  /** Worst round: peak heapUsed + arrayBuffers above the idle baseline, bytes. */
  readonly peakBytes: PerSide<number>;
  /** Worst round: the two parts, each at its own peak. */
  readonly peakHeapUsedBytes: PerSide<number>;
  readonly peakArrayBuffersBytes: PerSide<number>;
  /** Median over rounds: ms from subscription / socket creation until the consumer took the last byte. */
  readonly elapsedMs: PerSide<number>;
  /** Median over rounds: times the socket was paused for the consumer. */
  readonly pauses: PerSide<number>;
  readonly samples: PerSide<number>;
}

export interface BackpressureLength extends Readonly<Record<Sampling, BackpressureFigures>> {
  /** PCM bytes of the stream, every one of which reached the consumer (checked in the worker). */
  readonly bytes: number;
}

export interface BackpressureResult {
  readonly consumerBytesPerSecond: number;
  readonly sampleEveryMs: number;
  readonly rounds: number;
  /** Shortest stream first. */
  readonly lengths: BackpressureLength[];
}

/**
 * (d) One worker process (run with `--expose-gc`) per (side, length, round): two warm-up sessions,
 * then one session per sampling (plain, live), each piped into a consumer throttled to
 * `consumerBytesPerSecond`.
 */
export const backpressure = async (
  target: Target,
  requests: readonly BenchRequest[],
  warmup: BenchRequest,
  consumerBytesPerSecond: number,
  rounds: number,
  sampleEveryMs = 10,
): Promise<BackpressureResult> => {
  const expected = async (request: BenchRequest): Promise<number> => {
    const job: SizeJob = { request };
    const size = await runWorker<SizeReport>(['size', JSON.stringify(job)], 120_000);
    if (!size.sameStart) throw new Error('the raw START JSON differs from the library’s');
    return size.bytes;
  };
  const warmupBytes = await expected(warmup);
  const lengths: BackpressureLength[] = [];
  let turn = 0;
  for (const request of requests) {
    const expectedBytes = await expected(request);
    const reports: PerSide<BackpressureReport[]> = { ours: [], raw: [] };
    for (let round = 0; round < rounds; round++) {
      for (const side of inTurn(turn++)) {
        const job: BackpressureJob = { target, side, request, expectedBytes, warmup, warmupBytes, consumerBytesPerSecond, sampleEveryMs };
        const report = await runWorker<BackpressureReport>(['backpressure', JSON.stringify(job)], 120_000, ['--expose-gc']);
        const mib = (bytes: number): string => (bytes / MIB).toFixed(2);
        log(
          `(d) ${(expectedBytes / MIB).toFixed(1)} MiB into a ${(consumerBytesPerSecond / 1e6).toFixed(0)} MB/s consumer, ${side}: ` +
            `${(report.live.elapsedMs / 1000).toFixed(2)} s, ${report.live.pauses} pauses, peak above idle ${mib(report.live.peakBytes)} MiB live, ${mib(report.plain.peakBytes)} MiB plain`,
        );
        reports[side].push(report);
      }
    }
    const figures = (sampling: Sampling): BackpressureFigures => {
      const worst = (f: (m: Measured) => number): PerSide<number> => ({
        ours: Math.max(...reports.ours.map((r) => f(r[sampling]))),
        raw: Math.max(...reports.raw.map((r) => f(r[sampling]))),
      });
      const mid = (f: (m: Measured) => number): PerSide<number> => ({
        ours: median(reports.ours.map((r) => f(r[sampling]))),
        raw: median(reports.raw.map((r) => f(r[sampling]))),
      });
      return {
        peakBytes: worst((m) => m.peakBytes),
        peakHeapUsedBytes: worst((m) => m.peakHeapUsedBytes),
        peakArrayBuffersBytes: worst((m) => m.peakArrayBuffersBytes),
        elapsedMs: mid((m) => m.elapsedMs),
        pauses: mid((m) => m.pauses),
        samples: mid((m) => m.samples),
      };
    };
    lengths.push({ bytes: expectedBytes, plain: figures('plain'), live: figures('live') });
  }
  return { consumerBytesPerSecond, sampleEveryMs, rounds, lengths };
};
