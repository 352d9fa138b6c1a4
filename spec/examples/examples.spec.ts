/** Every example runs to completion against the embedded emulator, as a newcomer would run it, and prints what it promises. */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..', '..');
const examples = (await readdir(join(root, 'examples'))).filter((name) => name.endsWith('.ts')).sort();

/** The number a line of the output gives after `label`, e.g. `first audio after 210 ms`. */
const numberAfter = (stdout: string, label: string): number => {
  const match = new RegExp(`${label} (\\d+(?:\\.\\d+)?)`).exec(stdout);
  expect(match, `"${label} <number>" in:\n${stdout}`).to.not.equal(null);
  return Number(match?.[1]);
};

/** llm-to-speech.ts: every sentence sent (and in real-time mode spoken) in order, the first audio before the end, a WAV file of it all. */
const checkLlmToSpeech = async (stdout: string, api: 'realtime' | 'streaming', wav: string): Promise<void> => {
  expect(stdout).to.match(new RegExp(`^api ${api}$`, 'm'));
  const sent = [...stdout.matchAll(/ sent +#(\d+) \S/g)].map((m) => Number(m[1]));
  expect(sent).to.deep.equal([0, 1, 2, 3, 4]);
  const spoken = [...stdout.matchAll(/ spoken +#(\d+) \(\d+\.\d\d s of audio\)/g)].map((m) => Number(m[1]));
  expect(spoken).to.deep.equal(api === 'realtime' ? [0, 1, 2, 3, 4] : []);
  if (api === 'streaming') expect(stdout).to.include('no `spoken` events in streaming mode');
  const firstSentence = numberAfter(stdout, 'first sentence written after');
  const firstAudio = numberAfter(stdout, 'first audio after');
  expect(firstAudio).to.be.above(firstSentence).and.below(numberAfter(stdout, 'the whole answer took'));
  expect(stdout).to.match(new RegExp(`5 sentences in \\d+ chunks over ${api === 'realtime' ? 5 : 1} session\\(s\\)`));
  expect(stdout).to.match(/speak\(client\): \d+ bytes, the same audio/);

  const audioBytes = numberAfter(stdout, 'speak\\(client\\):');
  const file = await readFile(wav);
  expect(file.subarray(0, 4).toString('latin1')).to.equal('RIFF');
  expect(file.readUInt32LE(24), 'sample rate').to.equal(16000);
  expect(file.byteLength).to.equal(44 + audioBytes);
};

/** barge-in.ts: in real-time mode exactly the first two sentences heard and the third cut; in both, nothing left open. */
const checkBargeIn = (stdout: string): void => {
  const [realtime = '', streaming = ''] = stdout.split(/^api streaming$/m);
  expect(realtime).to.match(/^api realtime$/m);
  expect([...realtime.matchAll(/^ +(heard|cut) +#(\d+) /gm)].map((m) => `${m[1]} #${m[2]}`)).to.deep.equal(['heard #0', 'heard #1', 'cut #2']);
  expect(realtime).to.include('the conversation keeps: "好的，我来帮你查一下。明天上海多云，气温十八到二十四度。"');
  expect(streaming).to.match(/sent [1-5] pieces: #0 /);
  expect(streaming).to.include('which of those pieces were heard in full is not known');
  for (const section of [realtime, streaming]) {
    expect(section).to.match(/the user speaks at 6\.\d\d s: stop/);
    expect(section).to.match(/sockets: [1-9] opened, .*; open now: 0$/m);
  }
};

/** express-server.ts: a WAV of the sentence (the audio and its 44-byte header), then a 400 with the problem in a JSON body. */
const checkExpressServer = (stdout: string): void => {
  const wav = /status 200, content-type audio\/wav, (\d+) bytes/.exec(stdout);
  expect(wav, stdout).to.not.equal(null);
  expect(Number(wav?.[1])).to.equal(numberAfter(stdout, 'server: complete, HTTP 200,') + 44);
  expect(stdout).to.include('status 400, content-type application/json');
  expect(stdout).to.match(/body \{"error":\{"code":"REQUEST_INVALID",.*text/);
};

describe('examples', function () {
  this.timeout(60_000);
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'rx-sis-tts-examples-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('includes the demo, the pipeline example and the LLM examples', () => {
    expect(examples).to.include.members(['hello.ts', 'pipeline.ts', 'llm-to-speech.ts', 'barge-in.ts']);
  });

  /** Runs an example without credentials in the environment: every example must fall back to the emulator. */
  const runExample = async (name: string, args: readonly string[]): Promise<string> => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('HUAWEICLOUD_') && key !== 'SPEAK_API'));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(root, 'examples', name), ...args], { cwd: root, env });
    expect(stdout.trim()).not.to.equal('');
    return stdout;
  };

  for (const name of examples) {
    it(`${name} runs and exits 0`, async () => {
      const output = join(scratch, name.replace(/\.ts$/, '.wav'));
      const writesTo = name === 'hello.ts' || name === 'llm-to-speech.ts';
      const stdout = await runExample(name, writesTo ? [output] : []);
      if (name === 'hello.ts') {
        expect(stdout).to.match(/trace id\s+[0-9a-f-]{36}/);
        expect((await stat(output)).size).to.be.greaterThan(44);
      }
      if (name === 'llm-to-speech.ts') await checkLlmToSpeech(stdout, 'realtime', output);
      if (name === 'barge-in.ts') checkBargeIn(stdout);
      if (name === 'express-server.ts') checkExpressServer(stdout);
    });
  }

  it('examples/testing: the marble and imperative tests pass under mocha, and the node:test one under node --test', async () => {
    const testing = join(root, 'examples', 'testing');
    const specs = (await readdir(testing)).filter((name) => name.endsWith('.spec.ts')).map((name) => join(testing, name));
    expect(specs).to.have.length(2);
    const mocha = await run(process.execPath, [join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), ...specs], { cwd: root });
    expect(mocha.stdout).to.match(/\b3 passing\b/);
    expect(mocha.stdout).not.to.match(/failing/);
    const nodeTest = await run(process.execPath, ['--import', 'tsx', '--test', join(testing, 'notify.node-test.ts')], { cwd: root });
    expect(nodeTest.stdout).to.match(/^# pass 2$/m);
    expect(nodeTest.stdout).to.match(/^# fail 0$/m);
  });

  it('llm-to-speech.ts --streaming runs with api streaming and exits 0', async () => {
    const output = join(scratch, 'llm-to-speech-streaming.wav');
    await checkLlmToSpeech(await runExample('llm-to-speech.ts', ['--streaming', output]), 'streaming', output);
  });
});
