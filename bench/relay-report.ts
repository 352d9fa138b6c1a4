/** (i) The relay as a Markdown table (figure | relay | baseline proxy | ratio) and its checks. */
import { machine } from './report.js';
import { RELAY_BENCH, RELAY_SHORT, type ConcurrentRound, type PerProxy, type ProxyKind, type RelayReport, type SlowReaderRun } from './relay.js';
import { count, fmt, median, MIB } from './stats.js';

export interface RelayRow {
  readonly figure: string;
  readonly relay: string;
  readonly baseline: string;
  /** relay ÷ baseline ('—': not a ratio). */
  readonly ratio: string;
}

/** What must hold for the figures to mean anything; each failure is named under the table. */
export interface RelayChecks {
  /** Every concurrent session, through either proxy, ended normally. */
  readonly allOk: boolean;
  /** The relay held no session once its browsers were gone (`stats().sessions` 0). */
  readonly relayIdleAfter: boolean;
  /** The slow reader's relay never had more than its high-water mark and one read (64 KiB) waiting for the browser. */
  readonly relayBounded: boolean;
}

const ms = (value: number): string => `${fmt(value, 3)} ms`;
const signed = (value: number): string => `${value >= 0 ? '+' : '−'}${ms(Math.abs(value))}`;
const mib = (bytes: number): string => `${fmt(bytes / MIB, 2)} MiB`;
/** A ratio; '—' where it has no meaning (nothing to divide by). */
const x = (value: number): string => (Number.isFinite(value) ? `${fmt(value, 2)}×` : '—');

const per = <T>(rounds: readonly T[], kind: (round: T) => ProxyKind, pick: (round: T) => number, combine: (values: number[]) => number): PerProxy<number> => ({
  relay: combine(rounds.filter((r) => kind(r) === 'relay').map(pick)),
  baseline: combine(rounds.filter((r) => kind(r) === 'baseline').map(pick)),
});
const concurrentFigure = (rounds: readonly ConcurrentRound[], pick: (round: ConcurrentRound) => number, combine = median): PerProxy<number> =>
  per(rounds, (r) => r.proxy, pick, combine);
const slowFigure = (runs: readonly SlowReaderRun[], pick: (run: SlowReaderRun) => number): PerProxy<number> => per(runs, (r) => r.proxy, pick, median);

/** A row of two figures and their ratio. */
const row = (figure: string, values: PerProxy<number>, show: (value: number) => string): RelayRow => ({
  figure,
  relay: show(values.relay),
  baseline: show(values.baseline),
  ratio: x(values.relay / values.baseline),
});

const READ_SLACK_BYTES = 64 * 1024;

export const relayChecks = (report: RelayReport): RelayChecks => ({
  allOk: report.concurrent.every((r) => r.ok === r.sessions),
  relayIdleAfter: report.concurrent.every((r) => r.proxy !== 'relay' || (r.relayStats?.sessions === 0 && r.openAfter === 0)),
  relayBounded: report.slowReader.every((r) => r.proxy !== 'relay' || r.maxBufferedBytes <= RELAY_BENCH.relayHighWaterMark + READ_SLACK_BYTES),
});

export const relayRows = (report: RelayReport): RelayRow[] => {
  const { firstChunk, concurrent, slowReader, job } = report;
  const { direct, relay, baseline } = firstChunk.figures;
  const sessions = count(firstChunk.sessions);
  const load = count(job.concurrent);
  const rounds = `${job.rounds} round${job.rounds === 1 ? '' : 's'}`;
  const lastRelay = [...concurrent].reverse().find((r) => r.proxy === 'relay');
  const lastBaseline = [...concurrent].reverse().find((r) => r.proxy === 'baseline');
  const stats = lastRelay?.relayStats;
  const slowBytes = slowReader[0]?.bytes ?? Number.NaN;
  const slow = `slow reader, ${mib(slowBytes)} at ${fmt(job.readerBytesPerSecond / 1e6, 1)} MB/s`;
  const peak = concurrentFigure(concurrent, (r) => r.maxRssKiB * 1024);
  const before = concurrentFigure(concurrent, (r) => r.rssBeforeKiB * 1024);
  const ok = concurrentFigure(
    concurrent,
    (r) => r.ok,
    (values) => Math.min(...values),
  );
  return [
    {
      figure: `(i) time to first chunk, median (${sessions} sequential sessions per route; direct to the emulator: ${ms(direct.median)})`,
      relay: ms(relay.median),
      baseline: ms(baseline.median),
      ratio: x(relay.median / baseline.median),
    },
    {
      figure: `(i) time to first chunk, p99 (direct: ${ms(direct.p99)})`,
      relay: ms(relay.p99),
      baseline: ms(baseline.p99),
      ratio: x(relay.p99 / baseline.p99),
    },
    {
      figure: '(i) added by the proxy: median − direct',
      relay: signed(relay.median - direct.median),
      baseline: signed(baseline.median - direct.median),
      ratio: x((relay.median - direct.median) / (baseline.median - direct.median)),
    },
    {
      figure: '(i) relay − baseline proxy, median / p99',
      relay: `${signed(relay.median - baseline.median)} / ${signed(relay.p99 - baseline.p99)}`,
      baseline: '—',
      ratio: '—',
    },
    row(
      `(i) ${load} concurrent sessions: wall time (median of ${rounds})`,
      concurrentFigure(concurrent, (r) => r.wallMs),
      (v) => `${fmt(v / 1000, 2)} s`,
    ),
    row(`(i) ${load} concurrent: the proxy process's peak RSS (median of ${rounds})`, peak, mib),
    row(
      `(i) ${load} concurrent: peak RSS above the idle proxy (after 100 warm-up sessions), per session`,
      { relay: (peak.relay - before.relay) / job.concurrent, baseline: (peak.baseline - before.baseline) / job.concurrent },
      (v) => `${fmt(v / 1024, 1)} KiB`,
    ),
    {
      figure: `(i) ${load} concurrent: sessions that ended normally (worst round)`,
      relay: `${count(ok.relay)} / ${load}`,
      baseline: `${count(ok.baseline)} / ${load}`,
      ratio: '—',
    },
    {
      figure: '(i) once the browsers were gone (last round): `relay.stats()` / connections open',
      relay:
        stats === undefined
          ? 'n/a'
          : `sessions ${count(stats.sessions)}, accepted ${count(stats.accepted)}, refused ${count(Object.values(stats.refused).reduce((a, b) => a + b, 0))}, upstream failures ${count(stats.upstreamFailures)}, buffered ${count(stats.bufferedBytes)} B`,
      baseline: lastBaseline === undefined ? 'n/a' : `${count(lastBaseline.openAfter)} open`,
      ratio: '—',
    },
    row(
      `(i) ${slow}: the proxy's peak heapUsed + arrayBuffers above idle (sampled every ${RELAY_BENCH.sampleEveryMs} ms${slowReader.every((r) => r.collected) ? ' after a full GC' : ', as is'})`,
      slowFigure(slowReader, (r) => r.peakBytes),
      mib,
    ),
    row(
      `(i) ${slow}: most bytes waiting to be written to the browser (relay: \`stats().bufferedBytes\`; baseline: \`bufferedAmount\`)`,
      slowFigure(slowReader, (r) => r.maxBufferedBytes),
      mib,
    ),
    row(
      `(i) ${slow}: time to read it all`,
      slowFigure(slowReader, (r) => r.elapsedMs),
      (v) => `${fmt(v / 1000, 2)} s (${fmt(slowBytes / 1e6 / (v / 1000), 2)} MB/s)`,
    ),
  ];
};

export const relayMarkdown = (report: RelayReport, rows: readonly RelayRow[], command: string, runtime: string): string => {
  const checks = relayChecks(report);
  const failures = [
    ...(checks.allOk
      ? []
      : [`not every concurrent session ended normally (${report.concurrent.map((r) => `${r.proxy}: ${r.firstError ?? 'ok'}`).join('; ')})`]),
    ...(checks.relayIdleAfter ? [] : ['the relay still held sessions once its browsers were gone']),
    ...(checks.relayBounded
      ? []
      : [`the relay had more than its high-water mark (${mib(RELAY_BENCH.relayHighWaterMark)}) and one read (64 KiB) waiting for the slow browser`]),
  ];
  return [
    '| (i) Relay: figure | relay | baseline proxy | ratio |',
    '|---|--:|--:|--:|',
    ...rows.map((r) => `| ${r.figure} | ${r.relay} | ${r.baseline} | ${r.ratio} |`),
    '',
    `Machine: ${machine()}. Command: \`${command}\` (${runtime}; the emulator, the proxy and the browsers each in a process of their own, 127.0.0.1, emulator in fast mode).`,
    `relay: \`createSisRelay\` on a \`node:http\` server (authorize reads a header, \`origins: ['*']\`, default limits: ${count(report.users)} users × 4 sessions for the concurrent run); ` +
      'baseline: a raw `ws` proxy adding the token header and piping frames both ways, with no checks, no limits and no flow control. ' +
      `Parts 1 and 2: the library's \`synthesize$\` with \`auth: 'relay'\` ('${RELAY_SHORT.text}', ${RELAY_SHORT.sampleRate / 1000} kHz, 6,400 B in two frames; direct: with the token), the routes taking turns after ${count(report.job.warmup)} warm-up sessions each; ` +
      'part 2 starts a fresh proxy process per round and counts from the first session to the last END. ' +
      `Part 3: a raw \`ws\` browser pausing its socket to read at ${fmt(report.job.readerBytesPerSecond / 1e6, 1)} MB/s; the relay pauses the service's socket above ${mib(RELAY_BENCH.relayHighWaterMark)} waiting, the baseline never does (what the kernel's socket buffers hold is in neither figure).`,
    failures.length === 0
      ? 'Every session ended normally, the relay was idle once its browsers were gone, and its buffer stayed bounded.'
      : `**Check failed:** ${failures.join('; ')}.`,
  ].join('\n');
};
