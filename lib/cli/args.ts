/**
 * The command line of `sis-tts`, parsed with commander into plain options. Flags are named as the
 * library names the same thing (`--audio-format` is `audioFormat`, `--sample-rate` is `sampleRate`,
 * `--allow-plain-ws` is `allowPlainWs`), and their ranges come from the protocol's rules.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { REQUEST_DEFAULTS } from '../protocol/request.js';
import { AUDIO_FORMATS, Pitch, RANGES, SAMPLE_RATES, Speed, Volume } from '../protocol/rules.js';
import type { AudioFormat } from '../protocol/wire.js';
import { SIS_ENV } from '../auth/env.js';
import { CONTAINERS, EXTENSIONS, STDOUT, resolveOutput, type Container } from './output.js';
import { integerArgument, integerRange, parseCommandLine, UsageError, type BinOutput, type CommandLine } from './usage.js';

/** What `sis-tts` was asked to do, checked. */
export interface CliOptions {
  /** The text argument, if given. */
  readonly text: string | undefined;
  readonly file: string | undefined;
  /** A file path, or `-` for stdout. */
  readonly output: string;
  /** Resolved from `--container` and the output's extension (see {@link resolveOutput}). */
  readonly container: Container;
  /** Resolved from `--audio-format` and the output's extension. */
  readonly audioFormat: AudioFormat;
  readonly sampleRate: 8000 | 16000;
  readonly voice: string | undefined;
  readonly speed: number | undefined;
  readonly pitch: number | undefined;
  readonly volume: number | undefined;
  readonly emulator: boolean;
  readonly allowPlainWs: boolean;
  readonly json: boolean;
  readonly concurrency: number;
  readonly maxPartLength: number;
  readonly retries: number;
}

/** `8000`, `16000`, or the same as `8k`, `16k`. */
const sampleRate = (value: string): 8000 | 16000 => {
  const given = value.trim().toLowerCase();
  const rate = SAMPLE_RATES.find((r) => given === String(r) || given === `${r / 1000}k`);
  if (rate === undefined) throw new InvalidArgumentError(`expected ${SAMPLE_RATES.join(' or ')} (or ${SAMPLE_RATES.map((r) => `${r / 1000}k`).join(', ')}).`);
  return rate;
};

const range = (field: keyof typeof RANGES): string => `${RANGES[field].min}..${RANGES[field].max}`;

const EPILOG = `
Output:
  The extension of --output says what the file holds: ${Object.keys(EXTENSIONS).join(' ')}.
  .wav is a WAV file (pcm, alaw or ulaw); .mp3 is mp3; .pcm, .alaw and .ulaw are that audio format
  without a header; .raw is any audio format without a header. A flag that disagrees with the
  extension is an error. Any other extension needs --container (or --audio-format mp3).
  -o - writes to stdout: --audio-format (default ${REQUEST_DEFAULTS.audioFormat}) in --container (default wav; mp3 is never in a WAV).

Credentials come from the environment: ${SIS_ENV.ak} and ${SIS_ENV.sk} (or
${SIS_ENV.token}), ${SIS_ENV.projectId}, ${SIS_ENV.region} (or ${SIS_ENV.endpoint}),
and optionally ${SIS_ENV.enterpriseProjectId}. Without them, sis-tts names what is missing and
exits 2; --emulator uses the embedded emulator instead (and ignores the variables).

Exit codes: 0 ok, 1 local failure (e.g. writing the file), 2 bad usage (flags, input, credentials
missing), 3 service error, 4 auth error, 130 interrupted.

Examples:
  sis-tts "你好，世界" -o hello.wav
  sis-tts --file story.txt --voice chinese_huaxiaomei_common --sample-rate 16k -o story.mp3
  echo "hello" | sis-tts --audio-format alaw -o - | aplay`;

/** The program with every flag; a fresh one per parse, as commander keeps what it parsed. */
const sisTtsCommand = (version: string): Command =>
  new Command()
    .name('sis-tts')
    .description('Speak a text with Huawei Cloud SIS real-time speech synthesis and save the audio.')
    .argument('[text]', 'the text to speak (or use --file, or pipe it on stdin)')
    .requiredOption('-o, --output <file>', 'where to write the audio: a file (see Output below), or - for stdout')
    .option('-f, --file <path>', 'read the text from a file')
    .option('--voice <name>', 'the voice, e.g. chinese_xiaoyan_common')
    .addOption(
      new Option('--audio-format <format>', `audio format (default: from the output's extension, else ${REQUEST_DEFAULTS.audioFormat})`).choices(AUDIO_FORMATS),
    )
    .addOption(
      new Option('--sample-rate <hz>', `sample rate: ${SAMPLE_RATES.join(' or ')} (or 8k, 16k)`).argParser(sampleRate).default(REQUEST_DEFAULTS.sampleRate),
    )
    .option('--speed <n>', `speed, ${range('speed')}`, integerArgument(Speed))
    .option('--pitch <n>', `pitch, ${range('pitch')}`, integerArgument(Pitch))
    .option('--volume <n>', `volume, ${range('volume')}`, integerArgument(Volume))
    .addOption(new Option('--container <kind>', "wav or raw (default: from the output's extension; wav for stdout)").choices(CONTAINERS))
    .option('--emulator', 'use the embedded emulator instead of the service', false)
    .option('--allow-plain-ws', `allow a plain ws:// ${SIS_ENV.endpoint} that is not loopback (unencrypted: a relay on a trusted network only)`, false)
    // The name the issue tracker and older notes use; one meaning only: a plain ws:// endpoint.
    .addOption(new Option('--allow-insecure', 'the same as --allow-plain-ws').hideHelp())
    .option('--json', "print the output, sizes and each part's trace id as JSON on stdout", false)
    .option('--concurrency <n>', 'sessions at once for a long text', integerArgument(integerRange(1, 16)), 2)
    .option('--max-part-length <n>', 'longest part of a long text, in characters', integerArgument(integerRange(1, 10_000)), 500)
    .option('--retries <n>', 'retries of a part that failed before any audio, for transient errors', integerArgument(integerRange(0, 10)), 2)
    .version(version, '-V, --version')
    .addHelpText('after', EPILOG)
    .allowExcessArguments(false);

interface Flags {
  readonly output: string;
  readonly file?: string | undefined;
  readonly voice?: string | undefined;
  readonly audioFormat?: AudioFormat | undefined;
  readonly sampleRate: 8000 | 16000;
  readonly speed?: number | undefined;
  readonly pitch?: number | undefined;
  readonly volume?: number | undefined;
  readonly container?: Container | undefined;
  readonly emulator: boolean;
  readonly allowPlainWs: boolean;
  readonly allowInsecure?: true | undefined;
  readonly json: boolean;
  readonly concurrency: number;
  readonly maxPartLength: number;
  readonly retries: number;
}

/**
 * Parses `argv` (without node and the script). Help and the version are written to `output.out`
 * (`{ kind: 'exit', code: 0 }`); bad usage, including flags that disagree with each other or with
 * the output's extension, to `output.err` as one line and a hint (`{ kind: 'exit', code: 2 }`).
 */
export const parseArgs = (argv: readonly string[], output: BinOutput, version: string): CommandLine<CliOptions> =>
  parseCommandLine(sisTtsCommand(version), argv, output, (program) => {
    const flags = program.opts<Flags>();
    const text = program.args[0];
    if (text !== undefined && flags.file !== undefined) throw new UsageError('give the text as an argument or with --file, not both');
    if (flags.json && flags.output === STDOUT) throw new UsageError(`--json prints to stdout, so the audio cannot go there too (-o ${STDOUT})`);
    const { audioFormat, container } = resolveOutput(flags.output, { audioFormat: flags.audioFormat, container: flags.container });
    return {
      text,
      file: flags.file,
      output: flags.output,
      container,
      audioFormat,
      sampleRate: flags.sampleRate,
      voice: flags.voice,
      speed: flags.speed,
      pitch: flags.pitch,
      volume: flags.volume,
      emulator: flags.emulator,
      allowPlainWs: flags.allowPlainWs || flags.allowInsecure === true,
      json: flags.json,
      concurrency: flags.concurrency,
      maxPartLength: flags.maxPartLength,
      retries: flags.retries,
    };
  });
