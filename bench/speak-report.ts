/** (e) LLM → speech as a Markdown table: medians over the rounds, gap quantiles over every boundary of every round. */
import { machine } from './report.js';
import { SPEAK_METHODS, SPEAK_SETTINGS, type SpeakMethod, type SpeakReport, type SpeakRun } from './speak.js';
import { fmt, median, quantile } from './stats.js';

/** Issue 9: first audio within 5 ms of ready + handshake + think time; gap p95 ≤ 5 ms in realtime mode. */
export const SPEAK_TARGETS = { firstAudioSlackMs: 5, gapP95Ms: 5 } as const;

const LABELS: Record<SpeakMethod, string> = {
  realtime: "`speak$` api 'realtime', lookahead 2",
  streaming: "`speak$` api 'streaming'",
  naive: 'naive: `sentences()` + `concatMap((s) => client.synthesize$({ text: s }))`',
  whole: 'whole text first, then one `synthesize$`',
  'raw-streaming': 'raw `ws`, streaming API by hand (START, a MSG per sentence, END)',
  'raw-realtime': 'raw `ws`, one real-time session opened when the first sentence is ready (first audio only)',
};

/** The raw client each method's first audio is compared with: the same API, the same moment of connecting. */
const BASELINE: Record<SpeakMethod, SpeakMethod | undefined> = {
  realtime: 'raw-realtime',
  naive: 'raw-realtime',
  streaming: 'raw-streaming',
  whole: undefined,
  'raw-streaming': undefined,
  'raw-realtime': undefined,
};

/** Methods with a first-audio target, and the one with a gap target. */
const FIRST_AUDIO_TARGET: readonly SpeakMethod[] = ['realtime', 'streaming'];
const GAP_TARGET: readonly SpeakMethod[] = ['realtime'];

export interface SpeakRow {
  readonly method: SpeakMethod;
  readonly label: string;
  readonly readyMs: number;
  readonly firstAudioMs: number;
  /** Median over rounds of first audio − ready. */
  readonly afterReadyMs: number;
  /** Median over rounds of first audio − the same API's raw client's in the same round (NaN: none to compare with). */
  readonly vsRawMs: number;
  readonly gapMs: { readonly p50: number; readonly p95: number; readonly max: number; readonly boundaries: number };
  readonly silenceMs: number;
  readonly firstAudioPass: boolean | undefined;
  readonly gapPass: boolean | undefined;
}

const ms = (value: number, digits = 1): string => `${fmt(value, digits)} ms`;

export const speakRows = (report: SpeakReport): SpeakRow[] => {
  const budget = SPEAK_SETTINGS.handshakeDelayMs + SPEAK_SETTINGS.firstAudioDelayMs + SPEAK_TARGETS.firstAudioSlackMs;
  return SPEAK_METHODS.map((method) => {
    const runs: readonly SpeakRun[] = report.runs[method];
    const baseline = BASELINE[method];
    const raw: readonly SpeakRun[] = baseline === undefined ? [] : report.runs[baseline];
    const gaps = runs.flatMap((r) => r.boundaryGapsMs);
    const afterReadyMs = median(runs.map((r) => r.firstAudioMs - r.readyMs));
    const gapMs = { p50: quantile(gaps, 0.5), p95: quantile(gaps, 0.95), max: quantile(gaps, 1), boundaries: gaps.length };
    return {
      method,
      label: LABELS[method],
      readyMs: median(runs.map((r) => r.readyMs)),
      firstAudioMs: median(runs.map((r) => r.firstAudioMs)),
      afterReadyMs,
      vsRawMs: baseline === undefined ? Number.NaN : median(runs.map((r, i) => r.firstAudioMs - (raw[i]?.firstAudioMs ?? Number.NaN))),
      gapMs,
      silenceMs: median(runs.flatMap((r) => (r.silenceMs === undefined ? [] : [r.silenceMs]))),
      firstAudioPass: FIRST_AUDIO_TARGET.includes(method) ? afterReadyMs <= budget : undefined,
      gapPass: GAP_TARGET.includes(method) ? gapMs.p95 <= SPEAK_TARGETS.gapP95Ms : undefined,
    };
  });
};

const verdict = (...passes: (boolean | undefined)[]): string => {
  const judged = passes.filter((p) => p !== undefined);
  return judged.length === 0 ? '' : judged.every((p) => p) ? 'pass' : '**MISS**';
};

export const speakMarkdown = (report: SpeakReport, rows: readonly SpeakRow[], command: string, runtime: string): string => {
  const { handshakeDelayMs: handshake, firstAudioDelayMs: think, tokenEveryMs, frameBytes, sampleRate } = SPEAK_SETTINGS;
  const budget = handshake + think + SPEAK_TARGETS.firstAudioSlackMs;
  const boundaries = rows[0]?.gapMs.boundaries ?? 0;
  const lines = [
    `| (e) LLM tokens → speech, median of ${report.rounds} rounds | first sentence ready | first audio | first audio − ready | target | first audio − raw's, same API | silent gap at a sentence boundary p50 / p95 / max | target | silence after first audio, total | Result |`,
    '|---|--:|--:|--:|:-:|--:|--:|:-:|--:|:-:|',
    ...rows.map((r) => {
      const gapTarget = r.gapPass === undefined ? '—' : `p95 ≤ ${SPEAK_TARGETS.gapP95Ms} ms`;
      const firstTarget = r.firstAudioPass === undefined ? '—' : `≤ ${budget} ms`;
      const vsRaw = Number.isNaN(r.vsRawMs) ? '—' : `${r.vsRawMs >= 0 ? '+' : '−'}${ms(Math.abs(r.vsRawMs))}`;
      const gaps = r.gapMs.boundaries === 0 ? '—' : `${ms(r.gapMs.p50)} / ${ms(r.gapMs.p95)} / ${ms(r.gapMs.max)}`;
      const silence = Number.isNaN(r.silenceMs) ? '—' : ms(r.silenceMs);
      return `| ${r.label} | ${ms(r.readyMs)} | ${ms(r.firstAudioMs)} | ${ms(r.afterReadyMs)} | ${firstTarget} | ${vsRaw} | ${gaps} | ${gapTarget} | ${silence} | ${verdict(r.firstAudioPass, r.gapPass)} |`;
    }),
    '',
    `Machine: ${machine()}. Command: \`${command}\` (${runtime}; emulator in the worker's process, 127.0.0.1: ${handshake} ms handshake, ${think} ms think time, ` +
      `real-time pacing, ${frameBytes}-B frames = ${fmt((frameBytes / (sampleRate * 2)) * 1000, 0)} ms of ${sampleRate / 1000} kHz PCM).`,
    `Input: ${report.characters} characters (${report.sentences} sentences, ${fmt(report.audioMs / 1000, 1)} s of speech) in tokens of 1–4 characters every ${tokenEveryMs} ms ` +
      `(${Math.min(...report.tokens)}–${Math.max(...report.tokens)} tokens, seeded per round); the six clients run side by side, each on its own copy of the tokens. ` +
      `Gaps: ${boundaries} boundaries per method (all rounds); event-loop delay over the rounds p99 ${ms(report.loopDelayMs.p99)}, max ${ms(report.loopDelayMs.max)}.`,
  ];
  const misses = rows.flatMap((r) => [
    ...(r.firstAudioPass === false ? [`${r.label}: first audio ${ms(r.afterReadyMs)} after ready (target ≤ ${budget} ms)`] : []),
    ...(r.gapPass === false ? [`${r.label}: gap p95 ${ms(r.gapMs.p95)} (target ≤ ${SPEAK_TARGETS.gapP95Ms} ms)`] : []),
  ]);
  lines.push(misses.length === 0 ? 'All targets met.' : `**${misses.length} target${misses.length === 1 ? '' : 's'} missed:** ${misses.join('; ')}.`);
  return lines.join('\n');
};
