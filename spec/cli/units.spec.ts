import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { inspect } from 'node:util';
import { SisAuthError, SisConnectionError, SisFileError, SisHandshakeError, SisPartError, SisRequestError, SisServiceError } from '../../lib/index.js';
import { parseArgs } from '../../lib/cli/args.js';
import { resolveCredentials } from '../../lib/cli/credentials.js';
import { EXIT, UsageError, describeError, exitCodeFor } from '../../lib/cli/exit-codes.js';
import { progressBar } from '../../lib/cli/progress.js';
import { SECRETS } from '../helpers/secrets.js';

const quiet = { out: () => undefined, err: () => undefined };

describe('sis-tts arguments', () => {
  it('reads the text, the output and every synthesis flag', () => {
    const parsed = parseArgs(
      ['你好', '-o', 'a.wav', '--voice', 'chinese_xiaoqi_common', '--format', 'alaw', '--rate', '16000', '--speed', '-20', '--pitch', '10', '--volume', '80', '--json'],
      quiet,
      '1.0.0',
    );
    expect(parsed).to.deep.include({ kind: 'run' });
    expect(parsed.kind === 'run' && parsed.options).to.include({
      text: '你好', output: 'a.wav', voice: 'chinese_xiaoqi_common', audioFormat: 'alaw', sampleRate: 16000,
      speed: -20, pitch: 10, volume: 80, json: true, emulator: false, concurrency: 2, maxPartLength: 500, retries: 2,
    });
  });

  it('is a usage error (exit 2) for an unknown flag, a value out of range or a missing output', () => {
    const errors: string[] = [];
    const write = { out: () => undefined, err: (s: string) => errors.push(s) };
    expect(parseArgs(['x', '-o', 'a.wav', '--bogus'], write, '1')).to.deep.equal({ kind: 'exit', code: 2 });
    expect(parseArgs(['x', '-o', 'a.wav', '--speed', '900'], write, '1')).to.deep.equal({ kind: 'exit', code: 2 });
    expect(parseArgs(['x', '-o', 'a.wav', '--rate', '44100'], write, '1')).to.deep.equal({ kind: 'exit', code: 2 });
    expect(parseArgs(['x'], write, '1')).to.deep.equal({ kind: 'exit', code: 2 });
    expect(errors.join('')).to.match(/--bogus/).and.match(/900/).and.match(/--output/);
  });

  it('prints help and the version with exit 0', () => {
    let out = '';
    const write = { out: (s: string) => (out += s), err: () => undefined };
    expect(parseArgs(['--help'], write, '1.2.3')).to.deep.equal({ kind: 'exit', code: 0 });
    expect(out).to.match(/HUAWEICLOUD_SIS_TOKEN/).and.match(/Exit codes/);
    expect(parseArgs(['--version'], write, '1.2.3')).to.deep.equal({ kind: 'exit', code: 0 });
    expect(out).to.include('1.2.3');
  });
});

describe('sis-tts credentials', () => {
  it('uses the emulator when nothing is configured', () => {
    expect(resolveCredentials({})).to.deep.equal({ kind: 'none' });
  });

  it('builds the endpoint from the region', () => {
    const credentials = resolveCredentials({ HUAWEICLOUD_SIS_TOKEN: 't', HUAWEICLOUD_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_REGION: 'cn-north-4' });
    expect(credentials).to.include({ kind: 'service', endpoint: 'wss://sis-ext.cn-north-4.myhuaweicloud.com', projectId: 'p' });
    expect(credentials.kind === 'service' && 'token' in credentials.auth ? credentials.auth.token : undefined).to.equal('t');
    expect(credentials.kind === 'service' ? credentials.secrets : []).to.deep.equal(['t']);
  });

  it('takes an AK/SK pair from the environment, masking the SK', () => {
    const credentials = resolveCredentials({ HUAWEICLOUD_SIS_AK: 'AKCLI', HUAWEICLOUD_SIS_SK: SECRETS.cliSk, HUAWEICLOUD_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_REGION: 'cn-east-3' });
    expect(credentials).to.include({ kind: 'service', endpoint: 'wss://sis-ext.cn-east-3.myhuaweicloud.com', projectId: 'p' });
    const auth = credentials.kind === 'service' ? credentials.auth : undefined;
    expect(auth !== undefined && 'ak' in auth ? [auth.ak, auth.sk] : []).to.deep.equal(['AKCLI', SECRETS.cliSk]);
    expect(credentials.kind === 'service' ? credentials.secrets : []).to.deep.equal([SECRETS.cliSk]);
    expect(inspect(auth, { depth: 5 }).includes(SECRETS.cliSk), 'the SK shows in util.inspect').to.equal(false);
  });

  it('passes the enterprise project id on', () => {
    const credentials = resolveCredentials({
      HUAWEICLOUD_SIS_TOKEN: 't',
      HUAWEICLOUD_SIS_PROJECT_ID: 'p',
      HUAWEICLOUD_SIS_REGION: 'cn-north-4',
      HUAWEICLOUD_SIS_ENTERPRISE_PROJECT_ID: 'ep-7',
    });
    expect(credentials).to.include({ kind: 'service', enterpriseProjectId: 'ep-7' });
    expect(resolveCredentials({ HUAWEICLOUD_SIS_TOKEN: 't', HUAWEICLOUD_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_REGION: 'cn-north-4' })).to.include({
      enterpriseProjectId: undefined,
    });
  });

  it('names the missing half of an AK/SK pair', () => {
    const credentials = resolveCredentials({ HUAWEICLOUD_SIS_AK: 'AKCLI', HUAWEICLOUD_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_REGION: 'cn-east-3' });
    expect(credentials).to.deep.equal({ kind: 'incomplete', problems: ['HUAWEICLOUD_SIS_SK is not set (HUAWEICLOUD_SIS_AK is: both are needed)'] });
  });

  it('prefers an explicit endpoint', () => {
    const credentials = resolveCredentials({ HUAWEICLOUD_SIS_TOKEN: 't', HUAWEICLOUD_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_ENDPOINT: 'ws://127.0.0.1:1', HUAWEICLOUD_SIS_REGION: 'cn-east-3' });
    expect(credentials).to.include({ kind: 'service', endpoint: 'ws://127.0.0.1:1' });
  });

  it('names what is missing when configured in part, never the values', () => {
    const credentials = resolveCredentials({ HUAWEICLOUD_SIS_TOKEN: 'secret-value', HUAWEICLOUD_SIS_REGION: 'north' });
    expect(credentials.kind).to.equal('incomplete');
    const problems = credentials.kind === 'incomplete' ? credentials.problems.join('; ') : '';
    expect(problems).to.match(/HUAWEICLOUD_SIS_PROJECT_ID/).and.match(/cn-north-4/).and.not.include('secret-value');
  });
});

describe('sis-tts exit codes and error lines', () => {
  const service = new SisServiceError({ traceId: 'trace-1', errorCode: 'SIS.0401', errorMsg: 'synthesis error' });

  it('maps every kind of failure to its exit code, looking through part errors', () => {
    expect(exitCodeFor(new UsageError('no text'))).to.equal(EXIT.usage);
    expect(exitCodeFor(new SisRequestError([{ path: 'text', message: 'empty' }]))).to.equal(EXIT.usage);
    expect(exitCodeFor(service)).to.equal(EXIT.service);
    expect(exitCodeFor(new SisConnectionError('lost'))).to.equal(EXIT.service);
    expect(exitCodeFor(new SisHandshakeError({ status: 401, errorCode: 'APIG.0301' }))).to.equal(EXIT.auth);
    expect(exitCodeFor(new SisHandshakeError({ status: 503 }))).to.equal(EXIT.service);
    expect(exitCodeFor(new SisAuthError('provider failed'))).to.equal(EXIT.auth);
    expect(exitCodeFor(new SisServiceError({ errorCode: 'SIS.0101' }))).to.equal(EXIT.auth);
    expect(exitCodeFor(new SisPartError({ part: 2, parts: 3, cause: new SisHandshakeError({ status: 401 }) }))).to.equal(EXIT.auth);
    expect(exitCodeFor(new SisFileError({ path: '/x', operation: 'open', cause: new Error('EACCES') }))).to.equal(EXIT.failure);
    expect(exitCodeFor(new TypeError('bug'))).to.equal(EXIT.failure);
  });

  it('prints one line with the trace id, and masks secrets', () => {
    expect(describeError(service)).to.equal('sis-tts: service error SIS.0401: synthesis error [trace trace-1]');
    expect(describeError(new SisPartError({ part: 0, parts: 1, cause: service }))).to.equal(describeError(service));
    expect(describeError(new SisPartError({ part: 1, parts: 3, cause: service }))).to.match(/^sis-tts: part 2 of 3 failed: .*\[trace trace-1\]$/);
    expect(describeError(new Error('bad token tok-123\nsecond line'), ['tok-123'])).to.equal('sis-tts: bad token <redacted> second line');
  });
});

describe('sis-tts progress bar', () => {
  it('draws parts and seconds on a TTY, for texts of more than one part', () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
    let drawn = '';
    tty.on('data', (d: Buffer) => (drawn += d.toString()));
    const bar = progressBar(tty);
    bar.update(0, 3, 0.5);
    bar.update(2, 3, 4.25);
    bar.stop();
    expect(drawn).to.include('/3 parts').and.include('s of audio');
  });

  it('draws nothing when not a TTY, or for one part', () => {
    const pipe = new PassThrough();
    let drawn = '';
    pipe.on('data', (d: Buffer) => (drawn += d.toString()));
    const bar = progressBar(pipe);
    bar.update(0, 3, 1);
    bar.stop();
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    tty.on('data', (d: Buffer) => (drawn += d.toString()));
    const single = progressBar(tty);
    single.update(0, 1, 1);
    single.stop();
    expect(drawn).to.equal('');
  });
});
