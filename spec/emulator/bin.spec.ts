import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { WebSocket, type RawData } from 'ws';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signHandshake } from '../../lib/auth/aksk.js';
import { SECRETS } from '../helpers/secrets.js';
import { command, handshake } from './helpers.js';

const NO_SECRETS = { SIS_EMULATOR_TOKEN: '', SIS_EMULATOR_AK: '', SIS_EMULATOR_SK: '', SIS_EMULATOR_IAM_PASSWORD: '' };

const spawnBin = (...args: string[]): ChildProcessWithoutNullStreams => spawnWith({}, ...args);

const spawnWith = (env: Record<string, string>, ...args: string[]): ChildProcessWithoutNullStreams =>
  spawn(process.execPath, ['--import', 'tsx', 'lib/emulator/bin.ts', ...args], { cwd: process.cwd(), env: { ...process.env, ...NO_SECRETS, ...env } });

/** A JSON config file in a directory of its own, removed after the tests. */
const configDir = mkdtempSync(join(tmpdir(), 'sis-emulator-config-'));
let configs = 0;
const configFile = (content: unknown): string => {
  const file = join(configDir, `config-${++configs}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};

/** The child's stdout, line by line as it comes. */
const lines = (child: ChildProcessWithoutNullStreams): AsyncIterator<string> => createInterface({ input: child.stdout })[Symbol.asyncIterator]();

/** One real-time conversation with a raw ws client: the resp_type (and error code) of each text frame, until the server closes. */
const realtimeConversation = async (url: string, headers: Record<string, string>, text: string): Promise<string[]> => {
  const ws = new WebSocket(url, { headers });
  const types: string[] = [];
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) return;
    const frame = JSON.parse(String(data)) as { resp_type: string; error_code?: string };
    types.push([frame.resp_type, frame.error_code].filter((part) => part !== undefined).join(' '));
    if (frame.resp_type === 'END') ws.close(1000);
  });
  const closed = once(ws, 'close');
  await once(ws, 'open');
  ws.send(JSON.stringify(command({ text })));
  await closed;
  return types;
};

const firstLine = async (stream: NodeJS.ReadableStream): Promise<string> => {
  const lines = createInterface({ input: stream });
  const [line] = (await once(lines, 'line')) as [string];
  lines.close();
  return line;
};

/** A frame received on a raw socket: its `resp_type` (or `binary`), the code or event it names, and when it came. */
interface Received {
  readonly type: string;
  readonly detail: unknown;
  readonly atMs: number;
}

/** Sends `commands` as soon as the streaming socket is open, and records every frame until the server closes it. */
const streamingConversation = async (url: string, commands: readonly object[]): Promise<{ openMs: number; frames: Received[] }> => {
  const begin = performance.now();
  const ws = new WebSocket(url, { headers: { 'X-Auth-Token': 'emulator-token' } });
  const frames: Received[] = [];
  ws.on('message', (data: RawData, isBinary: boolean) => {
    const atMs = performance.now() - begin;
    const frame = isBinary ? { resp_type: 'binary' } : (JSON.parse(String(data)) as { resp_type: string; error_code?: string; event?: string });
    frames.push({ type: frame.resp_type, detail: frame.error_code ?? frame.event, atMs });
  });
  const closed = once(ws, 'close');
  await once(ws, 'open');
  const openMs = performance.now() - begin;
  for (const command of commands) ws.send(JSON.stringify(command));
  await closed;
  return { openMs, frames };
};

describe('sis-emulator (bin)', function () {
  // Starting Node with the TypeScript loader takes a moment.
  this.timeout(20_000);
  after(() => rmSync(configDir, { recursive: true, force: true }));

  it('takes AK/SK pairs, IAM users and faults by text from --config, and serves the control API', async () => {
    const key = { ak: 'AKCONFIG000000000001', sk: SECRETS.sk };
    const user = { domainName: 'acme', userName: 'bot', password: SECRETS.password };
    const file = configFile({
      akSk: [key],
      iamUsers: [user],
      closeGraceMs: 1000,
      faultsByText: [{ match: '/^fail/', fault: { kind: 'fatal', at: 'before-start', errorCode: 'SIS.0413' }, times: 1 }],
    });
    const child = spawnBin('--port', '0', '--project-id', 'demo', '--config', file);
    const exited = once(child, 'exit');
    try {
      const output = lines(child);
      const first = String((await output.next()).value);
      expect(first).to.include('sign with the AK/SK you configured').and.include('send a token of the emulated IAM');
      const second = String((await output.next()).value);
      const base = /http:\/\/127\.0\.0\.1:\d+/.exec(first.replace('ws://', 'http://'))?.[0] ?? '';
      expect(second).to.include(`POST ${base}/v3/auth/tokens`).and.include(`${base}/__emulator/`);
      expect(`${first}${second}`).not.to.include(SECRETS.sk).and.not.to.include(SECRETS.password);
      const rtts = `${base.replace('http:', 'ws:')}/v1/demo/rtts`;

      expect((await handshake(rtts, signHandshake(rtts, key, new Date()))).status, 'AK/SK').to.equal(101);
      const login = await fetch(`${base}/v3/auth/tokens`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          auth: {
            identity: { methods: ['password'], password: { user: { name: user.userName, password: user.password, domain: { name: user.domainName } } } },
            scope: { project: { name: 'cn-north-4' } },
          },
        }),
      });
      expect(login.status, 'IAM login').to.equal(201);
      const token = login.headers.get('x-subject-token') ?? '';
      expect(await realtimeConversation(rtts, { 'X-Auth-Token': token }, 'fail once')).to.deep.equal(['FATAL_ERROR SIS.0413']);
      expect(await realtimeConversation(rtts, { 'X-Auth-Token': token }, 'fail once')).to.deep.equal(['START', 'END']);

      const injected = await fetch(`${base}/__emulator/faults`, { method: 'POST', body: JSON.stringify({ kind: 'error', at: 'after-start' }) });
      expect(injected.status).to.equal(200);
      expect(await realtimeConversation(rtts, { 'X-Auth-Token': token }, '你好')).to.deep.equal(['START', 'ERROR SIS.0401', 'END']);
      const sessions = (await (await fetch(`${base}/__emulator/sessions`)).json()) as { ending?: string }[];
      expect(sessions.map((s) => s.ending)).to.deep.equal(['client-closed', 'fatal', 'end-normal', 'end-error']);
      expect(JSON.stringify(sessions)).not.to.include(token);
    } finally {
      child.kill('SIGTERM');
    }
    expect(((await exited) as [number | null])[0]).to.equal(0);
  });

  it('takes an AK/SK pair from --ak and SIS_EMULATOR_SK, and --close-grace', async () => {
    const key = { ak: 'AKFLAG00000000000001', sk: SECRETS.cliSk };
    const child = spawnWith({ SIS_EMULATOR_SK: key.sk }, '--port', '0', '--ak', key.ak, '--close-grace', '100');
    const exited = once(child, 'exit');
    try {
      const url = `${/ws:\/\/[^ ]+?:\d+/.exec(await firstLine(child.stdout))?.[0]}/v1/p/rtts`;
      expect((await handshake(url, signHandshake(url, key, new Date()))).status).to.equal(101);
      // A client that does not close after END is closed by the server after the grace.
      const ws = new WebSocket(url, { headers: signHandshake(url, key, new Date()) });
      const closed = once(ws, 'close');
      await once(ws, 'open');
      const sentAt = performance.now();
      ws.send(JSON.stringify(command({ text: '你好' })));
      const [code] = (await closed) as [number];
      expect(code).to.equal(1000);
      expect(performance.now() - sentAt).to.be.within(100, 5_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(((await exited) as [number | null])[0]).to.equal(0);
  });

  it('prints the chosen URL, project id and demo token, serves, and stops on SIGTERM', async () => {
    const child = spawnBin('--port', '0', '--project-id', 'demo');
    const exited = once(child, 'exit');
    const line = await firstLine(child.stdout);
    const url = /ws:\/\/127\.0\.0\.1:(\d+)/.exec(line);
    expect(url, line).to.not.equal(null);
    expect(Number(url?.[1])).to.be.above(0);
    expect(line).to.include('project id demo').and.include('X-Auth-Token: emulator-token');
    expect(line).to.include(`${url?.[0]}/v1/demo/rtts (real-time)`).and.include(`${url?.[0]}/v1/demo/vcs/voices/clone (streaming)`);
    expect((await handshake(`${url?.[0]}/v1/demo/rtts`, { 'X-Auth-Token': 'emulator-token' })).status).to.equal(101);
    expect((await handshake(`${url?.[0]}/v1/demo/vcs/voices/clone`, { 'X-Auth-Token': 'emulator-token' })).status).to.equal(101);
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

  it('passes --handshake-delay, --think-time, --text-timeout and the streaming limits to the emulator', async () => {
    const flags = ['--handshake-delay', '150', '--think-time', '200', '--text-timeout', '400', '--streaming-piece-limit', '5', '--streaming-total-limit', '6'];
    const child = spawnBin('--port', '0', '--project-id', 'demo', ...flags);
    const exited = once(child, 'exit');
    let conversation: Awaited<ReturnType<typeof streamingConversation>>;
    try {
      const url = /ws:\/\/[^ ]+?:\d+/.exec(await firstLine(child.stdout))?.[0];
      const config = { voice_name: 'chinese_huaxiaoli_common' };
      const msg = (text: string): object => ({ command: 'MSG', text });
      // Two sentences within both limits, one past the total (ignored), one past the piece limit (ERROR,
      // the session reset), then a START that gets no text: FATAL_ERROR once the text timeout runs out.
      conversation = await streamingConversation(`${url}/v1/demo/vcs/voices/clone`, [
        { command: 'START', text_pieces: 'MULTI', config },
        msg('你好。'),
        msg('再见。'),
        msg('谢谢。'),
        msg('一二三四五六。'),
        { command: 'START', text_pieces: 'MULTI', config },
      ]);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const { openMs, frames } = conversation;

    // Frame types, a run of audio as one 'binary…'.
    const shape = frames
      .map((f) => [f.type, f.detail].filter((part) => part !== undefined).join(' '))
      .filter((type, i, all) => type !== 'binary' || all[i - 1] !== 'binary')
      .map((type) => (type === 'binary' ? 'binary…' : type));
    expect(shape).to.deep.equal(['START', 'EVENT EXCEEDED_TOTAL_TEXT_LENGTH', 'binary…', 'ERROR SIS.0403', 'START', 'FATAL_ERROR SIS.0416']);
    expect(openMs, 'handshake').to.be.at.least(150);
    expect(frames.find((f) => f.type === 'binary')?.atMs, 'first audio').to.be.at.least(openMs + 200);
    expect(frames.find((f) => f.type === 'FATAL_ERROR')?.atMs, 'text timeout').to.be.at.least(openMs + 400);
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
      '--think-time',
      '--handshake-delay',
      '--text-timeout',
      '--streaming-piece-limit',
      '--streaming-total-limit',
      '--max-concurrent',
      '--voices',
      '--close-grace',
      '--ak',
      '--sk',
      '--iam-user',
      '--iam-domain',
      '--iam-password',
      '--iam-token-lifetime',
      '--no-require-auth',
      '--no-error-then-end',
      '--config',
      'SIS_EMULATOR_TOKEN',
      'SIS_EMULATOR_SK',
      'SIS_EMULATOR_IAM_PASSWORD',
      '/__emulator/faults',
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
    [['--think-time', '-5'], /--think-time .*expected a whole number/],
    [['--think-time', '3000000000'], /--think-time: must be an integer from 0 to 2147483647, got 3000000000/],
    [['--handshake-delay', 'slow'], /--handshake-delay .*expected a whole number/],
    [['--handshake-delay', '2147483648'], /--handshake-delay: must be an integer from 0 to 2147483647, got 2147483648/],
    [['--text-timeout', '0.5'], /--text-timeout .*expected a whole number/],
    [['--text-timeout', '2147483648'], /--text-timeout: must be an integer from 0 to 2147483647, got 2147483648/],
    [['--streaming-piece-limit', '0'], /--streaming-piece-limit: must be a positive integer, got 0/],
    [['--streaming-total-limit', '1e5'], /--streaming-total-limit .*expected a whole number/],
    [['--streaming-total-limit', '0'], /--streaming-total-limit: must be a positive integer, got 0/],
    [['--project-id', 'a/b'], /--project-id: must be a project id of letters, digits, - and _, got "a\/b"/],
    [['--port'], /--port <port>' argument missing/],
    [['--close-grace', '-1'], /--close-grace .*expected a whole number/],
    [['--ak', 'AK1'], /--ak and --sk go together/],
    [['--iam-user', 'bot'], /--iam-user and --iam-password go together/],
    [['--config', configFile('{"port":')], /--config .*config-\d+\.json: not valid JSON/],
    [['--config', join(configDir, 'missing.json')], /--config .*missing\.json: cannot read it \(ENOENT\)/],
    [['--config', configFile({ closeGrace: 5 })], /--config .*: closeGrace: unknown field \(did you mean 'closeGraceMs'\?\)/],
    [['--config', configFile({ faultsByText: [{ match: 'x', fault: { kind: 'drop', at: 'soon' } }] })], /--config .*: faultsByText\.0\.fault\.at: must be /],
    [['--config', configFile({ akSk: [{ ak: 'AK1' }] })], /--config .*: akSk\.0: must be \{ ak, sk \} with non-empty strings$/],
    [
      ['--config', configFile({ port: 70000 }), '--frame-bytes', '0'],
      /--config .*: port: must be an integer from 0 to 65535, got 70000; --frame-bytes: must be an integer from 1/,
    ],
    [['extra'], /too many arguments/],
  ];
  for (const [args, message] of bad) {
    it(`exits 2 with one line and the --help hint on ${args.join(' ').replaceAll(`${configDir}/`, '')}`, async () => {
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
