/** The command line of `sis-tts`, parsed with commander into plain options. */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AUDIO_FORMATS, type AudioFormat } from '../protocol/wire.js';

export interface CliOptions {
  /** The text argument, if given. */
  readonly text: string | undefined;
  readonly file: string | undefined;
  /** A file path, or `-` for stdout. */
  readonly output: string;
  /** Explicit container; default from the output's extension. */
  readonly container: 'wav' | 'raw' | undefined;
  readonly voice: string | undefined;
  readonly audioFormat: AudioFormat;
  readonly sampleRate: 8000 | 16000;
  readonly speed: number | undefined;
  readonly pitch: number | undefined;
  readonly volume: number | undefined;
  readonly emulator: boolean;
  readonly json: boolean;
  readonly concurrency: number;
  readonly maxPartLength: number;
  readonly retries: number;
}

export type Parsed = { readonly kind: 'run'; readonly options: CliOptions } | { readonly kind: 'exit'; readonly code: number };

const integer =
  (min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    return n;
  };

const sampleRate = (value: string): 8000 | 16000 => {
  if (value === '8000' || value === '8k') return 8000;
  if (value === '16000' || value === '16k') return 16000;
  throw new InvalidArgumentError('expected 8000 or 16000.');
};

const EPILOG = `
Credentials come from the environment: HUAWEICLOUD_SIS_AK and HUAWEICLOUD_SIS_SK (or
HUAWEICLOUD_SIS_TOKEN), HUAWEICLOUD_SIS_PROJECT_ID, HUAWEICLOUD_SIS_REGION (or HUAWEICLOUD_SIS_ENDPOINT),
and optionally HUAWEICLOUD_SIS_ENTERPRISE_PROJECT_ID. Without any, the embedded emulator is used.

Exit codes: 0 ok, 1 local failure (e.g. writing the file), 2 bad usage, 3 service error, 4 auth error.

Examples:
  sis-tts "你好，世界" -o hello.wav
  sis-tts --file story.txt --voice chinese_huaxiaomei_common --rate 16000 -o story.wav
  echo "hello" | sis-tts --format alaw -o - > hello.wav`;

/**
 * Parses `argv` (without node and the script). Help and errors are written through `write`;
 * an error gives `{ kind: 'exit', code: 2 }`, `--help` and `--version` code 0.
 */
export const parseArgs = (argv: readonly string[], write: { out: (s: string) => void; err: (s: string) => void }, version: string): Parsed => {
  const program = new Command()
    .name('sis-tts')
    .description('Speak a text with Huawei Cloud SIS real-time speech synthesis and save the audio.')
    .argument('[text]', 'the text to speak (or use --file, or pipe it on stdin)')
    .requiredOption('-o, --output <file>', 'where to write the audio: a .wav file, a raw file, or - for stdout')
    .option('-f, --file <path>', 'read the text from a file')
    .option('--voice <name>', 'the voice, e.g. chinese_xiaoyan_common')
    .addOption(new Option('--format <format>', 'audio format').choices(AUDIO_FORMATS).default('pcm'))
    .option('--rate <hz>', 'sample rate: 8000 or 16000', sampleRate, 8000)
    .option('--speed <n>', 'speed, -500..500', integer(-500, 500))
    .option('--pitch <n>', 'pitch, -500..500', integer(-500, 500))
    .option('--volume <n>', 'volume, 0..100', integer(0, 100))
    .addOption(new Option('--container <kind>', 'wav or raw (default: from the output extension; wav for stdout)').choices(['wav', 'raw']))
    .option('--emulator', 'use the embedded emulator (the default when no credentials are set)', false)
    .option('--json', 'print trace ids and sizes as JSON on stdout', false)
    .option('--concurrency <n>', 'sessions at once for a long text', integer(1, 16), 2)
    .option('--max-part-length <n>', 'longest part of a long text, in characters', integer(1, 10_000), 500)
    .option('--retries <n>', 'retries of a part that failed before any audio, for transient errors', integer(0, 10), 2)
    .version(version, '-V, --version')
    .addHelpText('after', EPILOG)
    .showHelpAfterError('(run sis-tts --help for usage)')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: write.out, writeErr: write.err });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const done = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      return { kind: 'exit', code: done ? 0 : 2 };
    }
    throw error;
  }
  const o = program.opts<{
    output: string;
    file?: string | undefined;
    voice?: string | undefined;
    format: AudioFormat;
    rate: 8000 | 16000;
    speed?: number | undefined;
    pitch?: number | undefined;
    volume?: number | undefined;
    container?: 'wav' | 'raw' | undefined;
    emulator: boolean;
    json: boolean;
    concurrency: number;
    maxPartLength: number;
    retries: number;
  }>();
  const text = program.args[0];
  return {
    kind: 'run',
    options: {
      text,
      file: o.file,
      output: o.output,
      container: o.container,
      voice: o.voice,
      audioFormat: o.format,
      sampleRate: o.rate,
      speed: o.speed,
      pitch: o.pitch,
      volume: o.volume,
      emulator: o.emulator,
      json: o.json,
      concurrency: o.concurrency,
      maxPartLength: o.maxPartLength,
      retries: o.retries,
    },
  };
};
