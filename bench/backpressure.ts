/**
 * (d) backpressure, the worker's side: one session's audio piped into a deliberately slow `Writable`
 * (a fixed byte rate, far below what the emulator delivers) while `process.memoryUsage()` is sampled.
 *  - `ours`: `toReadable((paused$) => client.synthesize$(request, { paused$ }))`, then
 *    `stream/promises` `pipeline` into the slow Writable.
 *  - `raw`: a bare `ws` client with hand-written backpressure: `ws.pause()` when `write()` returns
 *    false, `ws.resume()` on `'drain'`.
 * After two warm-up sessions, one measured session per sampling (see {@link Sampling}). Runs with
 * `--expose-gc`: the idle baseline is taken after full collections, and `live` sampling collects.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { tap } from 'rxjs';
import WebSocket from 'ws';
import { createSisClient } from '../lib/index.js';
import { toReadable } from '../lib/node/index.js';
import { libraryRequest, rawStartJson, textOf, within, type BenchRequest, type Side, type Target } from './clients.js';

/** The slow consumer: accepts bytes at `bytesPerSecond` on average (from its first write), keeps none. */
export interface SlowSink {
  readonly writable: Writable;
  /** Bytes accepted so far. */
  readonly written: () => number;
}

/** Both sides' sinks buffer the same amount before `write()` returns false. */
const SINK_HIGH_WATER_MARK = 16 * 1024;

export const slowSink = (bytesPerSecond: number): SlowSink => {
  let written = 0;
  let origin: number | undefined;
  const writable = new Writable({
    highWaterMark: SINK_HIGH_WATER_MARK,
    write(chunk: Uint8Array, _encoding, callback) {
      const now = performance.now();
      origin ??= now;
      written += chunk.byteLength;
      // A token bucket over the whole stream: done at once while behind schedule, else when due.
      const due = origin + (written / bytesPerSecond) * 1000;
      if (due <= now + 1) callback();
      else setTimeout(callback, due - now);
    },
  });
  return { writable, written: () => written };
};

interface PipedResult {
  /** Bytes the slow sink accepted. */
  readonly bytes: number;
  /** Times the socket was paused for the sink. */
  readonly pauses: number;
}

type PipeRunner = (target: Target, request: BenchRequest, sink: SlowSink) => Promise<PipedResult>;

const oursPiped: PipeRunner = async (target, request, sink) => {
  const client = createSisClient({
    endpoint: target.url,
    projectId: target.projectId,
    auth: { token: target.token },
    limits: { maxTextLength: [...request.text].length },
  });
  let pauses = 0;
  const readable = toReadable((paused$) =>
    client.synthesize$(libraryRequest(request), {
      paused$: paused$.pipe(
        tap((paused) => {
          if (paused) pauses++;
        }),
      ),
    }),
  );
  await pipeline(readable, sink.writable);
  return { bytes: sink.written(), pauses };
};

const rawPiped: PipeRunner = (target, request, sink) =>
  new Promise((resolve, reject) => {
    let done = false;
    let paused = false;
    let pauses = 0;
    const { writable } = sink;
    const ws = new WebSocket(`${target.url}/v1/${target.projectId}/rtts`, {
      headers: { 'X-Auth-Token': target.token },
      perMessageDeflate: false,
    });
    const failWith = (message: string): void => {
      if (done) return;
      done = true;
      ws.terminate();
      writable.destroy();
      reject(new Error(message));
    };
    writable.on('drain', () => {
      if (!paused || done) return;
      paused = false;
      ws.resume();
    });
    writable.on('error', (error) => failWith(`raw: sink: ${error.message}`));
    ws.on('open', () => ws.send(rawStartJson(request)));
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (done) return;
      if (isBinary) {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data;
        if (!writable.write(bytes) && !paused) {
          paused = true;
          pauses++;
          ws.pause();
        }
        return;
      }
      const frame = JSON.parse(textOf(data)) as { resp_type?: unknown; reason?: unknown; error_code?: unknown };
      if (frame.resp_type === 'END' && frame.reason === 'NORMAL') {
        done = true;
        ws.resume(); // a paused socket would not read the server's close reply
        ws.close(1000);
        writable.end();
        finished(writable).then(
          () => resolve({ bytes: sink.written(), pauses }),
          (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
        );
      } else if (frame.resp_type === 'END' || frame.resp_type === 'ERROR' || frame.resp_type === 'FATAL_ERROR') {
        failWith(`raw: ${String(frame.resp_type)} ${String(frame.error_code ?? frame.reason)}`);
      }
    });
    ws.on('unexpected-response', (_req, response) => failWith(`raw: handshake rejected with HTTP ${response.statusCode ?? 0}`));
    ws.on('error', (error) => failWith(`raw: ${error.message}`));
    ws.on('close', (code) => failWith(`raw: closed with ${code} before END`));
  });

const PIPED: Readonly<Record<Side, PipeRunner>> = { ours: oursPiped, raw: rawPiped };

export interface BackpressureJob {
  readonly target: Target;
  readonly side: Side;
  readonly request: BenchRequest;
  /** From `synthesizeAudio` in another process (the emulator's synthesis caches what it renders). */
  readonly expectedBytes: number;
  /** A short session of the same kind, run twice through the same pipeline first (compiled code, warm pools). */
  readonly warmup: BenchRequest;
  readonly warmupBytes: number;
  readonly consumerBytesPerSecond: number;
  readonly sampleEveryMs: number;
}

/**
 * How memory is sampled every `sampleEveryMs`:
 *  - `plain`: `process.memoryUsage()` as it is, so garbage the GC has not collected yet counts too
 *    (its amount follows V8's GC pacing, which settles over the first ~16 MiB of a stream);
 *  - `live`: a full GC first, so only what the process still holds counts: buffered audio, socket
 *    and stream buffers, session state.
 */
export type Sampling = 'plain' | 'live';
export const SAMPLINGS: readonly Sampling[] = ['plain', 'live'];

export interface Measured {
  /** heapUsed + arrayBuffers after a full GC, idle, just before the session. */
  readonly baselineBytes: number;
  /** Peak of heapUsed + arrayBuffers over the session, minus the baseline. */
  readonly peakBytes: number;
  /** The two parts, each at its own peak, minus its own baseline. */
  readonly peakHeapUsedBytes: number;
  readonly peakArrayBuffersBytes: number;
  readonly samples: number;
  /** From subscription / socket creation until the consumer has taken the last byte. */
  readonly elapsedMs: number;
  /** Times the socket was paused for the consumer. */
  readonly pauses: number;
}

export interface BackpressureReport {
  readonly side: Side;
  /** Bytes the consumer took in each measured session: all of them, checked against `expectedBytes`. */
  readonly bytes: number;
  readonly plain: Measured;
  readonly live: Measured;
  /** process.resourceUsage().maxRSS, in KiB (the whole process, for information). */
  readonly maxRssKiB: number;
}

type Collect = () => void;
const gcFunction = (): Collect => {
  const gc: unknown = Reflect.get(globalThis, 'gc');
  if (typeof gc !== 'function') throw new Error('(d) needs node --expose-gc');
  return gc as Collect;
};

const piped = async (job: BackpressureJob, request: BenchRequest, expectedBytes: number, what: string): Promise<PipedResult> => {
  const sink = slowSink(job.consumerBytesPerSecond);
  const deadline = (expectedBytes / job.consumerBytesPerSecond) * 1000 * 3 + 30_000;
  const result = await within(PIPED[job.side](job.target, request, sink), deadline, what);
  if (result.bytes !== expectedBytes) throw new Error(`${what}: ${result.bytes} bytes reached the consumer, expected ${expectedBytes}`);
  return result;
};

/** One measured session: the idle baseline after full GCs, then the session with the sampler on. */
const measure = async (job: BackpressureJob, sampling: Sampling): Promise<Measured> => {
  const gc = gcFunction();
  // Let the previous session's socket finish closing, then take the idle process after full GCs.
  await sleep(200);
  gc();
  await sleep(50);
  gc();
  const idle = process.memoryUsage();
  const baselineBytes = idle.heapUsed + idle.arrayBuffers;
  let peakBytes = 0;
  let peakHeapUsedBytes = 0;
  let peakArrayBuffersBytes = 0;
  let samples = 0;
  const sample = (): void => {
    if (sampling === 'live') gc();
    const now = process.memoryUsage();
    samples++;
    peakBytes = Math.max(peakBytes, now.heapUsed + now.arrayBuffers - baselineBytes);
    peakHeapUsedBytes = Math.max(peakHeapUsedBytes, now.heapUsed - idle.heapUsed);
    peakArrayBuffersBytes = Math.max(peakArrayBuffersBytes, now.arrayBuffers - idle.arrayBuffers);
  };
  const sampler = setInterval(sample, job.sampleEveryMs);
  const started = performance.now();
  let result: PipedResult;
  try {
    result = await piped(job, job.request, job.expectedBytes, `(d) ${job.side} (${sampling})`);
  } finally {
    clearInterval(sampler);
  }
  const elapsedMs = performance.now() - started;
  return { baselineBytes, peakBytes, peakHeapUsedBytes, peakArrayBuffersBytes, samples, elapsedMs, pauses: result.pauses };
};

/** Two warm-up sessions, then one measured session per sampling; every byte must reach the consumer. */
export const backpressureRun = async (job: BackpressureJob): Promise<BackpressureReport> => {
  for (let i = 0; i < 2; i++) await piped(job, job.warmup, job.warmupBytes, `(d) ${job.side} warm-up`);
  const plain = await measure(job, 'plain');
  const live = await measure(job, 'live');
  return { side: job.side, bytes: job.expectedBytes, plain, live, maxRssKiB: process.resourceUsage().maxRSS };
};
