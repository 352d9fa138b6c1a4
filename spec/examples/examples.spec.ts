/** Every example runs to completion against the embedded emulator, as a newcomer would run it. */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..', '..');
const examples = (await readdir(join(root, 'examples'))).filter((name) => name.endsWith('.ts')).sort();

describe('examples', function () {
  this.timeout(60_000);
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'rx-sis-tts-examples-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('includes the demo and the pipeline example', () => {
    expect(examples).to.include.members(['hello.ts', 'pipeline.ts']);
  });

  for (const name of examples) {
    it(`${name} runs and exits 0`, async () => {
      // No credentials in the environment: every example must fall back to the emulator.
      const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('HUAWEICLOUD_')));
      const args = name === 'hello.ts' ? [join(scratch, 'hello.wav')] : [];
      const { stdout } = await run(process.execPath, ['--import', 'tsx', join(root, 'examples', name), ...args], { cwd: root, env });
      expect(stdout.trim()).not.to.equal('');
      if (name === 'hello.ts') {
        expect(stdout).to.match(/trace id\s+[0-9a-f-]{36}/);
        expect((await stat(join(scratch, 'hello.wav'))).size).to.be.greaterThan(44);
      }
    });
  }
});
