/**
 * Child-process entry of the benchmark: each measurement runs in a fresh process, so that memory is
 * measured per side and each process stays under the machine's open-file limit. Takes one JSON
 * argument and prints one JSON line on stdout (progress goes to stderr).
 *   node bench/.out/bench/worker.js size '{"request":…}'
 *   node bench/.out/bench/worker.js sequential '{"target":…,"long":…,"expectedBytes":…,"runs":…,"short":…,"sessions":…,"warmup":…}'
 *   node bench/.out/bench/worker.js concurrent '{"target":…,"side":"ours","sessions":…,"request":…,"deadlineMs":…}'
 *   node --expose-gc bench/.out/bench/worker.js backpressure '{"target":…,"side":"raw","request":…,"expectedBytes":…,"warmup":…,"warmupBytes":…,"consumerBytesPerSecond":…,"sampleEveryMs":…}'
 *   node bench/.out/bench/worker.js speak '{"rounds":…}'   (starts its own emulator: see speak.ts)
 *   node bench/.out/bench/worker.js warm '{"sessions":…,"warmup":…,"loadMs":…}'   (its emulator in a thread: see warm.ts)
 */
import { synthesizeAudio } from '../lib/emulator/index.js';
import { resolveRequest, toStartCommand } from '../lib/protocol/request.js';
import { backpressureRun, type BackpressureJob } from './backpressure.js';
import { rawStartJson, runnerFor, type BenchRequest, type Side, type Target } from './clients.js';
import { firstChunk, throughput, type FirstChunkResult, type ThroughputResult } from './scenarios.js';
import { speakRun, type SpeakJob } from './speak.js';
import { warmRun, type WarmJob } from './warm.js';

export interface SizeJob {
  readonly request: BenchRequest;
}
export interface SizeReport {
  readonly bytes: number;
  /** The library's START JSON equals the raw client's, byte for byte. */
  readonly sameStart: boolean;
}

export interface SequentialJob {
  readonly target: Target;
  readonly long: BenchRequest;
  readonly expectedBytes: number;
  readonly runs: number;
  readonly short: BenchRequest;
  readonly sessions: number;
  readonly warmup: number;
}
export interface SequentialReport {
  readonly throughput: ThroughputResult;
  readonly firstChunk: FirstChunkResult;
}

export interface ConcurrentJob {
  readonly target: Target;
  readonly side: Side;
  readonly sessions: number;
  readonly request: BenchRequest;
  readonly deadlineMs: number;
  /** Sessions run first (in batches of 20) so that the code is compiled, as in a running server. */
  readonly warmup: number;
}
export interface ConcurrentReport {
  readonly side: Side;
  readonly sessions: number;
  readonly ok: number;
  readonly firstError: string | undefined;
  readonly wallMs: number;
  /** process.resourceUsage().maxRSS, in KiB. */
  readonly maxRssKiB: number;
  /** RSS just before the sessions started (modules loaded), in KiB. */
  readonly rssBeforeKiB: number;
  readonly bytes: number;
}

const size = ({ request }: SizeJob): SizeReport => {
  const start = toStartCommand(
    resolveRequest(
      { text: request.text, audioFormat: 'pcm', sampleRate: request.sampleRate, voice: request.voice, speed: request.speed, pitch: 0, volume: 50 },
      { maxTextLength: [...request.text].length },
    ),
  );
  return { bytes: synthesizeAudio(start).byteLength, sameStart: JSON.stringify(start) === rawStartJson(request) };
};

const sequential = async (job: SequentialJob): Promise<SequentialReport> => ({
  throughput: await throughput(job.target, job.long, job.expectedBytes, job.runs),
  firstChunk: await firstChunk(job.target, job.short, job.sessions, job.warmup),
});

const concurrent = async ({ target, side, sessions, request, deadlineMs, warmup }: ConcurrentJob): Promise<ConcurrentReport> => {
  // The library's timeouts are raised for 10,000 handshakes queued on a 2-core machine; the same
  // deadline bounds both sides.
  const run = runnerFor(side, { maxTextLength: [...request.text].length, timeouts: { connect: deadlineMs, firstAudio: deadlineMs } });
  for (let done = 0; done < warmup; done += 20) {
    await Promise.all(Array.from({ length: Math.min(20, warmup - done) }, () => run(target, request)));
  }
  const rssBeforeKiB = Math.round(process.memoryUsage.rss() / 1024);
  let ok = 0;
  let bytes = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const all: Promise<void>[] = [];
  for (let i = 0; i < sessions; i++) {
    all.push(
      run(target, request).then(
        (result) => {
          ok++;
          bytes += result.bytes;
        },
        (error: unknown) => {
          firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        },
      ),
    );
  }
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    Promise.all(all).then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), deadlineMs);
    }),
  ]);
  clearTimeout(timer);
  const wallMs = performance.now() - started;
  if (!settled) firstError ??= `sessions unfinished after ${deadlineMs} ms`;
  return { side, sessions, ok, firstError, wallMs, maxRssKiB: process.resourceUsage().maxRSS, rssBeforeKiB, bytes };
};

const [scenario, json] = process.argv.slice(2);
try {
  if (json === undefined) throw new Error('usage: worker <size|sequential|concurrent|backpressure|speak|warm> <job-json>');
  const job: unknown = JSON.parse(json);
  const report =
    scenario === 'size'
      ? size(job as SizeJob)
      : scenario === 'sequential'
        ? await sequential(job as SequentialJob)
        : scenario === 'concurrent'
          ? await concurrent(job as ConcurrentJob)
          : scenario === 'backpressure'
            ? await backpressureRun(job as BackpressureJob)
            : scenario === 'speak'
              ? await speakRun(job as SpeakJob)
              : scenario === 'warm'
                ? await warmRun(job as WarmJob)
                : undefined;
  if (report === undefined) throw new Error(`unknown scenario ${String(scenario)}`);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  // Sockets still in their closing handshake must not keep the worker alive.
  process.exit(0);
} catch (error) {
  process.stderr.write(`bench worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
