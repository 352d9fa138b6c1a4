/** The three measurements; each alternates the sides so drift (JIT, GC, emulator state) hits both. */
import { runnerFor, SIDES, within, type BenchRequest, type Side, type Target } from './clients.js';
import { runWorker } from './processes.js';
import { median, quantile } from './stats.js';
import type { ConcurrentJob, ConcurrentReport } from './worker.js';

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
  readonly errors: string[];
}

const CONCURRENT_WARMUP = 100;

/** (c) `sessions` at once, each side in its own worker process, `rounds` times per side. */
export const concurrent = async (target: Target, request: BenchRequest, sessions: number, rounds: number, deadlineMs: number): Promise<ConcurrentResult> => {
  const reports: PerSide<ConcurrentReport[]> = { ours: [], raw: [] };
  const errors: string[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const side of inTurn(round)) {
      const job: ConcurrentJob = { target, side, sessions, request, deadlineMs, warmup: CONCURRENT_WARMUP };
      const report = await runWorker<ConcurrentReport>(['concurrent', JSON.stringify(job)], deadlineMs + 30_000);
      log(`(c) ${sessions} concurrent, ${side}: ${report.ok}/${sessions} ok in ${(report.wallMs / 1000).toFixed(2)} s, max RSS ${(report.maxRssKiB / 1024).toFixed(1)} MiB`);
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
    errors,
  };
};
