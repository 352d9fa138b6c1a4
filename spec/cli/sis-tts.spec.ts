/** `sis-tts` end to end: the bin spawned as a process, against the emulator. */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Emulator } from '../../lib/emulator/index.js';
import { splitText } from '../../lib/index.js';
import { useEmulator } from '../helpers/emulator-fixture.js';
import { parseWav } from '../helpers/wav-reader.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const BIN = join(ROOT, 'lib/cli/bin.ts');

interface Run {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs the bin with a clean environment (no credentials unless given). */
const sisTts = (args: readonly string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<Run> =>
  new Promise((done, fail) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('HUAWEICLOUD_')));
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: ROOT, env: { ...env, ...options.env }, stdio: 'pipe' });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') }));
    child.stdin.end(options.stdin ?? '');
  });

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

describe('sis-tts (spawned)', function () {
  this.timeout(20_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sis-tts-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const sis = useEmulator({ options: { tokens: ['cli-secret-token'] }, teardown: 'idle' });
  /** An emulator in this process, reached through the credential variables. */
  const service = async (): Promise<{ emulator: Emulator; env: Record<string, string> }> => {
    const { emulator } = await sis.start();
    return {
      emulator,
      env: { HUAWEICLOUD_SIS_TOKEN: 'cli-secret-token', HUAWEICLOUD_SIS_PROJECT_ID: emulator.projectId, HUAWEICLOUD_SIS_ENDPOINT: emulator.url },
    };
  };

  it('sis-tts "text" -o out.wav --emulator writes a WAV file and exits 0', async () => {
    const out = join(dir, 'out.wav');
    const run = await sisTts(['你好，世界。', '-o', out, '--emulator']);
    expect(run.code).to.equal(0);
    const wav = parseWav(await readFile(out));
    expect(wav.fmt).to.include({ audioFormat: 1, sampleRate: 8000, bitsPerSample: 16, numChannels: 1 });
    expect(wav.data.chunkSize).to.be.greaterThan(0);
    expect(lines(run.stderr)).to.have.length(1);
    expect(run.stderr).to.match(/^sis-tts: wrote .*out\.wav \(\d+\.\d\d s of pcm at 8000 Hz, 1 part\)/);
  });

  it('without credentials and without --emulator, exits 2 naming the missing variables', async () => {
    const out = join(dir, 'out.wav');
    const run = await sisTts(['hello', '-o', out]);
    expect(run.code).to.equal(2);
    expect(lines(run.stderr)).to.have.length(2);
    expect(lines(run.stderr)[0]).to.match(/^sis-tts: no credentials in the environment: /);
    for (const name of [
      'HUAWEICLOUD_SIS_PROJECT_ID',
      'HUAWEICLOUD_SIS_REGION',
      'HUAWEICLOUD_SIS_ENDPOINT',
      'HUAWEICLOUD_SIS_AK',
      'HUAWEICLOUD_SIS_SK',
      'HUAWEICLOUD_SIS_TOKEN',
      '--emulator',
    ]) {
      expect(run.stderr).to.include(name);
    }
    expect(lines(run.stderr)[1]).to.equal('(run sis-tts --help for usage)');
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('--emulator wins over credentials in the environment, and says so', async () => {
    const { emulator, env } = await service();
    const out = join(dir, 'out.wav');
    const run = await sisTts(['hello', '-o', out, '--emulator'], { env });
    expect(run.code, run.stderr).to.equal(0);
    expect(lines(run.stderr)[0]).to.equal('sis-tts: --emulator given: using the embedded emulator, not the HUAWEICLOUD_SIS_* variables set in the environment');
    expect(emulator.sessions).to.have.length(0);
    expect((await stat(out)).size).to.be.greaterThan(44);
  });

  it('sends the synthesis flags, using the credentials from the environment', async () => {
    const { emulator, env } = await service();
    const file = join(dir, 'text.txt');
    await writeFile(file, '从文件读的文字。');
    const out = join(dir, 'out.raw');
    const run = await sisTts(
      [
        '--file',
        file,
        '-o',
        out,
        '--voice',
        'chinese_xiaoqi_common',
        '--audio-format',
        'alaw',
        '--sample-rate',
        '16000',
        '--speed',
        '-20',
        '--pitch',
        '30',
        '--volume',
        '70',
      ],
      { env },
    );
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).not.to.match(/emulator/);
    expect(emulator.sessions[0]?.command).to.deep.equal({
      command: 'START',
      text: '从文件读的文字。',
      config: { audio_format: 'alaw', sample_rate: '16000', property: 'chinese_xiaoqi_common', speed: -20, pitch: 30, volume: 70 },
    });
    // .raw: the bytes as received.
    expect((await stat(out)).size).to.equal(emulator.sessions[0]?.audioBytes);
  });

  for (const [extension, audioFormat] of [
    ['mp3', 'mp3'],
    ['pcm', 'pcm'],
    ['alaw', 'alaw'],
    ['ulaw', 'ulaw'],
  ] as const) {
    it(`-o x.${extension} asks for ${audioFormat} and writes the bytes as received`, async () => {
      const { emulator, env } = await service();
      const out = join(dir, `x.${extension}`);
      const run = await sisTts(['你好。', '-o', out, '--sample-rate', '16k'], { env });
      expect(run.code, run.stderr).to.equal(0);
      expect(emulator.sessions[0]?.command?.config).to.include({ audio_format: audioFormat, sample_rate: '16000' });
      expect((await stat(out)).size).to.equal(emulator.sessions[0]?.audioBytes);
    });
  }

  it('exits 2 before connecting when the extension and a flag disagree', async () => {
    const { emulator, env } = await service();
    for (const args of [
      ['-o', join(dir, 'x.mp3'), '--audio-format', 'pcm'],
      ['-o', join(dir, 'x.wav'), '--container', 'raw'],
      ['-o', join(dir, 'x.wav'), '--audio-format', 'mp3'],
    ]) {
      const run = await sisTts(['x', ...args], { env });
      expect(run.code, args.join(' ')).to.equal(2);
      expect(lines(run.stderr)).to.have.length(2);
      expect(run.stderr).to.match(/^sis-tts: (--audio-format|--container|mp3 audio)/);
    }
    expect(emulator.sessions).to.have.length(0);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('reads the text from stdin and streams a WAV to stdout with -o -', async () => {
    const run = await sisTts(['--emulator', '--audio-format', 'ulaw', '-o', '-'], { stdin: 'text on stdin' });
    expect(run.code, run.stderr).to.equal(0);
    const wav = parseWav(run.stdout);
    expect(wav.fmt).to.include({ audioFormat: 7, sampleRate: 8000, bitsPerSample: 8 });
    expect(wav.data.samples.length).to.equal(run.stdout.length - 58);
  });

  it('--json prints the trace id and size of every part of a long text', async () => {
    const { emulator, env } = await service();
    const out = join(dir, 'long.wav');
    const text = '第一句话在这里。第二句话也在这里。第三句话还在这里。';
    const run = await sisTts([text, '-o', out, '--json', '--max-part-length', '9'], { env });
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(run.stdout.toString('utf8')) as {
      parts: { part: number; traceId: string; audioBytes: number }[];
      fileBytes: number;
      audioBytes: number;
      emulator: boolean;
    };
    expect(report.emulator).to.equal(false);
    expect(report.parts.map((p) => p.part)).to.deep.equal([0, 1, 2]);
    // Each trace id is the session that spoke that part (sessions run two at once, so match by text).
    const spoken = report.parts.map((p) => emulator.sessions.find((s) => s.traceId === p.traceId)?.command?.text);
    expect(spoken).to.deep.equal(splitText(text, 9));
    expect(report.fileBytes).to.equal((await stat(out)).size);
    expect(report.audioBytes).to.equal(emulator.stats.audioBytesSent);
    expect(parseWav(await readFile(out)).data.chunkSize).to.equal(report.audioBytes);
  });

  it('exits 3 on a service error, with one line carrying the trace id, and leaves no file', async () => {
    const { emulator, env } = await service();
    const out = join(dir, 'out.wav');
    const run = await sisTts(['x', '-o', out, '--voice', 'chinese_nobody_common'], { env });
    expect(run.code).to.equal(3);
    expect(lines(run.stderr)).to.have.length(1);
    expect(run.stderr)
      .to.include('SIS.0411')
      .and.include(`[trace ${emulator.sessions[0]?.traceId ?? '?'}]`);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('exits 4 when the handshake is refused (401), never printing the token', async () => {
    const { env } = await service();
    const run = await sisTts(['x', '-o', join(dir, 'out.wav')], { env: { ...env, HUAWEICLOUD_SIS_TOKEN: 'a-wrong-secret-token' } });
    expect(run.code).to.equal(4);
    expect(lines(run.stderr)).to.have.length(1);
    expect(run.stderr)
      .to.match(/HTTP 401/)
      .and.not.include('a-wrong-secret-token');
  });

  it('exits 2 on bad usage, with one line and the hint: an unknown flag, no text, incomplete credentials, a plain ws:// endpoint', async () => {
    const out = join(dir, 'out.wav');
    const unknown = await sisTts(['x', '-o', out, '--loud']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.equal("sis-tts: unknown option '--loud'\n(run sis-tts --help for usage)\n");
    const empty = await sisTts(['--emulator', '-o', out], { stdin: '   ' });
    expect(empty.code).to.equal(2);
    expect(empty.stderr).to.match(/^sis-tts: invalid synthesis request: text:.*\n\(run sis-tts --help for usage\)\n$/);
    const partial = await sisTts(['x', '-o', out], { env: { HUAWEICLOUD_SIS_TOKEN: 'half-configured-secret' } });
    expect(partial.code).to.equal(2);
    expect(partial.stderr).to.match(/^sis-tts: the HUAWEICLOUD_SIS_\* variables are incomplete or invalid: /);
    expect(partial.stderr).to.include('HUAWEICLOUD_SIS_PROJECT_ID').and.not.include('half-configured-secret');
    const plain = await sisTts(['x', '-o', out], {
      env: { HUAWEICLOUD_SIS_TOKEN: 'half-configured-secret', HUAWEICLOUD_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_ENDPOINT: 'ws://relay.invalid' },
    });
    expect(plain.code).to.equal(2);
    expect(plain.stderr).to.include('HUAWEICLOUD_SIS_ENDPOINT').and.include('--allow-plain-ws');
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('exits 1 when the file cannot be written', async () => {
    const run = await sisTts(['x', '-o', join(dir, 'missing', 'out.wav'), '--emulator']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^sis-tts: could not open the audio file .*\(ENOENT\)\n$/);
  });
});
