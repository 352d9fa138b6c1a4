/**
 * (f) Warm connections as Markdown: sequential time to first audio (with the target), where the time
 * over the think time goes, and sessions per second under load.
 */
import { machine } from './report.js';
import { count, fmt, median, quantile } from './stats.js';
import { LOAD_METHODS, WARM_METHODS, WARM_SETTINGS, type LoadMethod, type LoadResult, type Timing, type WarmMethod, type WarmReport } from './warm.js';

/**
 * Issue 10: warm time to first audio minus think time ≤ 1 ms at the median, ≤ 3 ms at p99. The think
 * time subtracted is the one the emulator spent (its timer set → fired, in its thread): its timer fires
 * up to a millisecond late (libuv's timers count whole milliseconds), and that lateness is the
 * server's, not the client's. The nominal figure (first audio − 20 ms) is printed beside it.
 */
export const WARM_TARGETS = { overThinkMedianMs: 1, overThinkP99Ms: 3 } as const;

const LABELS: Record<WarmMethod, string> = {
  warm: `\`client.events$\`, warm (\`warm: { size: ${WARM_SETTINGS.poolSize} }\`, pool full)`,
  'raw-warm': 'raw `ws` on a socket opened beforehand (ideal warm baseline)',
  cold: '`client.events$`, cold (no `warm`)',
  'raw-cold': 'raw `ws`, cold (baseline)',
};

/** The raw client each method is compared with. */
const BASELINE: Record<WarmMethod, WarmMethod | undefined> = { warm: 'raw-warm', cold: 'raw-cold', 'raw-warm': undefined, 'raw-cold': undefined };

const LOAD_LABELS: Record<LoadMethod, string> = {
  'raw-cold': 'raw `ws`, cold',
  cold: '`client.events$`, no pool',
  'warm-small': `\`client.events$\`, \`warm: { size: ${WARM_SETTINGS.poolSize} }\``,
  'warm-large': `\`client.events$\`, \`warm: { size: ${WARM_SETTINGS.loadPoolSize} }\``,
};

interface P50P99 {
  readonly p50: number;
  readonly p99: number;
}

export interface WarmRow {
  readonly method: WarmMethod;
  readonly label: string;
  readonly firstAudioMs: P50P99;
  /** First audio − the nominal think time. */
  readonly overThinkMs: P50P99;
  /** First audio − the think time the emulator spent (its timer set → fired): what the target is checked on. */
  readonly overSpentThinkMs: P50P99;
  /** Median first audio − the baseline's (NaN: none). */
  readonly vsBaselineMs: number;
  /** Median first audio ÷ the baseline's (NaN: none). */
  readonly vsBaselineRatio: number;
  /** Where the time over the think time goes, per session. */
  readonly parts: {
    /** Subscription (raw cold: the socket's creation; raw warm: the session's start) → `send(START)` called: the client's own work. */
    readonly toStartSent: P50P99;
    /** `send(START)` called → the emulator's 'message' event for it: framing, the write, loopback, the emulator thread waking up and reading it. */
    readonly toStartReceived: P50P99;
    /** The emulator handling START until its think-time timer is set (checks, synthesis, the START response). */
    readonly toTimerSet: P50P99;
    /** The timer fired after think time + this. */
    readonly timerLate: P50P99;
    /** The timer fired → the first audio delivered: the emulator writing the frame, loopback, the client reading and delivering it. */
    readonly toFirstAudio: P50P99;
    /** Sessions whose timer was found (all, unless the clocks could not be aligned). */
    readonly matched: number;
  };
  readonly pass: boolean | undefined;
}

export interface LoadRow extends LoadResult {
  readonly label: string;
  /** Sessions per second ÷ the library's without a pool. */
  readonly vsNoPool: number;
}

export interface WarmTables {
  readonly sequential: WarmRow[];
  readonly load: LoadRow[];
}

const p = (values: readonly number[]): P50P99 => {
  const known = values.filter((v) => !Number.isNaN(v));
  return { p50: quantile(known, 0.5), p99: quantile(known, 0.99) };
};

export const warmRows = (report: WarmReport): WarmTables => {
  const think = WARM_SETTINGS.firstAudioDelayMs;
  const sequential = WARM_METHODS.map((method): WarmRow => {
    const runs: readonly Timing[] = report.timings[method];
    const baseline = BASELINE[method];
    const firstAudio = runs.map((t) => t.firstAudioMs);
    const base = baseline === undefined ? [] : report.timings[baseline].map((t) => t.firstAudioMs);
    const overThinkMs = p(firstAudio.map((f) => f - think));
    const set = (t: Timing): number => t.timerSetMs ?? Number.NaN;
    const fired = (t: Timing): number => t.timerFiredMs ?? Number.NaN;
    const overSpentThinkMs = p(runs.map((t) => t.firstAudioMs - (fired(t) - set(t))));
    return {
      method,
      label: LABELS[method],
      firstAudioMs: p(firstAudio),
      overThinkMs,
      overSpentThinkMs,
      vsBaselineMs: baseline === undefined ? Number.NaN : median(firstAudio) - median(base),
      vsBaselineRatio: baseline === undefined ? Number.NaN : median(firstAudio) / median(base),
      parts: {
        toStartSent: p(runs.map((t) => t.startSentMs)),
        toStartReceived: p(runs.map((t) => (t.startReceivedMs ?? Number.NaN) - t.startSentMs)),
        toTimerSet: p(runs.map((t) => set(t) - (t.startReceivedMs ?? Number.NaN))),
        timerLate: p(runs.map((t) => fired(t) - set(t) - think)),
        toFirstAudio: p(runs.map((t) => t.firstAudioMs - fired(t))),
        matched: runs.filter((t) => !Number.isNaN(set(t))).length,
      },
      pass: method === 'warm' ? overSpentThinkMs.p50 <= WARM_TARGETS.overThinkMedianMs && overSpentThinkMs.p99 <= WARM_TARGETS.overThinkP99Ms : undefined,
    };
  });
  const noPool = report.load.find((r) => r.method === 'cold')?.perSecond ?? Number.NaN;
  const load = LOAD_METHODS.flatMap((method) => {
    const result = report.load.find((r) => r.method === method);
    return result === undefined ? [] : [{ ...result, label: LOAD_LABELS[method], vsNoPool: result.perSecond / noPool }];
  });
  return { sequential, load };
};

const ms = (value: number, digits = 2): string => `${fmt(value, digits)} ms`;
const both = (value: P50P99): string => `${ms(value.p50)} / ${ms(value.p99)}`;
const signed = (value: number): string => `${value >= 0 ? '+' : '−'}${ms(Math.abs(value))}`;
const verdict = (pass: boolean | undefined): string => (pass === undefined ? '' : pass ? 'pass' : '**MISS**');

export const warmMarkdown = (report: WarmReport, tables: WarmTables, command: string, runtime: string): string => {
  const { handshakeDelayMs: handshake, firstAudioDelayMs: think, lanes } = WARM_SETTINGS;
  const target = `≤ ${WARM_TARGETS.overThinkMedianMs} ms / ≤ ${WARM_TARGETS.overThinkP99Ms} ms`;
  const byMethod = new Map(tables.sequential.map((r) => [r.method, r]));
  const warm = byMethod.get('warm');
  const cold = byMethod.get('cold');
  const rawWarm = byMethod.get('raw-warm');
  const { pool, loopDelayMs, gc, clock } = report;
  const matched = Math.min(...tables.sequential.map((r) => r.parts.matched));
  const lines = [
    `| (f) Time to first audio, ${count(report.sessions)} sequential sessions each | median | p99 | − think time (${think} ms), median / p99 | − think time as the emulator spent it, median / p99 | target | vs raw baseline, median | Result |`,
    '|---|--:|--:|--:|--:|:-:|--:|:-:|',
    ...tables.sequential.map((r) => {
      const vs = Number.isNaN(r.vsBaselineMs) ? '—' : `${signed(r.vsBaselineMs)} (${fmt(r.vsBaselineRatio, 3)}×)`;
      return `| ${r.label} | ${ms(r.firstAudioMs.p50)} | ${ms(r.firstAudioMs.p99)} | ${both(r.overThinkMs)} | ${both(r.overSpentThinkMs)} | ${r.pass === undefined ? '—' : target} | ${vs} | ${verdict(r.pass)} |`;
    }),
    ...(warm === undefined || cold === undefined
      ? []
      : [
          `| cold → warm, \`client.events$\` | −${ms(cold.firstAudioMs.p50 - warm.firstAudioMs.p50)} | −${ms(cold.firstAudioMs.p99 - warm.firstAudioMs.p99)} | ` +
            `${fmt(cold.firstAudioMs.p50 / warm.firstAudioMs.p50, 2)}× faster at the median | — | — | — | |`,
        ]),
    '',
    `| (f) Where the first audio's time goes, median / p99 | subscription → \`send(START)\` called | → START received by the emulator | emulator: START received → think timer set | think timer fired late by | timer fired → first audio delivered | first audio − think time |`,
    '|---|--:|--:|--:|--:|--:|--:|',
    ...tables.sequential.map(
      (r) =>
        `| ${r.label} | ${both(r.parts.toStartSent)} | ${both(r.parts.toStartReceived)} | ${both(r.parts.toTimerSet)} | ${both(r.parts.timerLate)} | ${both(r.parts.toFirstAudio)} | ${both(r.overThinkMs)} |`,
    ),
    '',
    `| (f) Steady load: ${lanes} lanes of back-to-back sessions, ${fmt(report.loadMs / 1000, 1)} s window | sessions/s | vs no pool | first audio p50 / p99 | pool hits / misses in the window |`,
    '|---|--:|--:|--:|--:|',
    ...tables.load.map(
      (r) =>
        `| ${r.label} | ${fmt(r.perSecond, 1)} | ${fmt(r.vsNoPool, 2)}× | ${both(r.firstAudioMs)} | ${r.pool === undefined ? '—' : `${count(r.pool.hits)} / ${count(r.pool.misses)}`} |`,
    ),
    '',
    `Machine: ${machine()}. Command: \`${command}\` (${runtime}; emulator in a worker thread of the client's process, 127.0.0.1: ${handshake} ms handshake, ${think} ms think time, fast mode).`,
    `Each session: '你好', 8 kHz PCM, 6,400 B in two frames, to END. Part 1 runs the four one after the other each round (${count(report.sessions)} rounds after a warm-up); ` +
      `the warm client's pool over them: ${count(pool.hits)} hits, ${count(pool.misses)} misses, ${count(pool.expired)} expired, ${count(pool.lost)} lost, ${count(pool.failed)} failed. ` +
      `Event-loop delay over part 1, p50 / p99 / max: client ${ms(loopDelayMs.client.p50)} / ${ms(loopDelayMs.client.p99)} / ${ms(loopDelayMs.client.max)}, ` +
      `emulator ${ms(loopDelayMs.emulator.p50)} / ${ms(loopDelayMs.emulator.p99)} / ${ms(loopDelayMs.emulator.max)} (1 ms resolution: 1 ms is no delay); ` +
      `garbage collections, count / longest: client ${count(gc.client.count)} / ${ms(gc.client.maxMs)}, emulator ${count(gc.emulator.count)} / ${ms(gc.emulator.maxMs)}. ` +
      `The emulator's think timer is timed in its thread; the two threads' clocks are aligned to ±${ms(clock.uncertaintyMs, 3)} ` +
      `(${matched === report.sessions ? 'every session matched to its timer' : `${count(matched)} of ${count(report.sessions)} sessions matched to their timer`}).`,
  ];
  const misses = tables.sequential.flatMap((r) =>
    r.pass === false
      ? [
          `${r.label}: first audio − think time as spent ${both(r.overSpentThinkMs)} (target ${target}); ` +
            `the raw client on an open socket: ${rawWarm === undefined ? '—' : both(rawWarm.overSpentThinkMs)}`,
        ]
      : [],
  );
  lines.push(misses.length === 0 ? 'All targets met.' : `**${misses.length} target${misses.length === 1 ? '' : 's'} missed:** ${misses.join('; ')}.`);
  return lines.join('\n');
};
