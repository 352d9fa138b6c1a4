/**
 * Where the client's CPU time goes in (c)'s concurrent load: `npx tsx bench/profile.ts [--sessions 10000]
 * [--dir .tmp/profiles] [--tsx]` (no npm script needed). Compiles into bench/.out as the bench does,
 * starts the emulator in its own process (fast mode, 127.0.0.1), then runs (c)'s worker once per side
 * (ours: the one-shot `synthesize$`; raw: `ws` by hand) under `node --cpu-prof`, and prints, per side,
 * from its .cpuprofile (kept in `--dir`, for Chrome DevTools or speedscope):
 *  - self time by area of the code (lib/<folder>, each package, node internals, GC, idle);
 *  - the same busy time charged to the nearest lib/ (or bench/) function on the stack, so that what
 *    rxjs, io-ts and V8's builtins do for the session counts for the part of the library that asked;
 *  - the top functions by self time.
 * The profile covers the worker's whole life: module loading and the 100 warm-up sessions (a few % of it) too.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Side, Target } from './clients.js';
import { areaOf } from './per-session.js';
import { compile, ROOT, runWorker, startEmulatorProcess, stop, stopAll, useRuntime } from './processes.js';
import { machine } from './report.js';
import { fmt } from './stats.js';
import type { ConcurrentJob, ConcurrentReport } from './worker.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface CpuNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
/** The part of a V8 .cpuprofile read here. */
interface CpuProfile {
  readonly nodes: readonly CpuNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Time of one function or area, ms. */
export interface TimeShare {
  readonly name: string;
  readonly ms: number;
}

export interface ProfileSummary {
  readonly side: Side;
  readonly totalMs: number;
  /** Everything but `(idle)`. */
  readonly busyMs: number;
  readonly byArea: readonly TimeShare[];
  readonly byCaller: readonly TimeShare[];
  readonly topFunctions: readonly TimeShare[];
  /** Every function's self time, for the differences between the sides. */
  readonly functions: readonly TimeShare[];
}

const shortUrl = (url: string): string => {
  const path = url.replaceAll('\\', '/');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length);
  const out = path.indexOf('/bench/.out/');
  if (out >= 0) return path.slice(out + '/bench/.out/'.length);
  const root = path.indexOf(ROOT.replaceAll('\\', '/'));
  return root >= 0 ? path.slice(root + ROOT.length) : path;
};

const functionKey = (frame: CallFrame): string =>
  frame.url === '' ? frame.functionName || '(anonymous)' : `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;

/** The code the library (or the raw client, in bench/) is made of: what busy time is charged to. */
const callerArea = (frame: CallFrame): string | undefined => {
  const area = areaOf(frame.url, frame.functionName);
  return area.startsWith('lib/') || area.startsWith('bench') ? area : undefined;
};

const sorted = (map: Map<string, number>, limit = Number.POSITIVE_INFINITY): TimeShare[] =>
  [...map.entries()]
    .map(([name, ms]) => ({ name, ms }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, limit);

/** Self time per function, per area, and per calling area of the library, from a .cpuprofile. */
export const summariseCpuProfile = (side: Side, profile: CpuProfile, top = 25): ProfileSummary => {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfUs = new Map<number, number>();
  // As DevTools reads it: sample i lasts until sample i + 1.
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  });
  const area = new Map<string, number>();
  const caller = new Map<string, number>();
  const fn = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, ms: number): void => void map.set(key, (map.get(key) ?? 0) + ms);
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const ms = us / 1000;
    const { callFrame } = node;
    totalMs += ms;
    if (callFrame.functionName === '(idle)') idleMs += ms;
    const own = areaOf(callFrame.url, callFrame.functionName);
    add(area, own, ms);
    add(fn, functionKey(callFrame), ms);
    let owner: string | undefined;
    for (let at: CpuNode | undefined = node; at !== undefined && owner === undefined; at = byId.get(parentOf.get(at.id) ?? -1))
      owner = callerArea(at.callFrame);
    add(caller, owner ?? `${own} (no lib/ or bench/ frame above)`, ms);
  }
  return { side, totalMs, busyMs: totalMs - idleMs, byArea: sorted(area), byCaller: sorted(caller), topFunctions: sorted(fn, top), functions: sorted(fn) };
};

/** Several rounds of one side as one profile: every time summed. */
const mergeSummaries = (rounds: readonly ProfileSummary[], top = 25): ProfileSummary | undefined => {
  const [first] = rounds;
  if (first === undefined) return undefined;
  const merge = (pick: (s: ProfileSummary) => readonly TimeShare[]): Map<string, number> => {
    const sum = new Map<string, number>();
    for (const round of rounds) for (const share of pick(round)) sum.set(share.name, (sum.get(share.name) ?? 0) + share.ms);
    return sum;
  };
  const functions = sorted(merge((s) => s.functions));
  return {
    side: first.side,
    totalMs: rounds.reduce((n, s) => n + s.totalMs, 0),
    busyMs: rounds.reduce((n, s) => n + s.busyMs, 0),
    byArea: sorted(merge((s) => s.byArea)),
    byCaller: sorted(merge((s) => s.byCaller)),
    topFunctions: functions.slice(0, top),
    functions,
  };
};

const pct = (ms: number, of: number): string => `${fmt((100 * ms) / of, 1)} %`;

const shareTable = (title: string, summaries: readonly ProfileSummary[], pick: (s: ProfileSummary) => readonly TimeShare[]): string[] => {
  const names = [...new Set(summaries.flatMap((s) => pick(s).map((share) => share.name)))];
  const msOf = (s: ProfileSummary, name: string): number => pick(s).find((share) => share.name === name)?.ms ?? 0;
  // Largest first, on the first side (ours).
  const first = summaries[0];
  if (first !== undefined) names.sort((a, b) => msOf(first, b) - msOf(first, a));
  return [
    `| ${title} | ${summaries.map((s) => `${s.side} ms | % of total | % of busy`).join(' | ')} |`,
    `|---|${summaries.map(() => '---:|---:|---:').join('|')}|`,
    ...names.map(
      (name) =>
        `| ${name} | ${summaries
          .map((s) => {
            const ms = msOf(s, name);
            return `${fmt(ms, 0)} | ${pct(ms, s.totalMs)} | ${name === '(idle)' ? '' : pct(ms, s.busyMs)}`;
          })
          .join(' | ')} |`,
    ),
  ];
};

/** The functions whose self time differs most between the first two sides (ours − raw), busy time only. */
const differences = (summaries: readonly ProfileSummary[], top = 25): string[] => {
  const [ours, raw] = summaries;
  if (ours === undefined || raw === undefined) return [];
  const msIn = (s: ProfileSummary): Map<string, number> => new Map(s.functions.filter((f) => f.name !== '(idle)').map((f) => [f.name, f.ms]));
  const a = msIn(ours);
  const b = msIn(raw);
  const diffs = [...new Set([...a.keys(), ...b.keys()])]
    .map((name) => ({ name, ours: a.get(name) ?? 0, raw: b.get(name) ?? 0 }))
    .sort((x, y) => Math.abs(y.ours - y.raw) - Math.abs(x.ours - x.raw))
    .slice(0, top);
  return [
    '',
    `The ${top} functions whose self time differs most, ${ours.side} − ${raw.side} (busy ${fmt(ours.busyMs, 0)} − ${fmt(raw.busyMs, 0)} = ${fmt(ours.busyMs - raw.busyMs, 0)} ms):`,
    '',
    `| function | ${ours.side} ms | ${raw.side} ms | difference ms |`,
    '|---|---:|---:|---:|',
    ...diffs.map((d) => `| \`${d.name}\` | ${fmt(d.ours, 1)} | ${fmt(d.raw, 1)} | ${fmt(d.ours - d.raw, 1)} |`),
  ];
};

/** The summaries as Markdown: areas side by side, then each side's top functions. */
export const profileMarkdown = (summaries: readonly ProfileSummary[], reports: readonly ConcurrentReport[], command: string): string =>
  [
    `### CPU profile of ${reports[0]?.sessions.toLocaleString('en-US') ?? '?'} concurrent sessions, client process only (${machine()}; \`${command}\`)`,
    '',
    ...reports.map(
      (r) =>
        `- ${r.side}: ${r.ok}/${r.sessions} ok in ${fmt(r.wallMs / 1000, 2)} s (profiled), max RSS ${fmt(r.maxRssKiB / 1024, 1)} MiB${r.firstError === undefined ? '' : `; ${r.firstError}`}`,
    ),
    ...summaries.map((s) => `- ${s.side}: ${fmt(s.totalMs, 0)} ms profiled (all rounds), ${fmt(s.busyMs, 0)} ms busy (not idle)`),
    '',
    'Self time by area:',
    '',
    ...shareTable('area', summaries, (s) => s.byArea),
    '',
    'Busy time charged to the nearest lib/ (or bench/: the raw client) frame on the stack:',
    '',
    ...shareTable('caller', summaries, (s) => s.byCaller),
    ...differences(summaries),
    ...summaries.flatMap((s) => [
      '',
      `Top ${s.topFunctions.length} functions by self time, ${s.side}:`,
      '',
      '| function | self ms | % of busy |',
      '|---|---:|---:|',
      ...s.topFunctions.map((f) => `| \`${f.name}\` | ${fmt(f.ms, 1)} | ${f.name === '(idle)' ? '' : pct(f.ms, s.busyMs)} |`),
    ]),
  ].join('\n');

const newestProfile = (dir: string, before: ReadonlySet<string>): string => {
  const fresh = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile') && !before.has(name));
  if (fresh.length !== 1) throw new Error(`expected one new .cpuprofile in ${dir}, found ${fresh.length}`);
  return join(dir, fresh[0] ?? '');
};

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      sessions: { type: 'string', default: '10000' },
      dir: { type: 'string', default: '.tmp/profiles' },
      rounds: { type: 'string', default: '1' },
      tsx: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const sessions = Number(values.sessions);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(sessions) || sessions < 1) throw new Error(`--sessions takes a positive integer, not ${values.sessions}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a positive integer, not ${values.rounds}`);
  const dir = resolve(ROOT, values.dir);
  mkdirSync(dir, { recursive: true });
  useRuntime(values.tsx ? 'tsx' : 'compiled');
  await compile();
  const emulator = await startEmulatorProcess(3_200);
  try {
    const target: Target = { url: emulator.url, projectId: emulator.projectId, token: emulator.token };
    const deadlineMs = sessions >= 5_000 ? 120_000 : 60_000;
    const profiles: Record<Side, ProfileSummary[]> = { ours: [], raw: [] };
    const reports: ConcurrentReport[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 === 0 ? (['ours', 'raw'] as const) : (['raw', 'ours'] as const)) {
        const job: ConcurrentJob = {
          target,
          side,
          sessions,
          request: { text: '你好', sampleRate: 8000, voice: 'chinese_xiaoyan_common', speed: 0 },
          deadlineMs,
          warmup: 100,
        };
        const before = new Set(readdirSync(dir));
        const report = await runWorker<ConcurrentReport>(['concurrent', JSON.stringify(job)], deadlineMs + 30_000, ['--cpu-prof', '--cpu-prof-dir', dir]);
        const file = newestProfile(dir, before);
        process.stderr.write(`profile: round ${round + 1}/${rounds} ${side}: ${report.ok}/${sessions} ok in ${fmt(report.wallMs / 1000, 2)} s; ${file}\n`);
        reports.push(report);
        profiles[side].push(summariseCpuProfile(side, JSON.parse(readFileSync(file, 'utf8')) as CpuProfile));
        // Let the emulator finish the closing handshakes, as (c) does between its runs.
        await new Promise((done) => setTimeout(done, 2_000));
      }
    }
    const summaries = [mergeSummaries(profiles.ours), mergeSummaries(profiles.raw)].filter((s) => s !== undefined);
    const command = `npx tsx bench/profile.ts --sessions ${sessions} --rounds ${rounds}${values.tsx ? ' --tsx' : ''}`;
    process.stdout.write(`${profileMarkdown(summaries, reports, command)}\n`);
  } finally {
    await stop(emulator.child);
  }
};

try {
  await main();
} catch (error) {
  process.stderr.write(`profile: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
process.exit(process.exitCode ?? 0);
