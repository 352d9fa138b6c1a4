#!/usr/bin/env node
/**
 * `sis-emulator`: runs the emulator until SIGINT or SIGTERM; see `sis-emulator --help`.
 * Flags are parsed by commander the way `sis-tts` parses its own (lib/cli/usage.ts): a flag of the
 * wrong type or out of range exits 2 with one line on stderr and the hint to run --help. The ranges
 * are the emulator's own option checks (resolveOptions), reported under the flag's name. What a
 * flag cannot say well (several AK/SK pairs or IAM users, faults) comes from a JSON file (`--config`),
 * checked by the same rules and reported by its field; a flag given replaces the file's value.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { isObject, unknownKeyProblems } from '../checks.js';
import type { Problem } from '../errors.js';
import { SisConfigError } from '../errors.js';
import { failureText, integerArgument, numberArgument, parseCommandLine, UsageError, USAGE_EXIT, type Accepts } from '../cli/usage.js';
import { DEFAULT_TOKEN, resolveOptions, type EmulatorOptions } from './options.js';
import { startEmulator } from './server.js';

const BIN = 'sis-emulator';
const TOKEN_ENV = 'SIS_EMULATOR_TOKEN';
const AK_ENV = 'SIS_EMULATOR_AK';
const SK_ENV = 'SIS_EMULATOR_SK';
const IAM_PASSWORD_ENV = 'SIS_EMULATOR_IAM_PASSWORD';

/** The options a JSON config file may hold: every one but the functions. */
const CONFIG_KEYS = [
  'host',
  'port',
  'tokens',
  'requireAuth',
  'akSk',
  'iamUsers',
  'iamTokenLifetimeMs',
  'projectId',
  'textLimit',
  'streamingPieceLimit',
  'streamingTotalLimit',
  'voices',
  'frameBytes',
  'realtimeFactor',
  'firstAudioDelayMs',
  'handshakeDelayMs',
  'idleTimeoutMs',
  'textTimeoutMs',
  'closeGraceMs',
  'maxConcurrentSessions',
  'fault',
  'faultsByText',
  'errorThenEnd',
] as const satisfies readonly (keyof EmulatorOptions)[];

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
  closeGraceMs: '--close-grace',
  iamTokenLifetimeMs: '--iam-token-lifetime',
  requireAuth: '--no-require-auth',
  errorThenEnd: '--no-error-then-end',
  akSk: '--ak/--sk',
  iamUsers: '--iam-user',
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
  .addOption(
    new Option('--close-grace <ms>', 'after END (or a final ERROR) the server closes if the client has not; 0 never (default: 5000)').argParser(
      integerArgument(wholeNumber),
    ),
  )
  .addOption(new Option('--ak <ak>', 'accept handshakes signed (SDK-HMAC-SHA256) with this access key').env(AK_ENV))
  .addOption(new Option('--sk <sk>', 'the secret key of --ak').env(SK_ENV))
  .option('--iam-user <name>', 'a user of the emulated IAM (POST /v3/auth/tokens on the same port); its tokens open handshakes')
  .option('--iam-domain <name>', 'the account (domain) of --iam-user (default: the user name)')
  .addOption(new Option('--iam-password <password>', 'the password of --iam-user').env(IAM_PASSWORD_ENV))
  .addOption(
    new Option('--iam-token-lifetime <ms>', 'lifetime of the tokens the emulated IAM issues (default: 86400000)').argParser(integerArgument(wholeNumber)),
  )
  .option('--no-require-auth', 'accept handshakes without credentials')
  .option('--no-error-then-end', 'send ERROR alone, without the END (reason ERROR) that follows it by default')
  .option('--config <file>', 'a JSON file of emulator options (akSk, iamUsers, fault, faultsByText, …); the flags given replace its values')
  .addHelpText(
    'after',
    [
      '',
      `The secrets may come from the environment instead, which keeps them out of the process list: ${TOKEN_ENV}, ${AK_ENV}, ${SK_ENV},`,
      `${IAM_PASSWORD_ENV}; or from the --config file (tokens, akSk, iamUsers). Example of a config file:`,
      '  { "akSk": [{ "ak": "…", "sk": "…" }], "iamUsers": [{ "domainName": "d", "userName": "u", "password": "…" }],',
      '    "closeGraceMs": 1000, "faultsByText": [{ "match": "/^flaky/i", "fault": { "kind": "drop", "at": "after-start" }, "times": 2 }] }',
      'While it runs, a control API on the same port answers loopback clients: POST /__emulator/faults (a fault or a list, for the',
      'next connections), GET /__emulator/sessions, GET /__emulator/stats, POST /__emulator/reset.',
    ].join('\n'),
  )
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
  readonly closeGrace?: number | undefined;
  readonly ak?: string | undefined;
  readonly sk?: string | undefined;
  readonly iamUser?: string | undefined;
  readonly iamDomain?: string | undefined;
  readonly iamPassword?: string | undefined;
  readonly iamTokenLifetime?: number | undefined;
  /** false with --no-require-auth. */
  readonly requireAuth: boolean;
  /** false with --no-error-then-end. */
  readonly errorThenEnd: boolean;
  readonly config?: string | undefined;
}

/** An empty value (e.g. `SIS_EMULATOR_SK=`) counts as not given. */
const given = (value: string | undefined): value is string => value !== undefined && value !== '';

/** The AK/SK pair and the IAM user of the flags: each all or nothing. */
const credentialOptions = (flags: Flags): EmulatorOptions => {
  if (given(flags.ak) !== given(flags.sk)) throw new UsageError(`--ak and --sk go together (or ${AK_ENV} and ${SK_ENV})`);
  if ((given(flags.iamUser) || given(flags.iamDomain)) !== given(flags.iamPassword) || (given(flags.iamDomain) && !given(flags.iamUser))) {
    throw new UsageError(`--iam-user and --iam-password go together (or ${IAM_PASSWORD_ENV}), --iam-domain only with them`);
  }
  return {
    ...(given(flags.ak) && given(flags.sk) ? { akSk: [{ ak: flags.ak, sk: flags.sk }] } : {}),
    ...(given(flags.iamUser) && given(flags.iamPassword)
      ? { iamUsers: [{ domainName: given(flags.iamDomain) ? flags.iamDomain : flags.iamUser, userName: flags.iamUser, password: flags.iamPassword }] }
      : {}),
  };
};

/** The options of a JSON config file; a problem is reported as `--config <file>: <field>: …`. */
const configFileOptions = (file: string): EmulatorOptions => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--config ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`--config ${file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isObject(json)) throw new UsageError(`--config ${file}: must be a JSON object of emulator options, like { "akSk": [...] }`);
  const unknown = unknownKeyProblems(json, CONFIG_KEYS);
  if (unknown.length > 0) throw new UsageError(`--config ${file}: ${unknown.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return json as EmulatorOptions;
};

/** The emulator options of the flags and the config file, checked by the emulator's own rules. */
const emulatorOptions = (flags: Flags): EmulatorOptions => {
  const fromFlags: EmulatorOptions = {
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
    ...(flags.closeGrace === undefined ? {} : { closeGraceMs: flags.closeGrace }),
    ...(flags.iamTokenLifetime === undefined ? {} : { iamTokenLifetimeMs: flags.iamTokenLifetime }),
    ...(flags.requireAuth ? {} : { requireAuth: false }),
    ...(flags.errorThenEnd ? {} : { errorThenEnd: false }),
    ...credentialOptions(flags),
  };
  const options: EmulatorOptions = { ...(flags.config === undefined ? {} : configFileOptions(flags.config)), ...fromFlags };
  try {
    resolveOptions(options);
  } catch (error) {
    if (!(error instanceof SisConfigError)) throw error;
    // A problem is named by the flag that gave the value, or by its field in the config file.
    const named = (p: Problem): string => {
      const key = p.path.split('.')[0] ?? '';
      if (Object.hasOwn(fromFlags, key) && Object.hasOwn(FLAGS, key)) return `${FLAGS[key as keyof typeof FLAGS]}: ${p.message}`;
      return flags.config === undefined ? `${p.path}: ${p.message}` : `--config ${flags.config}: ${p.path}: ${p.message}`;
    };
    throw new UsageError(error.problems.map(named).join('; '));
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
  const { akSk = [], iamUsers = [], requireAuth = true } = parsed.options;
  const token = emulator.token === DEFAULT_TOKEN ? `X-Auth-Token: ${DEFAULT_TOKEN}` : 'the X-Auth-Token you configured';
  const others = [...(akSk.length > 0 ? ['sign with the AK/SK you configured'] : []), ...(iamUsers.length > 0 ? ['send a token of the emulated IAM'] : [])];
  const auth = requireAuth ? `must send ${[token, ...others].join(' or ')}` : 'need no credentials';
  process.stdout.write(
    `sis-emulator listening on ${emulator.url} (project id ${emulator.projectId}; clients connect to ${emulator.url}/v1/${emulator.projectId}/rtts (real-time) or ${emulator.url}/v1/${emulator.projectId}/vcs/voices/clone (streaming) and ${auth})\n`,
  );
  const iam = iamUsers.length > 0 ? `emulated IAM: POST ${emulator.iamEndpoint}/v3/auth/tokens; ` : '';
  process.stdout.write(`${iam}control API (loopback clients only): ${emulator.iamEndpoint}/__emulator/{faults,sessions,stats,reset}\n`);
  const stop = (): void => {
    void emulator.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
};

await main();
