/** The results as a Markdown table (for BENCHMARKS.md) or JSON. */
import os from 'node:os';
import type { Sampling } from './backpressure.js';
import type { BackpressureLength, BackpressureResult, ConcurrentResult, FirstChunkResult, PerSide, ThroughputResult } from './scenarios.js';
import { count, fmt, median, MIB } from './stats.js';

export const TARGETS = {
  throughputRatio: 0.95,
  /** Issue 13 (issue 2 had set +0.3 ms). */
  firstChunkOverheadMs: 0.1,
  /** 1,000 concurrent sessions (issue 2). */
  rssRatio: 1.2,
  /** 10,000 concurrent sessions (issue 13). */
  loadWallRatio: 1.15,
  loadRssRatio: 1.1,
  consumerSlowdown: 10,
  peakGrowthMiB: 2,
} as const;

export interface Row {
  readonly figure: string;
  readonly ours: string;
  readonly raw: string;
  readonly ratio: string;
  readonly target: string;
  /** undefined: for information, no target. */
  readonly pass: boolean | undefined;
}

export interface Results {
  readonly throughput: ThroughputResult;
  readonly firstChunk: FirstChunkResult;
  readonly concurrent: readonly ConcurrentResult[];
  readonly backpressure: BackpressureResult;
}

export const machine = (): string => {
  const cpus = os.cpus();
  return `node ${process.version}, ${cpus.length} CPU${cpus.length === 1 ? '' : 's'} (${cpus[0]?.model.trim() ?? 'unknown'}), ${os.platform()} ${os.release()}, ${fmt(os.totalmem() / 1024 ** 3, 1)} GiB RAM`;
};

const ms = (value: number): string => `${fmt(value, 3)} ms`;
const x = (value: number): string => `${fmt(value, 2)}×`;

export const rows = ({ throughput: a, firstChunk: b, concurrent: cs, backpressure: d }: Results): Row[] => {
  const mbOurs = median(a.mbps.ours);
  const mbRaw = median(a.mbps.raw);
  const cpuOurs = median(a.cpuMs.ours);
  const cpuRaw = median(a.cpuMs.raw);
  const stream = `${fmt(a.bytes / MIB, 1)} MiB`;
  const overhead = b.median.ours - b.median.raw;
  const out: Row[] = [
    {
      figure: `(a) throughput, one ${stream} stream, 3,200-B frames (median of ${a.runs})`,
      ours: `${fmt(mbOurs, 1)} MB/s`,
      raw: `${fmt(mbRaw, 1)} MB/s`,
      ratio: x(mbOurs / mbRaw),
      target: `≥ ${TARGETS.throughputRatio}×`,
      pass: mbOurs / mbRaw >= TARGETS.throughputRatio,
    },
    {
      figure: `(a) client CPU time per ${stream} stream (median)`,
      ours: `${fmt(cpuOurs, 0)} ms`,
      raw: `${fmt(cpuRaw, 0)} ms`,
      ratio: x(cpuOurs / cpuRaw),
      target: '—',
      pass: undefined,
    },
    {
      figure: `(b) time to first chunk, median (${count(b.sessions)} sequential sessions)`,
      ours: ms(b.median.ours),
      raw: ms(b.median.raw),
      ratio: `+${fmt(overhead, 3)} ms`,
      target: `≤ +${TARGETS.firstChunkOverheadMs} ms`,
      pass: overhead <= TARGETS.firstChunkOverheadMs,
    },
    {
      figure: '(b) time to first chunk, p99',
      ours: ms(b.p99.ours),
      raw: ms(b.p99.raw),
      ratio: x(b.p99.ours / b.p99.raw),
      target: '—',
      pass: undefined,
    },
  ];
  for (const c of cs) {
    const n = count(c.sessions);
    const rounds = c.rounds > 1 ? `, median of ${c.rounds}` : '';
    out.push(
      {
        figure: `(c) ${n} concurrent sessions: completed`,
        ours: `${count(c.ok.ours)}/${n}`,
        raw: `${count(c.ok.raw)}/${n}`,
        ratio: '—',
        target: 'all',
        pass: c.ok.ours === c.sessions && c.ok.raw === c.sessions,
      },
      {
        figure: `(c) ${n} concurrent sessions: wall time${rounds}`,
        ours: `${fmt(c.wallMs.ours / 1000, 2)} s`,
        raw: `${fmt(c.wallMs.raw / 1000, 2)} s`,
        ratio: x(c.wallMs.ours / c.wallMs.raw),
        // Issue 13 sets the 10,000-session targets; 1,000 sessions are reported for information.
        target: c.sessions >= 10_000 ? `≤ ${TARGETS.loadWallRatio}×` : '—',
        pass: c.sessions >= 10_000 ? c.wallMs.ours / c.wallMs.raw <= TARGETS.loadWallRatio : undefined,
      },
      {
        figure: `(c) ${n} concurrent sessions: peak RSS of the client process${rounds}`,
        ours: `${fmt(c.maxRssKiB.ours / 1024, 1)} MiB`,
        raw: `${fmt(c.maxRssKiB.raw / 1024, 1)} MiB`,
        ratio: x(c.maxRssKiB.ours / c.maxRssKiB.raw),
        // Issue 2 sets the RSS target for 1,000 sessions, issue 13 the one for 10,000.
        target: c.sessions >= 10_000 ? `≤ ${TARGETS.loadRssRatio}×` : c.sessions <= 1_000 ? `≤ ${TARGETS.rssRatio}×` : '—',
        pass:
          c.sessions >= 10_000
            ? c.maxRssKiB.ours / c.maxRssKiB.raw <= TARGETS.loadRssRatio
            : c.sessions <= 1_000
              ? c.maxRssKiB.ours / c.maxRssKiB.raw <= TARGETS.rssRatio
              : undefined,
      },
      {
        figure: `(c) ${n} concurrent sessions: peak RSS above the idle process`,
        ours: `${fmt((c.maxRssKiB.ours - c.rssBeforeKiB.ours) / 1024, 1)} MiB`,
        raw: `${fmt((c.maxRssKiB.raw - c.rssBeforeKiB.raw) / 1024, 1)} MiB`,
        ratio: x((c.maxRssKiB.ours - c.rssBeforeKiB.ours) / (c.maxRssKiB.raw - c.rssBeforeKiB.raw)),
        target: '—',
        pass: undefined,
      },
      ...(c.listenOverflows === undefined
        ? []
        : [
            {
              figure: `(c) ${n} concurrent sessions: connects dropped by the emulator's full accept queue, all rounds (each retried by the kernel ≥ 1 s later)`,
              ours: count(c.listenOverflows.ours),
              raw: count(c.listenOverflows.raw),
              ratio: '—',
              target: '—',
              pass: undefined,
            },
          ]),
    );
  }
  out.push(...backpressureRows(d, { ours: mbOurs, raw: mbRaw }));
  return out;
};

const mib = (bytes: number, digits = 2): string => `${fmt(bytes / MIB, digits)} MiB`;
const signedMib = (bytes: number): string => `${bytes >= 0 ? '+' : '−'}${mib(Math.abs(bytes))}`;

/** (d), given (a)'s median rates (MB/s) as the producer's. */
const backpressureRows = (d: BackpressureResult, producerMBps: { readonly ours: number; readonly raw: number }): Row[] => {
  const consumer = d.consumerBytesPerSecond / 1e6;
  const slowdown = { ours: producerMBps.ours / consumer, raw: producerMBps.raw / consumer };
  const out: Row[] = [
    {
      figure: `(d) backpressure: producer rate ((a) median) ÷ consumer rate (${fmt(consumer, 0)} MB/s)`,
      ours: x(slowdown.ours),
      raw: x(slowdown.raw),
      ratio: '—',
      target: `≥ ${TARGETS.consumerSlowdown}×`,
      pass: slowdown.ours >= TARGETS.consumerSlowdown && slowdown.raw >= TARGETS.consumerSlowdown,
    },
  ];
  const short = d.lengths[0];
  const long = d.lengths[d.lengths.length - 1];
  const peaks = (sampling: Sampling, name: (length: BackpressureLength, first: boolean) => string): void => {
    d.lengths.forEach((length, i) => {
      const peak = length[sampling].peakBytes;
      out.push({ figure: name(length, i === 0), ours: mib(peak.ours), raw: mib(peak.raw), ratio: x(peak.ours / peak.raw), target: '—', pass: undefined });
    });
  };
  const growth = (sampling: Sampling): PerSide<number> | undefined =>
    short === undefined || long === undefined || short === long
      ? undefined
      : { ours: long[sampling].peakBytes.ours - short[sampling].peakBytes.ours, raw: long[sampling].peakBytes.raw - short[sampling].peakBytes.raw };
  const fromTo = short === undefined || long === undefined ? '' : `from the ${mib(short.bytes, 1)} to the ${mib(long.bytes, 1)} stream`;

  peaks('live', (length, first) =>
    first
      ? `(d) peak live memory above idle, ${mib(length.bytes, 1)} stream into the ${fmt(consumer, 0)} MB/s consumer (heapUsed + arrayBuffers, full GC before each ${d.sampleEveryMs}-ms sample)`
      : `(d) peak live memory above idle, ${mib(length.bytes, 1)} stream`,
  );
  const live = growth('live');
  if (live !== undefined) {
    out.push({
      figure: `(d) peak live memory growth ${fromTo}`,
      ours: signedMib(live.ours),
      raw: signedMib(live.raw),
      ratio: '—',
      target: `bounded: ours < ${TARGETS.peakGrowthMiB} MiB`,
      pass: live.ours < TARGETS.peakGrowthMiB * MIB,
    });
  }
  peaks('plain', (length, first) =>
    first
      ? `(d) peak heapUsed + arrayBuffers above idle, plain ${d.sampleEveryMs}-ms samples (uncollected garbage included), ${mib(length.bytes, 1)} stream`
      : `(d) peak heapUsed + arrayBuffers above idle, plain samples, ${mib(length.bytes, 1)} stream`,
  );
  const plain = growth('plain');
  if (plain !== undefined) {
    out.push({ figure: `(d) plain peak growth ${fromTo}`, ours: signedMib(plain.ours), raw: signedMib(plain.raw), ratio: '—', target: '—', pass: undefined });
  }
  if (long !== undefined) {
    const { elapsedMs, pauses } = long.live;
    out.push({
      figure: `(d) time to deliver the ${mib(long.bytes, 1)} stream (consumer-bound: ${fmt(long.bytes / d.consumerBytesPerSecond, 2)} s); socket pauses`,
      ours: `${fmt(elapsedMs.ours / 1000, 2)} s; ${count(pauses.ours)}`,
      raw: `${fmt(elapsedMs.raw / 1000, 2)} s; ${count(pauses.raw)}`,
      ratio: x(elapsedMs.ours / elapsedMs.raw),
      target: '—',
      pass: undefined,
    });
  }
  return out;
};

const verdict = (pass: boolean | undefined): string => (pass === undefined ? '' : pass ? 'pass' : '**MISS**');

export const markdown = (table: readonly Row[], results: Results, command: string, runtime: string): string => {
  const lines = [
    '| Figure | rx-sis-tts `synthesize$` | raw `ws` | ours / raw | Target | Result |',
    '|---|--:|--:|--:|:-:|:-:|',
    ...table.map((r) => `| ${r.figure} | ${r.ours} | ${r.raw} | ${r.ratio} | ${r.target} | ${verdict(r.pass)} |`),
    '',
    `Machine: ${machine()}. Command: \`${command}\` (${runtime}; emulator in its own process, fast mode, 127.0.0.1).`,
    '(d): ours is `toReadable((paused$) => client.synthesize$(request, { paused$ }))` piped with `pipeline` into the throttled `Writable`; raw is `ws` calling `pause()` when `write()` returns false and `resume()` on `drain`. ' +
      'Every byte reached the consumer (checked). "Live": a full GC before each sample; "plain": `process.memoryUsage()` as is, which includes garbage not yet collected.',
  ];
  const misses = table.filter((r) => r.pass === false);
  lines.push(
    misses.length === 0
      ? 'All targets met.'
      : `**${misses.length} target${misses.length === 1 ? '' : 's'} missed:** ${misses.map((r) => r.figure).join('; ')}.`,
  );
  const errors = results.concurrent.flatMap((c) => c.errors.map((e) => `${count(c.sessions)} concurrent, ${e}`));
  if (errors.length > 0) lines.push('', 'Errors:', ...errors.map((e) => `- ${e}`));
  return lines.join('\n');
};
