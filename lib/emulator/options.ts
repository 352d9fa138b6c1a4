/** The emulator's options: their defaults and their validation. */
import { isLeft } from 'fp-ts/lib/Either.js';
import { SisConfigError, type Problem } from '../errors.js';
import { problemsFrom, unknownKeyProblems } from '../protocol/problems.js';
import { akskAuthenticator, gatewayAuthenticator, tokenAuthenticator, type AkSkKey, type Authenticator } from './auth.js';
import { faultCodecs, type Fault, type FaultChooser, type StartFaultChooser } from './faults.js';
import { iamService, type IamService, type IamUser } from './iam.js';

export const DEFAULT_TOKEN = 'emulator-token';
export const DEFAULT_PROJECT_ID = 'emulator-project';

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
  /** Only `/v1/{projectId}/rtts` is served when set; otherwise any project id is. */
  readonly projectId?: string | undefined;
  /** Longest text in code points, default 10,000 (longer: ERROR SIS.0403). */
  readonly textLimit?: number | undefined;
  /** `'known'` (default): an unknown voice gets SIS.0411; `'any'`: any `[a-z0-9_]` name is spoken. */
  readonly voices?: 'known' | 'any' | undefined;
  /** Audio bytes per binary frame (the last one is shorter), default 3200. */
  readonly frameBytes?: number | undefined;
  /** 0 (default): send as fast as the socket takes it; 1: real time; 2: twice real time. */
  readonly realtimeFactor?: number | undefined;
  /** Wait between the START response and the first audio frame, default 0. */
  readonly firstAudioDelayMs?: number | undefined;
  /** A connection that sends nothing for this long gets FATAL_ERROR SIS.0304 and is closed. Default 20,000; 0 disables. */
  readonly idleTimeoutMs?: number | undefined;
  /** After END (or a final ERROR) the client should close; past this the server closes. Default 5,000; 0 disables. */
  readonly closeGraceMs?: number | undefined;
  /** Sessions running at once; the next START gets ERROR SIS.0312. Default unlimited. */
  readonly maxConcurrentSessions?: number | undefined;
  /** A fault for every connection, or a function choosing one per connection at the handshake. */
  readonly fault?: Fault | FaultChooser | undefined;
  /** Chooses a fault when the START arrives (when the handshake chose none), e.g. by text. */
  readonly faultOnStart?: StartFaultChooser | undefined;
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
  readonly voices: 'known' | 'any';
  readonly frameBytes: number;
  readonly realtimeFactor: number;
  readonly firstAudioDelayMs: number;
  readonly idleTimeoutMs: number;
  readonly closeGraceMs: number;
  readonly maxConcurrentSessions: number;
  readonly fault: FaultChooser;
  readonly faultOnStart: StartFaultChooser | undefined;
  readonly errorThenEnd: boolean;
}

const OPTION_KEYS = [
  'host', 'port', 'tokens', 'requireAuth', 'akSk', 'iamUsers', 'iamTokenLifetimeMs', 'clock', 'authenticate', 'projectId',
  'textLimit', 'voices', 'frameBytes', 'realtimeFactor', 'firstAudioDelayMs', 'idleTimeoutMs', 'closeGraceMs', 'maxConcurrentSessions', 'fault',
  'faultOnStart', 'errorThenEnd',
] as const satisfies readonly (keyof EmulatorOptions)[];

// Node's timers overflow past 2^31 - 1 ms.
const MAX_DELAY = 2 ** 31 - 1;

/** Problems of a fault value; `path` prefixes their paths. */
export const faultProblems = (fault: unknown, path: string): Problem[] => {
  const kind = typeof fault === 'object' && fault !== null ? (fault as { kind?: unknown }).kind : undefined;
  if (typeof kind !== 'string' || !Object.hasOwn(faultCodecs, kind)) {
    return [{ path: path === '' ? 'kind' : `${path}.kind`, message: `expected one of ${Object.keys(faultCodecs).join(', ')}, got ${JSON.stringify(kind) ?? 'nothing'}` }];
  }
  const decoded = faultCodecs[kind as Fault['kind']].decode(fault);
  return isLeft(decoded)
    ? problemsFrom(decoded.left).map((p) => ({ path: [path, p.path].filter((s) => s !== '').join('.'), message: p.message }))
    : [];
};

/** Problems of a list of credentials; the messages name fields, never their values. */
const secretListProblems = (list: unknown, path: string, fields: readonly string[]): Problem[] => {
  if (list === undefined) return [];
  const shape = `{ ${fields.join(', ')} }`;
  if (!Array.isArray(list)) return [{ path, message: `expected a list of ${shape}` }];
  return list.flatMap((entry: unknown, i) =>
    typeof entry === 'object' && entry !== null && fields.every((f) => typeof (entry as Record<string, unknown>)[f] === 'string' && (entry as Record<string, unknown>)[f] !== '')
      ? []
      : [{ path: `${path}.${i}`, message: `expected ${shape} with non-empty strings` }],
  );
};

/** Throws {@link SisConfigError} when a fault is not valid. */
export const assertFault = (fault: unknown, subject: string): void => {
  const problems = faultProblems(fault, '');
  if (problems.length > 0) throw new SisConfigError(problems, subject);
};

/**
 * Validates the options and applies the defaults.
 * @throws {SisConfigError} listing every problem found.
 */
export const resolveOptions = (options: EmulatorOptions): EmulatorConfig => {
  if (typeof options !== 'object' || options === null) {
    throw new SisConfigError([{ path: '', message: `expected an options object, got ${options === null ? 'null' : typeof options}` }], 'emulator options');
  }
  const problems: Problem[] = [...unknownKeyProblems(options, OPTION_KEYS)];
  const check = (ok: boolean, path: string, expected: string, value: unknown): void => {
    if (!ok) problems.push({ path, message: `expected ${expected}, got ${JSON.stringify(value) ?? typeof value}` });
  };
  const integer = (key: keyof EmulatorOptions, min: number, max: number): void => {
    const value = options[key];
    if (value !== undefined) check(Number.isInteger(value) && Number(value) >= min && Number(value) <= max, key, `an integer from ${min} to ${max}`, value);
  };
  const fn = (key: keyof EmulatorOptions): void => {
    if (options[key] !== undefined) check(typeof options[key] === 'function', key, 'a function', typeof options[key]);
  };

  const { host, tokens, requireAuth, projectId, voices, realtimeFactor, fault, errorThenEnd } = options;
  if (host !== undefined) check(typeof host === 'string' && host !== '', 'host', 'a host name or address', host);
  integer('port', 0, 65535);
  if (tokens !== undefined) {
    check(Array.isArray(tokens) && tokens.length > 0 && tokens.every((t) => typeof t === 'string' && t !== ''), 'tokens', 'a non-empty list of non-empty strings', Array.isArray(tokens) ? `a list of ${tokens.length}` : typeof tokens);
  }
  if (requireAuth !== undefined) check(typeof requireAuth === 'boolean', 'requireAuth', 'a boolean', requireAuth);
  problems.push(...secretListProblems(options.akSk, 'akSk', ['ak', 'sk']), ...secretListProblems(options.iamUsers, 'iamUsers', ['domainName', 'userName', 'password']));
  integer('iamTokenLifetimeMs', 1, Number.MAX_SAFE_INTEGER);
  fn('clock');
  fn('authenticate');
  if (projectId !== undefined) check(typeof projectId === 'string' && /^[A-Za-z0-9_-]+$/.test(projectId), 'projectId', 'letters, digits, - and _', projectId);
  integer('textLimit', 1, Number.MAX_SAFE_INTEGER);
  if (voices !== undefined) check(voices === 'known' || voices === 'any', 'voices', "'known' or 'any'", voices);
  integer('frameBytes', 1, 64 * 1024 * 1024);
  if (realtimeFactor !== undefined) check(typeof realtimeFactor === 'number' && Number.isFinite(realtimeFactor) && realtimeFactor >= 0, 'realtimeFactor', 'a finite number >= 0', realtimeFactor);
  integer('firstAudioDelayMs', 0, MAX_DELAY);
  integer('idleTimeoutMs', 0, MAX_DELAY);
  integer('closeGraceMs', 0, MAX_DELAY);
  integer('maxConcurrentSessions', 1, Number.MAX_SAFE_INTEGER);
  if (typeof fault !== 'function' && fault !== undefined) problems.push(...faultProblems(fault, 'fault'));
  fn('faultOnStart');
  if (errorThenEnd !== undefined) check(typeof errorThenEnd === 'boolean', 'errorThenEnd', 'a boolean', errorThenEnd);
  if (problems.length > 0) throw new SisConfigError(problems, 'emulator options');

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
    textLimit: options.textLimit ?? 10_000,
    voices: options.voices ?? 'known',
    frameBytes: options.frameBytes ?? 3200,
    realtimeFactor: options.realtimeFactor ?? 0,
    firstAudioDelayMs: options.firstAudioDelayMs ?? 0,
    idleTimeoutMs: options.idleTimeoutMs ?? 20_000,
    closeGraceMs: options.closeGraceMs ?? 5_000,
    maxConcurrentSessions: options.maxConcurrentSessions ?? Number.POSITIVE_INFINITY,
    fault: typeof fault === 'function' ? fault : () => fault,
    faultOnStart: options.faultOnStart,
    errorThenEnd: options.errorThenEnd ?? true,
  };
};
