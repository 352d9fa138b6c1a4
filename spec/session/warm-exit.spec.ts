/**
 * Idle warm sockets and the pool's timers do not keep a Node process alive: a script that prewarms
 * and returns without `close()` exits by itself (spec/fixtures/prewarm-and-return.ts, spawned).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useEmulator } from '../helpers/emulator-fixture.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const SCRIPT = join(ROOT, 'spec/fixtures/prewarm-and-return.ts');

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs the script and resolves at its exit event: if the process did not exit by itself, the test times out. */
/** The child of the running test, killed after it if it is still there (a test that timed out). */
let running: ChildProcess | undefined;

const run = (args: readonly string[], env: Record<string, string>): Promise<Exit> =>
  new Promise((done, fail) => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'pipe' });
    running = child;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.on('error', fail);
    child.on('exit', (code, signal) =>
      done({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), ms: performance.now() - startedAt }),
    );
  });

describe('warm sockets and process exit', function () {
  this.timeout(20_000);
  // Registered before the emulator's hooks, so that it runs first: a hung child would hold its connections.
  afterEach(() => {
    if (running?.exitCode === null && running.signalCode === null) running.kill();
    running = undefined;
  });
  const sis = useEmulator({ teardown: 'idle' });

  it('a script that prewarms both paths and returns without close() exits by itself, with code 0, its sockets still warm', async () => {
    const { emulator } = await sis.start();
    const exit = await run([emulator.url, emulator.projectId], { SIS_TOKEN: emulator.token });
    expect(exit.stderr).to.equal('');
    expect({ code: exit.code, signal: exit.signal }).to.deep.equal({ code: 0, signal: null });
    const printed = JSON.parse(exit.stdout) as { realtime: number; streaming: number; stats: Record<string, number> };
    expect(printed).to.deep.include({ realtime: 2, streaming: 2 });
    expect(printed.stats).to.include({ warm: 4, connecting: 0, expired: 0, failed: 0 });
    // Well before maxIdleMs (60 s): the sockets let it go, no expiry did.
    expect(exit.ms).to.be.below(15_000);
    await emulator.idle();
    // Four connections, never closed by the client (no close frame: 1006 when the process went) and never replaced.
    expect(emulator.sessions.map((record) => [record.api, record.status, record.closedBy, record.closeCode])).to.deep.equal([
      ['realtime', 101, 'client', 1006],
      ['realtime', 101, 'client', 1006],
      ['streaming', 101, 'client', 1006],
      ['streaming', 101, 'client', 1006],
    ]);
  });
});
