#!/usr/bin/env node
/**
 * `sis-emulator`: runs the emulator until SIGINT or SIGTERM; see `sis-emulator --help`.
 * Flags are parsed by commander the way `sis-tts` parses its own (lib/cli/usage.ts): a flag of the
 * wrong type or out of range exits 2 with one line on stderr and the hint to run --help. The ranges
 * are the emulator's own option checks (resolveOptions), reported under the flag's name.
 */
import { Command, Option } from 'commander';
import { SisConfigError } from '../errors.js';
import { failureText, integerArgument, numberArgument, parseCommandLine, UsageError, USAGE_EXIT, type Accepts } from '../cli/usage.js';
import { DEFAULT_TOKEN, resolveOptions, type EmulatorOptions } from './options.js';
import { startEmulator } from './server.js';

const BIN = 'sis-emulator';
const TOKEN_ENV = 'SIS_EMULATOR_TOKEN';

const wholeNumber: Accepts<number> = {
  name: 'a whole number',
  is: (value): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0,
};

/** Each flag and the emulator option it sets, so that option problems are reported by flag. */
const FLAGS = {
  port: '--port',
  host: '--host',
  tokens: '--token',
  projectId: '--project-id',
  realtimeFactor: '--realtime',
  frameBytes: '--frame-bytes',
  textLimit: '--text-limit',
  idleTimeoutMs: '--idle-timeout',
  firstAudioDelayMs: '--think-time',
  handshakeDelayMs: '--handshake-delay',
  textTimeoutMs: '--text-timeout',
  streamingPieceLimit: '--streaming-piece-limit',
  streamingTotalLimit: '--streaming-total-limit',
  maxConcurrentSessions: '--max-concurrent',
  voices: '--voices',
} as const satisfies Partial<Record<keyof EmulatorOptions, string>>;

const program = new Command()
  .name(BIN)
  .description('Runs the local SIS synthesis emulator (real-time and streaming synthesis) until SIGINT or SIGTERM.')
  .addOption(new Option('-p, --port <port>', 'port to listen on (default: a free one, printed at start)').argParser(integerArgument(wholeNumber)))
  .option('--host <host>', 'interface to listen on (default: 127.0.0.1)')
  .addOption(new Option('--token <token>', 'the accepted X-Auth-Token (default: emulator-token)').env(TOKEN_ENV))
  .option('--project-id <id>', 'serve only /v1/<id>/rtts and /v1/<id>/vcs/voices/clone (default: any project id)')
  .addOption(new Option('--realtime <factor>', '0: as fast as possible (default); 1: real time; 2: twice real time').argParser(numberArgument))
  .addOption(new Option('--frame-bytes <n>', 'audio bytes per binary frame (default: 3200)').argParser(integerArgument(wholeNumber)))
  .addOption(new Option('--text-limit <n>', 'longest real-time text in characters (default: 10000)').argParser(integerArgument(wholeNumber)))
  .addOption(
    new Option('--streaming-piece-limit <n>', 'longest streaming MSG in characters; longer: ERROR SIS.0403 (default: 300)').argParser(
      integerArgument(wholeNumber),
    ),
  )
  .addOption(
    new Option('--streaming-total-limit <n>', 'characters a streaming session takes; past it: EVENT EXCEEDED_TOTAL_TEXT_LENGTH (default: 100000)').argParser(
      integerArgument(wholeNumber),
    ),
  )
  .addOption(new Option('--think-time <ms>', "think time: the wait before each sentence's first audio (default: 0)").argParser(integerArgument(wholeNumber)))
  .addOption(new Option('--handshake-delay <ms>', 'delay before every handshake answer (default: 0)').argParser(integerArgument(wholeNumber)))
  .addOption(new Option('--idle-timeout <ms>', 'close a connection silent this long; 0 never (default: 20000)').argParser(integerArgument(wholeNumber)))
  .addOption(
    new Option('--text-timeout <ms>', 'FATAL_ERROR SIS.0416 for a streaming session without MSG or END this long; 0 never (default: 20000)').argParser(
      integerArgument(wholeNumber),
    ),
  )
  .addOption(new Option('--max-concurrent <n>', 'sessions at once (default: unlimited)').argParser(integerArgument(wholeNumber)))
  .addOption(
    new Option('--voices <which>', 'known: an unknown voice gets SIS.0411 (default); any: any voice name is spoken').choices(['known', 'any'] as const),
  )
  .addHelpText('after', `\nThe token may also come from ${TOKEN_ENV}, which keeps it out of the process list.`)
  .allowExcessArguments(false);

interface Flags {
  readonly port?: number | undefined;
  readonly host?: string | undefined;
  readonly token?: string | undefined;
  readonly projectId?: string | undefined;
  readonly realtime?: number | undefined;
  readonly frameBytes?: number | undefined;
  readonly textLimit?: number | undefined;
  readonly streamingPieceLimit?: number | undefined;
  readonly streamingTotalLimit?: number | undefined;
  readonly thinkTime?: number | undefined;
  readonly handshakeDelay?: number | undefined;
  readonly idleTimeout?: number | undefined;
  readonly textTimeout?: number | undefined;
  readonly maxConcurrent?: number | undefined;
  readonly voices?: 'known' | 'any' | undefined;
}

/** The emulator options of the flags, checked by the emulator's own rules. */
const emulatorOptions = (flags: Flags): EmulatorOptions => {
  const options: EmulatorOptions = {
    ...(flags.port === undefined ? {} : { port: flags.port }),
    ...(flags.host === undefined ? {} : { host: flags.host }),
    // An empty token (e.g. SIS_EMULATOR_TOKEN= ) means the default one.
    ...(flags.token === undefined || flags.token === '' ? {} : { tokens: [flags.token] }),
    ...(flags.projectId === undefined ? {} : { projectId: flags.projectId }),
    ...(flags.realtime === undefined ? {} : { realtimeFactor: flags.realtime }),
    ...(flags.frameBytes === undefined ? {} : { frameBytes: flags.frameBytes }),
    ...(flags.textLimit === undefined ? {} : { textLimit: flags.textLimit }),
    ...(flags.streamingPieceLimit === undefined ? {} : { streamingPieceLimit: flags.streamingPieceLimit }),
    ...(flags.streamingTotalLimit === undefined ? {} : { streamingTotalLimit: flags.streamingTotalLimit }),
    ...(flags.thinkTime === undefined ? {} : { firstAudioDelayMs: flags.thinkTime }),
    ...(flags.handshakeDelay === undefined ? {} : { handshakeDelayMs: flags.handshakeDelay }),
    ...(flags.idleTimeout === undefined ? {} : { idleTimeoutMs: flags.idleTimeout }),
    ...(flags.textTimeout === undefined ? {} : { textTimeoutMs: flags.textTimeout }),
    ...(flags.maxConcurrent === undefined ? {} : { maxConcurrentSessions: flags.maxConcurrent }),
    ...(flags.voices === undefined ? {} : { voices: flags.voices }),
  };
  try {
    resolveOptions(options);
  } catch (error) {
    if (!(error instanceof SisConfigError)) throw error;
    const flag = (path: string): string => (Object.hasOwn(FLAGS, path) ? FLAGS[path as keyof typeof FLAGS] : path);
    throw new UsageError(error.problems.map((p) => `${flag(p.path)}: ${p.message}`).join('; '));
  }
  return options;
};

const main = async (): Promise<void> => {
  const parsed = parseCommandLine(program, process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }, (p) =>
    emulatorOptions(p.opts<Flags>()),
  );
  if (parsed.kind === 'exit') {
    process.exitCode = parsed.code;
    return;
  }
  const emulator = await startEmulator(parsed.options).catch((error: unknown) => {
    // The options were checked above: what is left (a port in use, a host that does not resolve) is a failure (1).
    const usage = error instanceof SisConfigError;
    process.stderr.write(failureText(BIN, `${usage ? '' : 'cannot start: '}${error instanceof Error ? error.message : String(error)}`, usage));
    process.exitCode = usage ? USAGE_EXIT : 1;
    return undefined;
  });
  if (emulator === undefined) return;
  // The token is printed only when it is the public demo token.
  const auth = emulator.token === DEFAULT_TOKEN ? `X-Auth-Token: ${DEFAULT_TOKEN}` : 'the X-Auth-Token you configured';
  process.stdout.write(
    `sis-emulator listening on ${emulator.url} (project id ${emulator.projectId}; clients connect to ${emulator.url}/v1/${emulator.projectId}/rtts (real-time) or ${emulator.url}/v1/${emulator.projectId}/vcs/voices/clone (streaming) and must send ${auth})\n`,
  );
  const stop = (): void => {
    void emulator.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
};

await main();
