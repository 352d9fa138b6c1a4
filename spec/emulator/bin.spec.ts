import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { handshake } from './helpers.js';

const spawnBin = (...args: string[]): ChildProcessWithoutNullStreams =>
  spawn(process.execPath, ['--import', 'tsx', 'lib/emulator/bin.ts', ...args], { cwd: process.cwd(), env: { ...process.env, SIS_EMULATOR_TOKEN: '' } });

const firstLine = async (stream: NodeJS.ReadableStream): Promise<string> => {
  const lines = createInterface({ input: stream });
  const [line] = (await once(lines, 'line')) as [string];
  lines.close();
  return line;
};

describe('sis-emulator (bin)', function () {
  // Starting Node with the TypeScript loader takes a moment.
  this.timeout(20_000);

  it('prints the chosen URL, project id and demo token, serves, and stops on SIGTERM', async () => {
    const child = spawnBin('--port', '0', '--project-id', 'demo');
    const exited = once(child, 'exit');
    const line = await firstLine(child.stdout);
    const url = /ws:\/\/127\.0\.0\.1:(\d+)/.exec(line);
    expect(url, line).to.not.equal(null);
    expect(Number(url?.[1])).to.be.above(0);
    expect(line).to.include('project id demo').and.include('X-Auth-Token: emulator-token');
    expect((await handshake(`${url?.[0]}/v1/demo/rtts`, { 'X-Auth-Token': 'emulator-token' })).status).to.equal(101);
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).to.equal(0);
  });

  it('does not print a token given with --token', async () => {
    const child = spawnBin('--port', '0', '--token', 'my-secret');
    const exited = once(child, 'exit');
    const line = await firstLine(child.stdout);
    expect(line).not.to.include('my-secret');
    const url = /ws:\/\/[^ ]+?:\d+/.exec(line)?.[0];
    expect((await handshake(`${url}/v1/p/rtts`, { 'X-Auth-Token': 'my-secret' })).status).to.equal(101);
    child.kill('SIGINT');
    expect(((await exited) as [number | null])[0]).to.equal(0);
  });

  it('takes the token from SIS_EMULATOR_TOKEN, keeping it out of the process list', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'lib/emulator/bin.ts', '--port', '0'], {
      cwd: process.cwd(),
      env: { ...process.env, SIS_EMULATOR_TOKEN: 'my-secret' },
    });
    const exited = once(child, 'exit');
    const line = await firstLine(child.stdout);
    expect(line).not.to.include('my-secret');
    const url = /ws:\/\/[^ ]+?:\d+/.exec(line)?.[0];
    expect((await handshake(`${url}/v1/p/rtts`, { 'X-Auth-Token': 'my-secret' })).status).to.equal(101);
    expect((await handshake(`${url}/v1/p/rtts`, { 'X-Auth-Token': 'emulator-token' })).status).to.equal(401);
    child.kill('SIGTERM');
    expect(((await exited) as [number | null])[0]).to.equal(0);
  });

  it('prints its flags on --help and exits 0', async () => {
    const child = spawnBin('--help');
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).to.equal(0);
    for (const flag of [
      '--port',
      '--host',
      '--token',
      '--project-id',
      '--realtime',
      '--frame-bytes',
      '--text-limit',
      '--idle-timeout',
      '--max-concurrent',
      '--voices',
      'SIS_EMULATOR_TOKEN',
    ]) {
      expect(stdout).to.include(flag);
    }
  });

  // Each bad flag and what the one line must say about it: the flag, and what it expects.
  const bad: readonly (readonly [readonly string[], RegExp])[] = [
    [['--port', 'eighty'], /--port .*expected a whole number/],
    [['--port', '70000'], /--port: must be an integer from 0 to 65535, got 70000/],
    [['--frame-bytes', '-1'], /--frame-bytes .*expected a whole number/],
    [['--frame-bytes', '0'], /--frame-bytes: must be an integer from 1 to 67108864, got 0/],
    [['--realtime', 'fast'], /--realtime .*expected a number/],
    [['--realtime', '-1'], /--realtime: must be a finite number ≥ 0, got -1/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--voices', 'some'], /--voices .*Allowed choices are known, any/],
    [['--text-limit', '0'], /--text-limit: must be a positive integer, got 0/],
    [['--idle-timeout', '1.5'], /--idle-timeout .*expected a whole number/],
    [['--max-concurrent', '0'], /--max-concurrent: must be a positive integer, got 0/],
    [['--project-id', 'a/b'], /--project-id: must be a project id of letters, digits, - and _, got "a\/b"/],
    [['--port'], /--port <port>' argument missing/],
    [['extra'], /too many arguments/],
  ];
  for (const [args, message] of bad) {
    it(`exits 2 with one line and the --help hint on ${args.join(' ')}`, async () => {
      const child = spawnBin(...args);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).to.equal(2);
      const [line, hint, ...rest] = stderr.split('\n');
      expect(line)
        .to.match(/^sis-emulator: /)
        .and.match(message);
      expect([hint, ...rest]).to.deep.equal(['(run sis-emulator --help for usage)', '']);
    });
  }
});
