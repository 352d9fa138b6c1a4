/** The relay's options: what a user passes, and the checked, defaulted settings the relay runs on. */
import type { IncomingMessage } from 'node:http';
import { fn, isObject, objectProblems, optional, positiveInteger, unknownKeyProblems, type Check } from '../checks.js';
import { SisConfigError, type Problem } from '../errors.js';
import { STREAMING_PATH } from '../protocol/streaming.js';
import { NODE_PLATFORM } from '../session/client.js';
import { resolveOptions, type SessionConfig, type SisClientOptions } from '../session/options.js';
import { memoryLimitStore, type RelayLimitStore } from './store.js';

/**
 * Decides who the browser is, from its upgrade request (a session cookie, or a token the page passed
 * as a WebSocket subprotocol: `request.headers['sec-websocket-protocol']`). Returns the user id, or
 * undefined to refuse (401). A throw (or rejection) refuses too; its content never reaches the browser.
 */
export type RelayAuthorize = (request: IncomingMessage) => string | undefined | PromiseLike<string | undefined>;

/** How much each user, and the relay as a whole, may use. */
export interface RelayLimits {
  readonly perUser?:
    | {
        /** Sessions one user may hold open at once (429 at the upgrade past it). Default 4. */
        readonly sessions?: number | undefined;
        /**
         * Characters one user may have spoken per minute (a fixed window), counted from each START's
         * text and each streaming MSG as it comes (a command counts at least 1); past it the command
         * gets an ERROR frame and the session is closed. Default 10,000 (one longest real-time text); `Infinity`: none.
         */
        readonly charactersPerMinute?: number | undefined;
      }
    | undefined;
  readonly relay?:
    | {
        /**
         * Sessions open at once across every relay sharing the `store` (the service caps concurrency
         * per account). Default 1,000.
         */
        readonly sessions?: number | undefined;
      }
    | undefined;
}

/** Options of `createSisRelay`. */
export interface SisRelayOptions {
  /**
   * The relay's own client options: where SIS is, the project, the credentials (any kind), timeouts,
   * `warm` sockets, `webSocketFactory`… Checked like `createSisClient`'s. The browser's project id and
   * headers are ignored: the relay connects to `sis`'s project with `sis`'s credentials.
   */
  readonly sis: SisClientOptions;
  /** Who the browser is; without it every upgrade is refused (401), so that a relay never runs open by mistake. */
  readonly authorize?: RelayAuthorize | undefined;
  /**
   * The `Origin` values accepted, e.g. `['https://app.example']` (checked on every upgrade, 403
   * otherwise); `'*'` accepts any, and must be given explicitly. Without it every upgrade is refused (403).
   */
  readonly origins?: readonly string[] | undefined;
  readonly limits?: RelayLimits | undefined;
  /** Where the counters live; default {@link memoryLimitStore} (one relay). Closed by `relay.close()`. */
  readonly store?: RelayLimitStore | undefined;
  /**
   * The base path of the relay, default `'/tts'`: it accepts upgrades at `{path}/v1/{any}/rtts`
   * (real-time) and `{path}` + the streaming path (default `{path}/v1/{any}/vcs/voices/clone`).
   */
  readonly path?: string | undefined;
}

/** The checked limits, every default filled in. */
export interface ResolvedLimits {
  /** `limits.perUser.sessions`. */
  readonly userSessions: number;
  /** `limits.perUser.charactersPerMinute`. */
  readonly userCharactersPerMinute: number;
  /** `limits.relay.sessions`. */
  readonly relaySessions: number;
}

/** The limits a relay applies when `limits` leaves them out: 4 sessions and 10,000 characters a minute per user, 1,000 sessions in all. */
export const DEFAULT_RELAY_LIMITS: ResolvedLimits = { userSessions: 4, userCharactersPerMinute: 10_000, relaySessions: 1_000 };
/** The relay's base path when `path` leaves it out. */
export const DEFAULT_RELAY_PATH = '/tts';

/** The checked options. Holds credentials (in `config`): never expose it. */
export interface RelaySettings {
  readonly config: SessionConfig;
  /** The streaming path template (`{project_id}` in it), as the `sis` options give it. */
  readonly streamingPath: string;
  readonly authorize: RelayAuthorize | undefined;
  /** The accepted origins; `'*'` in it accepts any. Undefined: none given, every upgrade is refused. */
  readonly origins: ReadonlySet<string> | undefined;
  readonly limits: ResolvedLimits;
  readonly store: RelayLimitStore;
  readonly path: string;
}

const OPTION_KEYS = ['sis', 'authorize', 'origins', 'limits', 'store', 'path'] as const;

const isRelayPath = (value: unknown): boolean => typeof value === 'string' && /^(?:\/[^/?#\s]+)+$/.test(value);

/** A relay path: `/tts`, `/api/tts`; not `/`, no trailing slash, query or fragment. */
export const relayPath: Check = (path, value) =>
  isRelayPath(value) ? [] : [{ path, message: `must be a path like /tts (starting with /, without a trailing /, ? or #), got ${JSON.stringify(value)}` }];

/** `https://app.example` as browsers send it in `Origin`, or undefined when it is not an origin. */
const originOf = (value: string): string | undefined => {
  try {
    const url = new URL(value);
    return url.origin !== 'null' && url.origin === value.replace(/\/$/, '') ? url.origin : undefined;
  } catch {
    return undefined;
  }
};

const originsOf = (given: unknown): { value: ReadonlySet<string> | undefined; problems: Problem[] } => {
  if (given === undefined) return { value: undefined, problems: [] };
  if (!Array.isArray(given)) return { value: undefined, problems: [{ path: 'origins', message: "must be an array of origins, e.g. ['https://app.example']" }] };
  const problems: Problem[] = [];
  const origins = new Set<string>();
  given.forEach((entry: unknown, i) => {
    const origin = entry === '*' ? '*' : typeof entry === 'string' ? originOf(entry) : undefined;
    if (origin === undefined) {
      problems.push({
        path: `origins.${i}`,
        message: `must be an origin like https://app.example (scheme, host, port; no path) or '*', got ${JSON.stringify(entry)}`,
      });
    } else origins.add(origin);
  });
  return { value: origins, problems };
};

const sessionsCheck = optional(positiveInteger);
const budgetCheck = optional((path, value) =>
  value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && (value as number) >= 1)
    ? []
    : [{ path, message: `must be a positive integer or Infinity, got ${String(value)}` }],
);

/** A group's object, or the problems of a value that is not one. */
const group = (path: string, value: unknown, keys: readonly string[]): { value: Record<string, unknown>; problems: Problem[] } => {
  if (value === undefined) return { value: {}, problems: [] };
  if (!isObject(value)) return { value: {}, problems: objectProblems(path, value, `{ ${keys.join(', ')} }`) };
  return { value: value as Record<string, unknown>, problems: unknownKeyProblems(value, keys, `${path}.`) };
};

const limitsOf = (given: unknown): { value: ResolvedLimits; problems: Problem[] } => {
  const limits = group('limits', given, ['perUser', 'relay']);
  const perUser = group('limits.perUser', limits.value['perUser'], ['sessions', 'charactersPerMinute']);
  const relay = group('limits.relay', limits.value['relay'], ['sessions']);
  const { sessions: userSessions, charactersPerMinute } = perUser.value;
  const { sessions: relaySessions } = relay.value;
  const problems = [
    ...limits.problems,
    ...perUser.problems,
    ...relay.problems,
    ...sessionsCheck('limits.perUser.sessions', userSessions),
    ...budgetCheck('limits.perUser.charactersPerMinute', charactersPerMinute),
    ...sessionsCheck('limits.relay.sessions', relaySessions),
  ];
  const pick = (value: unknown, fallback: number): number => (typeof value === 'number' ? value : fallback);
  return {
    value: {
      userSessions: pick(userSessions, DEFAULT_RELAY_LIMITS.userSessions),
      userCharactersPerMinute: pick(charactersPerMinute, DEFAULT_RELAY_LIMITS.userCharactersPerMinute),
      relaySessions: pick(relaySessions, DEFAULT_RELAY_LIMITS.relaySessions),
    },
    problems,
  };
};

const isStore = (value: unknown): boolean =>
  isObject(value) && ['acquire', 'release', 'consume', 'close'].every((name) => typeof (value as Record<string, unknown>)[name] === 'function');

/**
 * Checks the relay's options, the `sis` client options with the library's own checks (their
 * problems are listed under `sis.`), and fills in the defaults.
 * @throws {SisConfigError} listing every problem.
 */
export const resolveRelayOptions = (options: SisRelayOptions): RelaySettings => {
  const notAnObject = objectProblems('', options, '{ sis, authorize, origins, limits, store, path }');
  if (notAnObject.length > 0) throw new SisConfigError(notAnObject, 'relay options');
  let config: SessionConfig | undefined;
  const sisProblems: Problem[] = [];
  try {
    config = resolveOptions(options.sis, NODE_PLATFORM);
  } catch (error) {
    if (!(error instanceof SisConfigError)) throw error;
    sisProblems.push(...error.problems.map((problem) => ({ path: problem.path === '' ? 'sis' : `sis.${problem.path}`, message: problem.message })));
  }
  const origins = originsOf(options.origins);
  const limits = limitsOf(options.limits);
  const { path = DEFAULT_RELAY_PATH } = options;
  const problems: Problem[] = [
    ...unknownKeyProblems(options, OPTION_KEYS),
    ...sisProblems,
    ...optional(fn('a function (request) => user id | undefined'))('authorize', options.authorize),
    ...origins.problems,
    ...limits.problems,
    ...(options.store === undefined || isStore(options.store)
      ? []
      : [{ path: 'store', message: 'must be a RelayLimitStore { acquire, release, consume, close }' }]),
    ...relayPath('path', path),
  ];
  // The relay is the one that holds credentials: relaying to another relay would send none.
  if (isObject(options.sis) && options.sis.auth === 'relay')
    problems.push({ path: 'sis.auth', message: "must be the relay's own credentials ({ token } or { ak, sk }), not 'relay'" });
  if (problems.length > 0 || config === undefined) throw new SisConfigError(problems, 'relay options');
  const streamingPath = isObject(options.sis) && typeof options.sis.streamingPath === 'string' ? options.sis.streamingPath : STREAMING_PATH;
  return {
    config,
    streamingPath,
    authorize: options.authorize,
    origins: origins.value,
    limits: limits.value,
    store: options.store ?? memoryLimitStore(),
    path,
  };
};
