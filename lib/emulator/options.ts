/** The emulator's options: their defaults and their validation. */
import {
  boolean,
  check,
  fn,
  integerFrom,
  isObject,
  mustBe,
  nonNegativeNumber,
  objectProblems,
  oneOf,
  optional,
  positiveInteger,
  unknownKeyProblems,
  type Check,
} from '../checks.js';
import { SisConfigError, type Problem } from '../errors.js';
import { isLeft } from '../protocol/either.js';
import { problemsFrom } from '../protocol/problems.js';
import { MAX_TEXT_LENGTH } from '../protocol/rules.js';
import { STREAMING_PIECE_LIMIT, STREAMING_TOTAL_LIMIT } from '../protocol/streaming.js';
import { akskAuthenticator, gatewayAuthenticator, tokenAuthenticator, type AkSkKey, type Authenticator } from './auth.js';
import {
  faultCodecs,
  isSessionFault,
  regexOf,
  textFaultChooser,
  type Fault,
  type FaultChooser,
  type StartFaultChooser,
  type StreamingStartFaultChooser,
  type TextFaultRule,
} from './faults.js';
import { iamService, type IamService, type IamUser } from './iam.js';

export const DEFAULT_TOKEN = 'emulator-token';
export const DEFAULT_PROJECT_ID = 'emulator-project';

/** Options of {@link startEmulator}, all optional; an unknown or invalid one makes it reject with a {@link SisConfigError} listing every problem. */
export interface EmulatorOptions {
  /** Interface to listen on, default `'127.0.0.1'`. */
  readonly host?: string | undefined;
  /** Port, default 0 (an ephemeral port; read it from `emulator.port`). */
  readonly port?: number | undefined;
  /** Accepted `X-Auth-Token` values, default `['emulator-token']`. */
  readonly tokens?: readonly string[] | undefined;
  /** Default true: a handshake without an accepted credential gets HTTP 401 (APIG.0301). */
  readonly requireAuth?: boolean | undefined;
  /** AK/SK pairs whose SDK-HMAC-SHA256 signed handshakes are accepted (besides the tokens). */
  readonly akSk?: readonly AkSkKey[] | undefined;
  /** Users of the emulated IAM (`POST /v3/auth/tokens`); the tokens it issues open handshakes. */
  readonly iamUsers?: readonly IamUser[] | undefined;
  /** Lifetime of the tokens the emulated IAM issues, default 24 hours. */
  readonly iamTokenLifetimeMs?: number | undefined;
  /** The emulator's clock for `X-Sdk-Date` checks and IAM token expiry; default the system clock. */
  readonly clock?: (() => Date) | undefined;
  /** Replaces the token, AK/SK and IAM token checks altogether. */
  readonly authenticate?: Authenticator | undefined;
  /** Only `/v1/{projectId}/rtts` and `/v1/{projectId}/vcs/voices/clone` are served when set; otherwise any project id is. */
  readonly projectId?: string | undefined;
  /** Longest real-time text in code points, default 10,000 (longer: ERROR SIS.0403). */
  readonly textLimit?: number | undefined;
  /** Longest streaming MSG (and ONLY text) in code points, default 300 (longer: ERROR SIS.0403). */
  readonly streamingPieceLimit?: number | undefined;
  /** Characters a streaming session takes in all, default 100,000; a MSG past it is ignored with EVENT `EXCEEDED_TOTAL_TEXT_LENGTH`. */
  readonly streamingTotalLimit?: number | undefined;
  /**
   * `'known'` (default): an unknown voice gets SIS.0411 (real-time: the known voices; streaming: the
   * presets); `'any'`: any `[a-z0-9_]` name is spoken (streaming: registered voices).
   */
  readonly voices?: 'known' | 'any' | undefined;
  /** Audio bytes per binary frame (the last one is shorter), default 3200. */
  readonly frameBytes?: number | undefined;
  /** 0 (default): send as fast as the socket takes it; 1: real time; 2: twice real time. */
  readonly realtimeFactor?: number | undefined;
  /**
   * The think time, default 0: real-time, between the START response and the first audio frame;
   * streaming, between a sentence's completion (or END) and its first audio frame.
   */
  readonly firstAudioDelayMs?: number | undefined;
  /** Every handshake answer (101 or an HTTP error) waits this long, default 0. */
  readonly handshakeDelayMs?: number | undefined;
  /**
   * A connection that sends nothing for this long gets FATAL_ERROR SIS.0304 and is closed (streaming:
   * while no synthesis runs), as the service closes one without START after about 20 s: the limit a warm
   * socket must stay below. Marked `idleClosed` in its record. Default 20,000; 0 disables.
   */
  readonly idleTimeoutMs?: number | undefined;
  /** A streaming MULTI session that gets no MSG or END for this long gets FATAL_ERROR SIS.0416 and is closed. Default 20,000; 0 disables. */
  readonly textTimeoutMs?: number | undefined;
  /** After END (or a final ERROR) the client should close; past this the server closes. Default 5,000; 0 disables. */
  readonly closeGraceMs?: number | undefined;
  /** Sessions running at once; the next START gets ERROR SIS.0312. Default unlimited. */
  readonly maxConcurrentSessions?: number | undefined;
  /** A fault for every connection, or a function choosing one per connection at the handshake. */
  readonly fault?: Fault | FaultChooser | undefined;
  /** Chooses a fault when a real-time START arrives (when the handshake chose none), e.g. by text. */
  readonly faultOnStart?: StartFaultChooser | undefined;
  /** Chooses a fault when a streaming START is accepted (when none was chosen yet), e.g. by voice. */
  readonly faultOnStreamingStart?: StreamingStartFaultChooser | undefined;
  /**
   * Faults by text, as data (a JSON config file can hold them): the first rule whose `match` (a
   * substring, or `/regex/flags`) the START's text matches gives the session its fault, `times` times
   * (default always). Asked when the handshake chose no fault and `faultOnStart` (or `faultOnStreamingStart`)
   * returned none; a streaming START has text only with `text_pieces: 'ONLY'`.
   * @example [{ match: 'flaky', fault: { kind: 'drop', at: 'after-start' }, times: 2 }]
   */
  readonly faultsByText?: readonly TextFaultRule[] | undefined;
  /** Default true: an ERROR frame is followed by END with reason ERROR, as documented for recognition. */
  readonly errorThenEnd?: boolean | undefined;
}

/** Options with every default applied. */
export interface EmulatorConfig {
  readonly host: string;
  readonly port: number;
  readonly tokens: readonly string[];
  /** `undefined` when authentication is not required. */
  readonly authenticate: Authenticator | undefined;
  /** The emulated IAM (its tokens are accepted by `authenticate` unless that was replaced). */
  readonly iam: IamService;
  readonly projectId: string | undefined;
  readonly textLimit: number;
  readonly streamingPieceLimit: number;
  readonly streamingTotalLimit: number;
  readonly voices: 'known' | 'any';
  readonly frameBytes: number;
  readonly realtimeFactor: number;
  readonly firstAudioDelayMs: number;
  readonly handshakeDelayMs: number;
  readonly idleTimeoutMs: number;
  readonly textTimeoutMs: number;
  readonly closeGraceMs: number;
  readonly maxConcurrentSessions: number;
  readonly fault: FaultChooser;
  readonly faultOnStart: StartFaultChooser | undefined;
  readonly faultOnStreamingStart: StreamingStartFaultChooser | undefined;
  readonly errorThenEnd: boolean;
}

// Node's timers overflow past 2^31 - 1 ms.
const MAX_DELAY = 2 ** 31 - 1;
const delayMs = integerFrom(0, MAX_DELAY);

/** Problems of a fault value; `path` prefixes their paths. */
export const faultProblems = (fault: unknown, path: string): Problem[] => {
  const kind = typeof fault === 'object' && fault !== null ? (fault as { kind?: unknown }).kind : undefined;
  if (typeof kind !== 'string' || !Object.hasOwn(faultCodecs, kind)) return oneOf(Object.keys(faultCodecs))(path === '' ? 'kind' : `${path}.kind`, kind);
  const decoded = faultCodecs[kind as Fault['kind']].decode(fault);
  return isLeft(decoded) ? problemsFrom(decoded.left).map((p) => ({ path: [path, p.path].filter((s) => s !== '').join('.'), message: p.message })) : [];
};

/** Problems of a session fault (not a handshake one, which a START comes too late for). */
const sessionFaultProblems = (fault: unknown, path: string): Problem[] => {
  const problems = faultProblems(fault, path);
  if (problems.length > 0 || isSessionFault(fault as Fault)) return problems;
  return mustBe(`${path}.kind`, 'a session fault (not reject-handshake or silent)', (fault as Fault).kind);
};

const matchProblems = (path: string, match: unknown): Problem[] => {
  if (typeof match !== 'string' || match === '') return mustBe(path, 'a non-empty substring or /regex/flags', match);
  try {
    regexOf(match);
    return [];
  } catch (error) {
    return mustBe(path, `a valid regular expression (${error instanceof Error ? error.message : String(error)})`, match);
  }
};

const RULE_SHAPE = '{ match, fault, times? }';

/** The rules of `faultsByText`, each problem named by its index and field. */
const textFaultRules: Check = (path, rules) =>
  Array.isArray(rules)
    ? rules.flatMap((rule: unknown, i) => {
        const at = `${path}.${i}`;
        if (!isObject(rule)) return mustBe(at, RULE_SHAPE, rule);
        const { match, fault, times } = rule as Record<string, unknown>;
        return [
          ...unknownKeyProblems(rule, ['match', 'fault', 'times'], `${at}.`),
          ...matchProblems(`${at}.match`, match),
          ...sessionFaultProblems(fault, `${at}.fault`),
          ...optional(positiveInteger)(`${at}.times`, times),
        ];
      })
    : mustBe(path, `a list of ${RULE_SHAPE}`, rules);

/** A list of credentials such as `{ ak, sk }`: the problems name the fields, never their values. */
const credentialList = (fields: readonly string[]): Check => {
  const shape = `{ ${fields.join(', ')} }`;
  const isCredential = (entry: unknown): boolean =>
    typeof entry === 'object' &&
    entry !== null &&
    fields.every((f) => typeof (entry as Record<string, unknown>)[f] === 'string' && (entry as Record<string, unknown>)[f] !== '');
  return (path, list) =>
    Array.isArray(list)
      ? list.flatMap((entry: unknown, i) => (isCredential(entry) ? [] : mustBe(`${path}.${i}`, `${shape} with non-empty strings`, entry, { secret: true })))
      : mustBe(path, `a list of ${shape}`, list, { secret: true });
};

/** The check of each option (when given), in the order problems are listed; the compiler asks for one per option. */
const OPTION_CHECKS = {
  host: check('a host name or address', (value) => typeof value === 'string' && value !== ''),
  port: integerFrom(0, 65535),
  tokens: check(
    'a non-empty list of non-empty strings',
    (value) => Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== ''),
    {
      secret: true,
    },
  ),
  requireAuth: boolean,
  akSk: credentialList(['ak', 'sk']),
  iamUsers: credentialList(['domainName', 'userName', 'password']),
  iamTokenLifetimeMs: positiveInteger,
  clock: fn('a function returning a Date'),
  authenticate: fn(),
  projectId: check('a project id of letters, digits, - and _', (value) => typeof value === 'string' && /^[A-Za-z0-9_-]+$/.test(value)),
  textLimit: positiveInteger,
  streamingPieceLimit: positiveInteger,
  streamingTotalLimit: positiveInteger,
  voices: oneOf(['known', 'any']),
  frameBytes: integerFrom(1, 64 * 1024 * 1024),
  realtimeFactor: nonNegativeNumber,
  firstAudioDelayMs: delayMs,
  idleTimeoutMs: delayMs,
  handshakeDelayMs: delayMs,
  textTimeoutMs: delayMs,
  closeGraceMs: delayMs,
  maxConcurrentSessions: positiveInteger,
  fault: (path, value) => (typeof value === 'function' ? [] : faultProblems(value, path)),
  faultOnStart: fn(),
  faultOnStreamingStart: fn(),
  faultsByText: textFaultRules,
  errorThenEnd: boolean,
} as const satisfies { readonly [K in keyof Required<EmulatorOptions>]: Check };

const OPTION_KEYS = Object.keys(OPTION_CHECKS);

/** Throws {@link SisConfigError} when a fault is not valid. */
export const assertFault = (fault: unknown, subject: string): void => {
  const problems = faultProblems(fault, '');
  if (problems.length > 0) throw new SisConfigError(problems, subject);
};

/** `faultOnStart` and `faultOnStreamingStart`, each followed by the rules of `faultsByText`. */
const startFaultChoosers = (
  options: EmulatorOptions,
): { faultOnStart: StartFaultChooser | undefined; faultOnStreamingStart: StreamingStartFaultChooser | undefined } => {
  const { faultOnStart, faultOnStreamingStart, faultsByText = [] } = options;
  if (faultsByText.length === 0) return { faultOnStart, faultOnStreamingStart };
  // One chooser for both APIs, so that `times` counts the sessions of either.
  const byText = textFaultChooser(faultsByText);
  return {
    faultOnStart: (command, context) => faultOnStart?.(command, context) ?? byText(command.text),
    faultOnStreamingStart: (command, context) => faultOnStreamingStart?.(command, context) ?? byText(command.text),
  };
};

/**
 * Validates the options and applies the defaults.
 * @throws {SisConfigError} listing every problem found.
 */
export const resolveOptions = (options: EmulatorOptions): EmulatorConfig => {
  const notAnObject = objectProblems('', options, '{ port, tokens, ... }');
  if (notAnObject.length > 0) throw new SisConfigError(notAnObject, 'emulator options');
  const problems: Problem[] = [
    ...unknownKeyProblems(options, OPTION_KEYS),
    ...Object.entries(OPTION_CHECKS).flatMap(([key, inner]) => optional(inner)(key, (options as Record<string, unknown>)[key])),
  ];
  if (problems.length > 0) throw new SisConfigError(problems, 'emulator options');

  const { fault } = options;
  const accepted = options.tokens ?? [DEFAULT_TOKEN];
  const clock = options.clock ?? ((): Date => new Date());
  const iam = iamService({ users: options.iamUsers ?? [], tokenLifetimeMs: options.iamTokenLifetimeMs ?? 24 * 3_600_000, clock });
  const standard = gatewayAuthenticator({
    token: tokenAuthenticator(accepted, iam.isValidToken),
    akSk: options.akSk === undefined ? undefined : akskAuthenticator(options.akSk, { clock }),
  });
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    tokens: accepted,
    authenticate: options.requireAuth === false ? undefined : (options.authenticate ?? standard),
    iam,
    projectId: options.projectId,
    textLimit: options.textLimit ?? MAX_TEXT_LENGTH,
    streamingPieceLimit: options.streamingPieceLimit ?? STREAMING_PIECE_LIMIT,
    streamingTotalLimit: options.streamingTotalLimit ?? STREAMING_TOTAL_LIMIT,
    voices: options.voices ?? 'known',
    frameBytes: options.frameBytes ?? 3200,
    realtimeFactor: options.realtimeFactor ?? 0,
    firstAudioDelayMs: options.firstAudioDelayMs ?? 0,
    handshakeDelayMs: options.handshakeDelayMs ?? 0,
    idleTimeoutMs: options.idleTimeoutMs ?? 20_000,
    textTimeoutMs: options.textTimeoutMs ?? 20_000,
    closeGraceMs: options.closeGraceMs ?? 5_000,
    maxConcurrentSessions: options.maxConcurrentSessions ?? Number.POSITIVE_INFINITY,
    fault: typeof fault === 'function' ? fault : () => fault,
    ...startFaultChoosers(options),
    errorThenEnd: options.errorThenEnd ?? true,
  };
};
