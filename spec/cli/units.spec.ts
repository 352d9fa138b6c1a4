import { expect } from 'chai';
import fc from 'fast-check';
import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { inspect } from 'node:util';
import {
  createSisClient,
  SisAuthError,
  SisConnectionError,
  SisFileError,
  SisHandshakeError,
  SisPartError,
  SisRequestError,
  SisServiceError,
} from '../../lib/index.js';
import { parseArgs } from '../../lib/cli/args.js';
import { resolveCredentials } from '../../lib/cli/credentials.js';
import { EXIT, describeError, exitCodeFor } from '../../lib/cli/exit-codes.js';
import { CONTAINERS, EXTENSIONS, resolveOutput, type Container, type OutputFormat } from '../../lib/cli/output.js';
import { progressBar } from '../../lib/cli/progress.js';
import { failureText, parseCommandLine, UsageError } from '../../lib/cli/usage.js';
import { AUDIO_FORMATS, RANGES } from '../../lib/protocol/rules.js';
import type { AudioFormat } from '../../lib/protocol/wire.js';
import { SECRETS } from '../helpers/secrets.js';

/** Collects what a parse writes. */
const recorder = (): { out: (s: string) => void; err: (s: string) => void; written: { out: string; err: string } } => {
  const written = { out: '', err: '' };
  return { out: (s) => (written.out += s), err: (s) => (written.err += s), written };
};

const options = (argv: readonly string[]) => {
  const parsed = parseArgs(argv, recorder(), '1.0.0');
  return parsed.kind === 'run' ? parsed.options : undefined;
};

/** The exit code and stderr of a parse that must fail. */
const usage = (argv: readonly string[]): { code: number; err: string } => {
  const output = recorder();
  const parsed = parseArgs(argv, output, '1.0.0');
  return { code: parsed.kind === 'exit' ? parsed.code : -1, err: output.written.err };
};

describe('sis-tts arguments', () => {
  it('reads the text, the output and every synthesis flag, named as the library names them', () => {
    expect(
      options([
        '你好',
        '-o',
        'a.wav',
        '--voice',
        'chinese_xiaoqi_common',
        '--audio-format',
        'alaw',
        '--sample-rate',
        '16000',
        '--speed',
        '-20',
        '--pitch',
        '10',
        '--volume',
        '80',
        '--json',
        '--allow-plain-ws',
      ]),
    ).to.include({
      text: '你好',
      output: 'a.wav',
      voice: 'chinese_xiaoqi_common',
      audioFormat: 'alaw',
      sampleRate: 16000,
      container: 'wav',
      speed: -20,
      pitch: 10,
      volume: 80,
      json: true,
      emulator: false,
      allowPlainWs: true,
      concurrency: 2,
      maxPartLength: 500,
      retries: 2,
    });
  });

  it('defaults to pcm at 8000 Hz, and accepts 8k and 16k', () => {
    expect(options(['x', '-o', 'a.wav'])).to.include({ audioFormat: 'pcm', sampleRate: 8000, allowPlainWs: false, emulator: false });
    expect(options(['x', '-o', 'a.wav', '--sample-rate', '16k'])).to.include({ sampleRate: 16000 });
    expect(options(['x', '-o', 'a.wav', '--sample-rate', '8K'])).to.include({ sampleRate: 8000 });
  });

  it('takes --allow-insecure as a hidden alias of --allow-plain-ws (a plain ws:// endpoint, nothing else)', () => {
    expect(options(['x', '-o', 'a.wav', '--allow-insecure'])).to.include({ allowPlainWs: true });
    const output = recorder();
    parseArgs(['--help'], output, '1.2.3');
    expect(output.written.out).not.to.include('--allow-insecure');
  });

  it('has no --format or --rate: one meaning per name', () => {
    expect(usage(['x', '-o', 'a.wav', '--format', 'alaw'])).to.deep.equal({
      code: 2,
      err: "sis-tts: unknown option '--format'\n(run sis-tts --help for usage)\n",
    });
    expect(usage(['x', '-o', 'a.wav', '--rate', '16000']).err).to.match(/^sis-tts: unknown option '--rate'\n/);
  });

  for (const field of ['speed', 'pitch', 'volume'] as const) {
    it(`accepts --${field} exactly within the protocol's range (${RANGES[field].min}..${RANGES[field].max})`, () => {
      const { min, max } = RANGES[field];
      fc.assert(
        fc.property(fc.integer({ min: min - 1000, max: max + 1000 }), (n) => {
          const parsed = options(['x', '-o', 'a.wav', `--${field}`, String(n)]);
          expect(parsed?.[field]).to.equal(n >= min && n <= max ? n : undefined);
        }),
        { numRuns: 200 },
      );
      expect(usage(['x', '-o', 'a.wav', `--${field}`, '1.5']).err).to.include(`expected an integer from ${min} to ${max}`);
    });
  }

  it("offers exactly the protocol's audio formats", () => {
    for (const format of AUDIO_FORMATS) expect(options(['x', '-o', '-', '--audio-format', format])).to.include({ audioFormat: format });
    expect(usage(['x', '-o', '-', '--audio-format', 'opus']).err).to.include('Allowed choices are pcm, alaw, ulaw, mp3');
  });

  it('is a usage error (exit 2, one line and the hint) for an unknown flag, a value out of range, a missing output', () => {
    for (const argv of [['x', '-o', 'a.wav', '--bogus'], ['x', '-o', 'a.wav', '--speed', '900'], ['x', '-o', 'a.wav', '--sample-rate', '44100'], ['x']]) {
      const { code, err } = usage(argv);
      expect(code, argv.join(' ')).to.equal(2);
      expect(err.split('\n'), err).to.have.length(3).and.to.have.property('1', '(run sis-tts --help for usage)');
      expect(err).to.match(/^sis-tts: /);
    }
    expect(usage(['x']))
      .to.have.property('err')
      .that.match(/--output/);
  });

  it('refuses both a text and --file, and --json with -o -', () => {
    expect(usage(['x', '--file', 'a.txt', '-o', 'a.wav']).err).to.equal(
      'sis-tts: give the text as an argument or with --file, not both\n(run sis-tts --help for usage)\n',
    );
    expect(usage(['x', '--json', '-o', '-']).err).to.match(/^sis-tts: --json prints to stdout/);
  });

  it('prints help and the version with exit 0', () => {
    const output = recorder();
    expect(parseArgs(['--help'], output, '1.2.3')).to.deep.equal({ kind: 'exit', code: 0 });
    expect(output.written.out)
      .to.match(/HUAWEICLOUD_SIS_TOKEN/)
      .and.match(/Exit codes/)
      .and.match(/--audio-format/)
      .and.match(/--allow-plain-ws/);
    expect(parseArgs(['--version'], output, '1.2.3')).to.deep.equal({ kind: 'exit', code: 0 });
    expect(output.written.out).to.include('1.2.3');
    expect(output.written.err).to.equal('');
  });
});

describe('sis-tts output format (resolveOutput)', () => {
  const formats = [undefined, ...AUDIO_FORMATS] as const;
  const containers = [undefined, ...CONTAINERS] as const;
  const given = (audioFormat: AudioFormat | undefined, container: Container | undefined) => ({ audioFormat, container });

  it('takes the format from the extension: .mp3 is mp3, .wav a WAV, .pcm/.raw raw', () => {
    expect(resolveOutput('x.mp3', given(undefined, undefined))).to.deep.equal({ audioFormat: 'mp3', container: 'raw' });
    expect(resolveOutput('x.WAV', given(undefined, undefined))).to.deep.equal({ audioFormat: 'pcm', container: 'wav' });
    expect(resolveOutput('x.wav', given('ulaw', undefined))).to.deep.equal({ audioFormat: 'ulaw', container: 'wav' });
    expect(resolveOutput('x.pcm', given(undefined, undefined))).to.deep.equal({ audioFormat: 'pcm', container: 'raw' });
    expect(resolveOutput('x.alaw', given(undefined, 'raw'))).to.deep.equal({ audioFormat: 'alaw', container: 'raw' });
    expect(resolveOutput('x.raw', given('ulaw', undefined))).to.deep.equal({ audioFormat: 'ulaw', container: 'raw' });
  });

  it('says which flag disagrees with the extension', () => {
    expect(() => resolveOutput('x.mp3', given('pcm', undefined))).to.throw(
      UsageError,
      '--audio-format pcm disagrees with the output x.mp3: a .mp3 file holds mp3',
    );
    expect(() => resolveOutput('x.wav', given(undefined, 'raw'))).to.throw(UsageError, '--container raw disagrees with the output x.wav');
    expect(() => resolveOutput('x.wav', given('mp3', undefined))).to.throw(UsageError, 'mp3 audio is written as it comes, not in a WAV container');
    expect(() => resolveOutput('x.ulaw', given('alaw', undefined))).to.throw(UsageError, 'a .ulaw file holds ulaw');
  });

  it('writes stdout as the flags say, a WAV of pcm by default, mp3 as it comes', () => {
    expect(resolveOutput('-', given(undefined, undefined))).to.deep.equal({ audioFormat: 'pcm', container: 'wav' });
    expect(resolveOutput('-', given('alaw', 'raw'))).to.deep.equal({ audioFormat: 'alaw', container: 'raw' });
    expect(resolveOutput('-', given('mp3', undefined))).to.deep.equal({ audioFormat: 'mp3', container: 'raw' });
    expect(() => resolveOutput('-', given('mp3', 'wav'))).to.throw(UsageError, 'or with --container raw');
  });

  it('needs --container for an extension it does not know', () => {
    expect(() => resolveOutput('x.bin', given('pcm', undefined))).to.throw(UsageError, 'cannot tell what to write from the extension of x.bin');
    expect(() => resolveOutput('noext', given(undefined, undefined))).to.throw(UsageError, '--container');
    expect(resolveOutput('x.bin', given(undefined, 'raw'))).to.deep.equal({ audioFormat: 'pcm', container: 'raw' });
    expect(resolveOutput('x.bin', given('mp3', undefined))).to.deep.equal({ audioFormat: 'mp3', container: 'raw' });
  });

  it('never contradicts a flag or the extension, and never puts mp3 in a WAV', () => {
    const outputs = ['-', 'x.bin', ...Object.keys(EXTENSIONS).map((e) => `x${e}`)];
    fc.assert(
      fc.property(fc.constantFrom(...outputs), fc.constantFrom(...formats), fc.constantFrom(...containers), (output, audioFormat, container) => {
        let resolved: OutputFormat;
        try {
          resolved = resolveOutput(output, { audioFormat, container });
        } catch (error) {
          expect(error).to.be.instanceOf(UsageError);
          return;
        }
        const implied = EXTENSIONS[output.slice(1)];
        expect(resolved.audioFormat).to.equal(audioFormat ?? implied?.audioFormat ?? resolved.audioFormat);
        expect(resolved.container).to.equal(container ?? implied?.container ?? resolved.container);
        if (implied !== undefined) expect(resolved).to.include({ container: implied.container, audioFormat: implied.audioFormat ?? resolved.audioFormat });
        expect(resolved.audioFormat === 'mp3' && resolved.container === 'wav').to.equal(false);
      }),
    );
  });
});

describe('sis-tts credentials', () => {
  const plain = { allowPlainWs: false };

  it('names every missing variable when nothing is configured', () => {
    const credentials = resolveCredentials({}, plain);
    expect(credentials).to.include({ kind: 'missing', configured: false });
    const problems = credentials.kind === 'missing' ? credentials.problems.join('; ') : '';
    expect(problems)
      .to.include('HUAWEICLOUD_SIS_PROJECT_ID')
      .and.include('HUAWEICLOUD_SIS_REGION')
      .and.include('HUAWEICLOUD_SIS_AK')
      .and.include('HUAWEICLOUD_SIS_TOKEN');
  });

  it('takes a token, the project and the region', () => {
    const credentials = resolveCredentials({ HUAWEICLOUD_SIS_TOKEN: 't', HUAWEICLOUD_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_REGION: 'cn-north-4' }, plain);
    expect(credentials.kind === 'service' ? credentials.options : undefined).to.include({ region: 'cn-north-4', projectId: 'p' });
    expect(credentials.kind === 'service' && 'token' in credentials.options.auth ? credentials.options.auth.token : undefined).to.equal('t');
    expect(credentials.kind === 'service' ? credentials.secrets : []).to.deep.equal(['t']);
  });

  it('takes an AK/SK pair from the environment, masking the SK', () => {
    const credentials = resolveCredentials(
      { HUAWEICLOUD_SIS_AK: 'AKCLI', HUAWEICLOUD_SIS_SK: SECRETS.cliSk, HUAWEICLOUD_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_REGION: 'cn-east-3' },
      plain,
    );
    const auth = credentials.kind === 'service' ? credentials.options.auth : undefined;
    expect(auth !== undefined && 'ak' in auth ? [auth.ak, auth.sk] : []).to.deep.equal(['AKCLI', SECRETS.cliSk]);
    expect(credentials.kind === 'service' ? credentials.secrets : []).to.deep.equal([SECRETS.cliSk]);
    expect(inspect(auth, { depth: 5 }).includes(SECRETS.cliSk), 'the SK shows in util.inspect').to.equal(false);
  });

  it('passes the enterprise project id on', () => {
    const env = { HUAWEICLOUD_SIS_TOKEN: 't', HUAWEICLOUD_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_REGION: 'cn-north-4' };
    const credentials = resolveCredentials({ ...env, HUAWEICLOUD_SIS_ENTERPRISE_PROJECT_ID: 'ep-7' }, plain);
    expect(credentials.kind === 'service' ? credentials.options : undefined).to.include({ enterpriseProjectId: 'ep-7' });
  });

  it('names the missing half of an AK/SK pair, never a value', () => {
    const credentials = resolveCredentials({ HUAWEICLOUD_SIS_AK: 'AKCLI', HUAWEICLOUD_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_REGION: 'cn-east-3' }, plain);
    expect(credentials).to.deep.equal({
      kind: 'missing',
      configured: true,
      problems: ['HUAWEICLOUD_SIS_SK is not set (HUAWEICLOUD_SIS_AK is: both are needed)'],
    });
    const partial = resolveCredentials({ HUAWEICLOUD_SIS_TOKEN: 'secret-value', HUAWEICLOUD_SIS_REGION: 'north' }, plain);
    const problems = partial.kind === 'missing' ? partial.problems.join('; ') : '';
    expect(problems)
      .to.match(/HUAWEICLOUD_SIS_PROJECT_ID/)
      .and.match(/cn-north-4/)
      .and.not.include('secret-value');
  });

  it('refuses a plain ws:// endpoint that is not loopback unless --allow-plain-ws, and the client then accepts it', () => {
    const env = { HUAWEICLOUD_SIS_TOKEN: 't', HUAWEICLOUD_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_ENDPOINT: 'ws://relay.internal:8080' };
    const refused = resolveCredentials(env, plain);
    expect(refused.kind === 'missing' ? refused.problems.join('; ') : '')
      .to.include('HUAWEICLOUD_SIS_ENDPOINT')
      .and.include('--allow-plain-ws');
    const allowed = resolveCredentials(env, { allowPlainWs: true });
    const options = allowed.kind === 'service' ? allowed.options : undefined;
    expect(options).to.include({ endpoint: 'ws://relay.internal:8080', allowPlainWs: true });
    // Creating a client checks the options (it connects only on subscribe).
    expect(options !== undefined && createSisClient(options)).to.be.an('object');
    // Other endpoint problems stay problems.
    expect(resolveCredentials({ ...env, HUAWEICLOUD_SIS_ENDPOINT: 'ws://relay.internal:8080/?q=1' }, { allowPlainWs: true })).to.have.property(
      'kind',
      'missing',
    );
  });

  it('keeps a loopback ws:// endpoint as it is', () => {
    const credentials = resolveCredentials(
      { HUAWEICLOUD_SIS_TOKEN: 't', HUAWEICLOUD_SIS_PROJECT_ID: 'p', HUAWEICLOUD_SIS_ENDPOINT: 'ws://127.0.0.1:1' },
      plain,
    );
    expect(credentials.kind === 'service' ? credentials.options : undefined).to.include({ endpoint: 'ws://127.0.0.1:1' });
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

  it('describes a failure with the trace id, and masks secrets', () => {
    expect(describeError(service)).to.equal('service error SIS.0401: synthesis error [trace trace-1]');
    expect(describeError(new SisPartError({ part: 0, parts: 1, cause: service }))).to.equal(describeError(service));
    expect(describeError(new SisPartError({ part: 1, parts: 3, cause: service }))).to.match(/^part 2 of 3 failed: .*\[trace trace-1\]$/);
    expect(describeError(new Error('bad token tok-123'), ['tok-123'])).to.equal('bad token <redacted>');
  });

  it('prints a failure as one line, and bad usage with the hint to run --help', () => {
    expect(failureText('sis-tts', 'lost\n  the connection', false)).to.equal('sis-tts: lost the connection\n');
    expect(failureText('sis-emulator', 'bad port', true)).to.equal('sis-emulator: bad port\n(run sis-emulator --help for usage)\n');
  });
});

describe('parseCommandLine (both bins)', () => {
  const program = (): Command => new Command().name('tool').option('--n <n>', 'a number').allowExcessArguments(false);

  it('runs interpret on what commander parsed', () => {
    expect(parseCommandLine(program(), ['--n', '3'], recorder(), (p) => p.opts<{ n: string }>().n)).to.deep.equal({ kind: 'run', options: '3' });
  });

  it('turns commander errors and UsageErrors alike into exit 2, one line and the hint', () => {
    for (const [argv, line] of [
      [['--m'], "tool: unknown option '--m'"],
      [['extra'], 'tool: too many arguments. Expected 0 arguments but got 1.'],
      [['--n', '0'], 'tool: n must be positive'],
    ] as const) {
      const output = recorder();
      const parsed = parseCommandLine(program(), argv, output, (p) => {
        if (p.opts<{ n?: string }>().n === '0') throw new UsageError('n must be positive');
      });
      expect(parsed).to.deep.equal({ kind: 'exit', code: 2 });
      expect(output.written.err).to.equal(`${line}\n(run tool --help for usage)\n`);
    }
  });

  it('lets other errors through: they are bugs, not usage', () => {
    expect(() =>
      parseCommandLine(program(), [], recorder(), () => {
        throw new TypeError('bug');
      }),
    ).to.throw(TypeError, 'bug');
  });
});

describe('the README on sis-tts', () => {
  const help = (): string => {
    const output = recorder();
    parseArgs(['--help'], output, '1.0.0');
    return output.written.out;
  };
  const section = async (): Promise<string> => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('**The command line**');
    return readme.slice(start, readme.indexOf('\n\n', start));
  };
  const flags = (text: string): Set<string> => new Set(text.match(/--[a-z][a-z-]*/g) ?? []);

  it('names every flag --help lists, and no other', async () => {
    const readme = flags(await section());
    const listed = flags(help());
    listed.delete('--version');
    expect(
      [...listed].filter((flag) => !readme.has(flag)),
      'in --help, not in the README',
    ).to.deep.equal([]);
    expect(
      [...readme].filter((flag) => !listed.has(flag)),
      'in the README, not in --help',
    ).to.deep.equal([]);
  });

  it('gives the exit codes --help gives', async () => {
    const codes = (text: string): string[] =>
      [...(/Exit codes: (.*? interrupted)/.exec(text.replace(/\s+/g, ' '))?.[1] ?? '').matchAll(/\b(\d+) /g)].map((m) => m[1] ?? '');
    expect(codes(help())).to.deep.equal(['0', '1', '2', '3', '4', '130']);
    expect(codes(await section())).to.deep.equal(codes(help()));
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
