/**
 * Child processes of the benchmark: the TypeScript compile, the emulator (one for the whole run) and
 * the workers. By default children run the library compiled by `tsc` (bench/.out), as users run it:
 * under `tsx`, esbuild's `keepNames` wraps every closure in `__name(fn, …)`, a defineProperty that
 * gives each closure its own property store, which inflates the per-session memory of closure-heavy
 * code. `--tsx` runs the sources through tsx instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Target } from './clients.js';

const OUT = 'bench/.out';
/** The package root (also from bench/.out/bench): children run there so `tsx` and `node_modules` resolve. */
const parent = fileURLToPath(new URL('..', import.meta.url));
export const ROOT = parent.endsWith(`${sep}${join(OUT, sep)}`) ? resolve(parent, '..', '..') : parent;

export type Runtime = 'compiled' | 'tsx';
let runtime: Runtime = 'compiled';
export const useRuntime = (chosen: Runtime): void => {
  runtime = chosen;
};

/** Every child still running, so that an interrupted or failed run can stop them all. */
const live = new Set<ChildProcess>();

const spawnTracked = (command: string, args: readonly string[]): ChildProcess => {
  const child = spawn(command, [...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
};

/** Runs a source file (`lib/…/x.ts`, `bench/x.ts`) compiled or through tsx, with `nodeArgs` (e.g. `--expose-gc`) for node. */
const nodeScript = (source: string, args: readonly string[], nodeArgs: readonly string[] = []): ChildProcess =>
  spawnTracked(
    process.execPath,
    runtime === 'tsx' ? [...nodeArgs, '--import', 'tsx', source, ...args] : [...nodeArgs, join(OUT, source.replace(/\.ts$/, '.js')), ...args],
  );

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

/** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export const stop = async (child: ChildProcess, graceMs = 3_000): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([exited(child), killed]);
  clearTimeout(timer);
  await exited(child);
};

/** Stops every child this process started (on failure or interruption). */
export const stopAll = async (): Promise<void> => {
  await Promise.all([...live].map((child) => stop(child, 1_000)));
};

/** Compiles lib/ and bench/ into bench/.out (type errors elsewhere in the tree are reported, not fatal). */
export const compile = async (): Promise<void> => {
  if (runtime === 'tsx') return;
  const child = spawnTracked(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'bench/tsconfig.json']);
  let output = '';
  child.stdout?.on('data', (data: Buffer) => {
    output += data.toString('utf8');
  });
  child.stderr?.on('data', (data: Buffer) => {
    output += data.toString('utf8');
  });
  await exited(child);
  if (!existsSync(join(ROOT, OUT, 'bench/worker.js')) || !existsSync(join(ROOT, OUT, 'lib/emulator/bin.js'))) {
    throw new Error(`tsc -p bench/tsconfig.json emitted nothing:\n${output}`);
  }
  if (child.exitCode !== 0) process.stderr.write(`bench: tsc reported errors (emitted anyway):\n${output}`);
};

export interface EmulatorProcess extends Target {
  readonly child: ChildProcess;
}

const LISTENING = /listening on (ws:\/\/\S+) \(project id ([^;]+);.*X-Auth-Token: ([^\s)]+)/;

/** Starts `sis-emulator` (fast mode) in its own process and reads its URL line. */
export const startEmulatorProcess = (frameBytes: number, timeoutMs = 30_000): Promise<EmulatorProcess> => {
  const child = nodeScript('lib/emulator/bin.ts', ['--port', '0', '--host', '127.0.0.1', '--frame-bytes', String(frameBytes), '--realtime', '0']);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.off('exit', onExit);
      void stop(child).then(() => reject(new Error(`${why}${err === '' ? '' : `\n${err}`}`)));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`the emulator exited (${signal ?? code ?? '?'}) before listening`);
    const timer = setTimeout(() => fail(`the emulator printed no URL within ${timeoutMs} ms`), timeoutMs);
    child.once('exit', onExit);
    child.stderr?.on('data', (data: Buffer) => {
      err += data.toString('utf8');
    });
    child.stdout?.on('data', (data: Buffer) => {
      out += data.toString('utf8');
      const match = LISTENING.exec(out);
      if (match?.[1] === undefined || match[2] === undefined || match[3] === undefined) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout?.removeAllListeners('data');
      child.stdout?.resume();
      resolve({ child, url: match[1], projectId: match[2], token: match[3] });
    });
  });
};

/**
 * Runs `bench/worker.ts` with these arguments (and `nodeArgs` for node itself) and parses the JSON
 * line it prints last; its stderr (progress) is passed through. Killed past `timeoutMs`.
 */
export const runWorker = <T>(args: readonly string[], timeoutMs: number, nodeArgs: readonly string[] = []): Promise<T> => {
  const child = nodeScript('bench/worker.ts', args, nodeArgs);
  let out = '';
  let err = '';
  child.stdout?.on('data', (data: Buffer) => {
    out += data.toString('utf8');
  });
  child.stderr?.on('data', (data: Buffer) => {
    err += data.toString('utf8');
    process.stderr.write(data);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(child, 1_000).then(() => reject(new Error(`worker ${args[0] ?? ''} killed after ${timeoutMs} ms`)));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || line === '') return reject(new Error(`worker ${args[0] ?? ''} failed (exit ${String(code)}): ${err.trim().split('\n').pop() ?? ''}`));
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`worker ${args[0] ?? ''} printed no JSON: ${line.slice(0, 200)}`));
      }
    });
  });
};
