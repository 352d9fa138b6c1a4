/**
 * `npm run bench [-- --quick] [--json] [--no-10k] [--tsx] [--only synthesis|speak|warm|size|session|relay]`: the library's `synthesize$`
 * against a raw `ws` client doing the same sessions on one emulator (its own process, fast mode, 127.0.0.1):
 *   (a) throughput of one ~64 MiB stream in 3,200-byte frames,
 *   (b) time to first chunk over 1,000 sequential sessions,
 *   (c) 1,000 and 10,000 concurrent sessions (each side in its own process, three rounds each, the sides
 *       taking turns; medians): wall time and peak RSS, and the connects a full accept queue dropped,
 *   (d) backpressure: one ~8 MiB and one ~32 MiB stream piped into a consumer throttled to 20 MB/s
 *       (≥ 10× below (a), checked): peak heapUsed + arrayBuffers above the idle process, sampled
 *       every 10 ms after a full GC (live, must not grow with the length of the audio) and as is
 *       (garbage included); ours: `toReadable` with `paused$` and `pipeline`; raw: `ws` with
 *       `pause()` / `resume()` on the consumer's `write()` / `'drain'`.
 * (a) and (b) run in one worker process, alternating the sides; (c) and (d) run one process per side
 * and round (and, for (d), length).
 * Then (e), in a worker with an emulator of its own (30 ms handshake, 100 ms think time, real-time
 * pacing; see speak.ts): an LLM's tokens spoken by `speak$` (realtime and streaming), the naive
 * `concatMap(synthesize$)` over sentences, the whole text at once, and a raw `ws` streaming client:
 * time to first audio and the silent gaps between sentences. Printed as a second table;
 * `--only speak` (or `npm run bench:speak`) runs (e) alone.
 * Then (f), in a worker with an emulator in a thread of its own (50 ms handshake, 20 ms think time;
 * see warm.ts): time to first audio with and without warm connections (and raw `ws` baselines, cold
 * and on a socket opened beforehand) over sequential sessions, and sessions per second at steady load
 * with and without the pool. Printed as three more tables; `--only warm` (or `npm run bench:warm`) runs (f) alone.
 * Then (g), in this process (see size.ts): the browser build bundled by esbuild for three pages, minified
 * and gzipped, with what the bytes are made of; `--only size` runs (g) alone (and compiles nothing).
 * Then (h), one `node --expose-gc` child per side and run (see per-session.ts): what one session costs on a
 * fake socket, retained heap per live session and bytes allocated per session, for a client, the one-shot
 * `synthesize$` and a raw client, three runs each; `--only session` runs (h) alone.
 * Then (i), with an emulator, the proxy and the browsers each in a process of their own (see relay.ts):
 * `createSisRelay` against a naive raw `ws` proxy: time to first chunk (and direct to the emulator),
 * 1,000 concurrent sessions (wall time, the proxy's peak RSS, `stats()` after) and a slow reader
 * (the proxy's peak memory and bytes buffered); `--only relay` (or `npm run bench:relay`) runs (i) alone.
 * Everything runs the code compiled by tsc into bench/.out (`--tsx`: the sources through tsx).
 * Prints a Markdown table; exits 0 even when a target is missed (it is a measurement), 1 if the
 * benchmark itself could not run.
 */
import { parseArgs } from 'node:util';
import type { BenchRequest } from './clients.js';
import { compile, runWorker, startEmulatorProcess, stop, stopAll, useRuntime, type EmulatorProcess } from './processes.js';
import { machine, markdown, rows, TARGETS, type Results } from './report.js';
import { backpressure, concurrent, type ConcurrentResult } from './scenarios.js';
import type { SpeakJob, SpeakReport } from './speak.js';
import { SPEAK_TARGETS, speakMarkdown, speakRows } from './speak-report.js';
import type { WarmJob, WarmReport } from './warm.js';
import { WARM_TARGETS, warmMarkdown, warmRows } from './warm-report.js';
import { bundleSizes, sizeMarkdown } from './size.js';
import { perSession, perSessionMarkdown } from './per-session.js';
import { RELAY_JOBS, relayRun } from './relay.js';
import { relayChecks, relayMarkdown, relayRows } from './relay-report.js';
import { MIB } from './stats.js';
import type { SequentialJob, SequentialReport, SizeJob, SizeReport } from './worker.js';

const FRAME_BYTES = 3200;

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'no-10k': { type: 'boolean', default: false },
    tsx: { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (flags.help) {
  process.stdout.write('usage: npm run bench -- [--quick] [--json] [--no-10k] [--tsx] [--only synthesis|speak|warm|size|session|relay]\n');
  process.exit(0);
}
if (flags.only !== undefined && !['synthesis', 'speak', 'warm', 'size', 'session', 'relay'].includes(flags.only)) {
  process.stderr.write(
    `bench: --only takes 'synthesis' (the synthesize$ scenarios (a)–(d)), 'speak' (the LLM → speech scenario (e)), 'warm' (warm connections (f)), 'size' (the browser bundle (g)), 'session' (per-session cost (h)) or 'relay' (the relay (i)), not '${flags.only}'\n`,
  );
  process.exit(2);
}
const only = flags.only;
const quick = flags.quick;

/**
 * (a): 16 kHz PCM is 32,000 B/s and a CJK character is a 200 ms syllable at speed 0 (6,400 B).
 * speed -34 stretches it by 2^(34/500) to 6,708 B, so 10,000 characters (the default text limit of
 * both the client and the emulator) give 67,080,000 B ≈ 63.97 MiB. The exact size is checked with
 * `synthesizeAudio` before the run.
 */
const LONG_SOURCE = '语音合成服务把文字变成声音';
const longRequest = (chars: number): BenchRequest => ({
  text: Array.from({ length: chars }, (_, i) => LONG_SOURCE[i % LONG_SOURCE.length] ?? '语').join(''),
  sampleRate: 16000,
  voice: 'chinese_xiaoyan_common',
  speed: -34,
});
/** (b) and (c): two syllables at 8 kHz, 6,400 B in two frames. */
const SHORT: BenchRequest = { text: '你好', sampleRate: 8000, voice: 'chinese_xiaoyan_common', speed: 0 };
/**
 * (d): texts as (a), 6,708 B per character: 1,250 characters give 8,385,000 B (8.00 MiB), 5,000 give
 * 33,540,000 B (31.99 MiB); --quick: 312 (2.00 MiB) and 1,250. A 100-character session (0.64 MiB)
 * warms each worker up. The consumer takes 20 MB/s (10^6 B), at least 10× below what the emulator
 * delivers in (a), which the table checks.
 */
const CONSUMER_BYTES_PER_SECOND = 20e6;
const BACKPRESSURE_WARMUP_CHARS = 100;

const settings = quick
  ? { longChars: 2_500, throughputRuns: 3, sequential: 200, warmup: 20, loads: [{ sessions: 1_000, rounds: 1 }], backpressureChars: [312, 1_250] }
  : {
      longChars: 10_000,
      backpressureChars: [1_250, 5_000],
      throughputRuns: 7,
      sequential: 1_000,
      warmup: 100,
      loads: [{ sessions: 1_000, rounds: 3 }, ...(flags['no-10k'] ? [] : [{ sessions: 10_000, rounds: 3 }])],
    };
/** (e): five rounds of about 17 s (16 s of speech paced in real time); --quick: two. */
const speakJob: SpeakJob = { rounds: quick ? 2 : 5 };
/** (f): 200 rounds of four sequential sessions (about 40 s), then four 2-s load runs; --quick: 50 and 1 s. */
const warmJob: WarmJob = quick ? { sessions: 50, warmup: 5, loadMs: 1_000 } : { sessions: 200, warmup: 10, loadMs: 2_000 };
/** (h): 20,000 sessions held, then 20,000 run, three runs per side (about 2 minutes); --quick: 5,000 and one run. */
const perSessionJob = quick ? { runs: 1, sessions: 5_000, batch: 100, warmup: 1_000 } : { runs: 3, sessions: 20_000, batch: 100, warmup: 2_000 };
const extra = [
  quick ? '--quick' : '',
  flags['no-10k'] && !quick && only === undefined ? '--no-10k' : '',
  flags.tsx ? '--tsx' : '',
  only === undefined ? '' : `--only ${only}`,
].filter((f) => f !== '');
const command = `npm run bench${extra.length === 0 ? '' : ` -- ${extra.join(' ')}`}`;
useRuntime(flags.tsx ? 'tsx' : 'compiled');

let emulator: EmulatorProcess | undefined;
let stopping = false;
const interrupted = (): void => {
  stopping = true;
  process.stderr.write('bench: interrupted, stopping the emulator and workers\n');
  void stopAll().finally(() => process.exit(130));
};
process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);

/** (a)–(d), against one emulator process in fast mode. */
const synthesizeScenarios = async (): Promise<Results> => {
  const long = longRequest(settings.longChars);
  const sizeJob: SizeJob = { request: long };
  const size = await runWorker<SizeReport>(['size', JSON.stringify(sizeJob)], 120_000);
  if (!size.sameStart) throw new Error('the raw START JSON differs from the library’s');
  process.stderr.write(`bench: (a) stream of ${size.bytes} bytes (${(size.bytes / MIB).toFixed(2)} MiB)\n`);

  emulator = await startEmulatorProcess(FRAME_BYTES);
  process.stderr.write(`bench: emulator at ${emulator.url} (pid ${String(emulator.child.pid)})\n`);
  const target = { url: emulator.url, projectId: emulator.projectId, token: emulator.token };
  const job: SequentialJob = {
    target,
    long,
    expectedBytes: size.bytes,
    runs: settings.throughputRuns,
    short: SHORT,
    sessions: settings.sequential,
    warmup: settings.warmup,
  };
  const { throughput: a, firstChunk: b } = await runWorker<SequentialReport>(['sequential', JSON.stringify(job)], 600_000);
  const c: ConcurrentResult[] = [];
  for (const load of settings.loads) c.push(await concurrent(target, SHORT, load.sessions, load.rounds, load.sessions >= 5_000 ? 120_000 : 60_000));
  const d = await backpressure(target, settings.backpressureChars.map(longRequest), longRequest(BACKPRESSURE_WARMUP_CHARS), CONSUMER_BYTES_PER_SECOND, 1);
  await stop(emulator.child);
  emulator = undefined;
  return { throughput: a, firstChunk: b, concurrent: c, backpressure: d };
};

const main = async (): Promise<void> => {
  process.stderr.write(`bench: ${machine()}${quick ? ' (quick)' : ''}\n`);
  // (g) bundles the sources itself: nothing to compile when it runs alone.
  if (only !== 'size') await compile();
  const results = only === undefined || only === 'synthesis' ? await synthesizeScenarios() : undefined;
  const speak = only === undefined || only === 'speak' ? await runWorker<SpeakReport>(['speak', JSON.stringify(speakJob)], 300_000) : undefined;
  const warm = only === undefined || only === 'warm' ? await runWorker<WarmReport>(['warm', JSON.stringify(warmJob)], 300_000) : undefined;
  const size = only === undefined || only === 'size' ? await bundleSizes() : undefined;
  const { runs: perSessionRuns, ...perSessionSettings } = perSessionJob;
  const cost = only === undefined || only === 'session' ? await perSession(flags.tsx ? 'tsx' : 'compiled', perSessionRuns, perSessionSettings) : undefined;
  // (i): 300 sequential sessions per route, 1,000 concurrent three times per proxy, an 8 MiB slow reader (about 40 s); --quick: RELAY_JOBS.quick.
  const relay = only === undefined || only === 'relay' ? await relayRun(quick ? RELAY_JOBS.quick : RELAY_JOBS.full, flags.tsx ? 'tsx' : 'compiled') : undefined;
  const relayTable = relay === undefined ? undefined : relayRows(relay);
  const table = results === undefined ? undefined : rows(results);
  const speakTable = speak === undefined ? undefined : speakRows(speak);
  const warmTables = warm === undefined ? undefined : warmRows(warm);
  if (flags.json) {
    const synthesis = results === undefined ? {} : { targets: TARGETS, table, results };
    const e = speak === undefined ? {} : { speak: { targets: SPEAK_TARGETS, table: speakTable, results: speak } };
    const f = warm === undefined ? {} : { warm: { targets: WARM_TARGETS, tables: warmTables, results: warm } };
    const g = size === undefined ? {} : { size };
    const h = cost === undefined ? {} : { perSession: cost };
    const i = relay === undefined ? {} : { relay: { table: relayTable, checks: relayChecks(relay), results: relay } };
    process.stdout.write(
      `${JSON.stringify({ machine: machine(), command, runtime: flags.tsx ? 'tsx' : 'compiled', ...synthesis, ...e, ...f, ...g, ...h, ...i }, null, 2)}\n`,
    );
  } else {
    const how = `${flags.tsx ? 'sources run through tsx' : 'library compiled by tsc'}${quick ? '; --quick: smaller counts, figures indicative only' : ''}`;
    const tables = [
      ...(results === undefined || table === undefined ? [] : [markdown(table, results, command, how)]),
      ...(speak === undefined || speakTable === undefined ? [] : [speakMarkdown(speak, speakTable, command, how)]),
      ...(warm === undefined || warmTables === undefined ? [] : [warmMarkdown(warm, warmTables, command, how)]),
      ...(size === undefined ? [] : [sizeMarkdown(size, command)]),
      ...(cost === undefined ? [] : [perSessionMarkdown(cost, command, how)]),
      ...(relay === undefined || relayTable === undefined ? [] : [relayMarkdown(relay, relayTable, command, how)]),
    ];
    process.stdout.write(`${tables.join('\n\n')}\n`);
  }
};

try {
  await main();
} catch (error) {
  if (stopping) await new Promise<never>(() => undefined); // the signal handler exits
  process.stderr.write(`bench: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
} finally {
  if (emulator !== undefined) await stop(emulator.child);
  await stopAll();
}
// Sockets in their closing handshake must not keep a finished run alive.
process.exit(process.exitCode ?? 0);
