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

  for (const args of [['--port', 'eighty'], ['--port', '70000'], ['--frame-bytes', '-1'], ['--realtime', 'fast'], ['--bogus'], ['--voices', 'some'], ['--text-limit', '0']]) {
    it(`exits 2 with a one-line message on ${args.join(' ')}`, async () => {
      const child = spawnBin(...args);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).to.equal(2);
      expect(stderr.trim().split('\n'), stderr).to.have.length(1);
      expect(stderr).to.match(/^sis-emulator: /);
    });
  }
});
