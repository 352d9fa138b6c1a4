/** Client options: what a user passes, and the checked, defaulted config a session runs on. */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { authProblems, redactedAuth, type AuthOptions } from '../auth/token.js';
import {
  boolean,
  check,
  fn,
  headerValue,
  integerAtLeast,
  integerFrom,
  objectProblems,
  optional,
  positiveInteger,
  positiveMs,
  requiredString,
  unknownKeyProblems,
  type Check,
} from '../checks.js';
import { SisConfigError, type Problem } from '../errors.js';
import { DEFAULT_LIMITS, type RequestLimits } from '../protocol/request.js';
import { STREAMING_PATH } from '../protocol/streaming.js';
import { resolveEndpoint, rttsUrl, streamingUrl } from '../transport/endpoint.js';
import { DEFAULT_MAX_PAYLOAD, type WebSocketFactory } from '../transport/websocket-like.js';
import { DEFAULT_MAX_IDLE_MS, type WarmOptions, type WarmPools } from './warm-pool.js';

/** Time limits in milliseconds; `Infinity` disables one. */
export interface Timeouts {
  /** From subscription until the socket is open (credentials included). Default 10,000. */
  readonly connect: number;
  /** From sending START until the first audio chunk. Default 15,000. */
  readonly firstAudio: number;
  /** Longest silence between frames once audio flows. Default 10,000. */
  readonly idle: number;
  /** The whole session. Default `Infinity`: long texts take long, and `idle` already catches a stall. */
  readonly total: number;
  /** After an ERROR frame, how long to wait for the END that follows it before failing. Default 1,000. */
  readonly errorGrace: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connect: 10_000, firstAudio: 15_000, idle: 10_000, total: Infinity, errorGrace: 1_000 };

/** Where to connect: an explicit `endpoint`, or a `region` the endpoint is built from; never both. */
export type SisLocation =
  | {
      /** `wss://sis-ext.{region}.myhuaweicloud.com`, a relay, or an emulator's `ws://127.0.0.1:port`. */
      readonly endpoint: string;
      readonly region?: undefined;
    }
  | {
      /** A region such as `cn-north-4`: the endpoint is then `wss://sis-ext.{region}.myhuaweicloud.com`. */
      readonly region: string;
      readonly endpoint?: undefined;
    };

/** Everything but the location: see {@link SisClientOptions}. */
export interface SisConnectionOptions {
  /** The project id of the region, from the console. */
  readonly projectId: string;
  /**
   * `{ token }` (a string, or a provider such as {@link iamPasswordToken}), `{ ak, sk }` (each handshake
   * signed), or `'relay'` when the endpoint is a relay that holds the credentials (the only kind a page may use).
   */
  readonly auth: AuthOptions;
  /** Sent as `Enterprise-Project-Id` (billing). Not in a browser, which sends no headers: the relay sets it. */
  readonly enterpriseProjectId?: string | undefined;
  readonly timeouts?: Partial<Timeouts> | undefined;
  readonly limits?: Partial<RequestLimits> | undefined;
  /** Largest frame accepted, in bytes (default 8 MiB). A browser's WebSocket enforces no such limit. */
  readonly maxPayload?: number | undefined;
  /** Opens sockets; default: `ws` in Node, `browserWebSocketFactory()` in the browser build. Inject a fake for tests. */
  readonly webSocketFactory?: WebSocketFactory | undefined;
  /** Allow plain `ws://` to hosts other than loopback (default false: `wss://` only, `ws://` to 127.0.0.0/8, ::1, localhost). */
  readonly allowPlainWs?: boolean | undefined;
  /** Verify the server's TLS certificate (default true). `false` only for a test server with a self-signed certificate; not in a browser. */
  readonly rejectUnauthorized?: boolean | undefined;
  /** Scheduler for timeouts and timings (a `TestScheduler` in marble tests). Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike | undefined;
  /**
   * Path of the streaming synthesis endpoint (`speak$` with `api: 'streaming'`), `{project_id}` replaced.
   * Default `/v1/{project_id}/vcs/voices/clone`, the path in Huawei's documentation.
   */
  readonly streamingPath?: string | undefined;
  /**
   * Keep sockets warm (handshake and authentication done, START not sent) so that a session skips
   * the handshake: `size` per API path, each replaced when older than `maxIdleMs` (default 15,000).
   * See `client.prewarm()`, `client.stats()` and `client.close()`. Default: none.
   */
  readonly warm?: WarmOptions | undefined;
}

/** Options of {@link createSisClient}: a location (`endpoint` or `region`), the project, credentials, and tuning. */
export type SisClientOptions = SisLocation & SisConnectionOptions;

/** Everything a session needs, checked. Holds credentials: never expose it. */
export interface SessionConfig {
  readonly url: string;
  /** The streaming synthesis API's URL (`speak$` with `api: 'streaming'`). */
  readonly streamingUrl: string;
  readonly auth: AuthOptions;
  readonly extraHeaders: Readonly<Record<string, string>>;
  readonly timeouts: Timeouts;
  readonly limits: RequestLimits;
  readonly maxPayload: number;
  readonly rejectUnauthorized: boolean;
  readonly webSocketFactory: WebSocketFactory;
  readonly scheduler: SchedulerLike;
  /** The checked `warm` option; the client makes the pools from it. */
  readonly warm: { readonly size: number; readonly maxIdleMs: number } | undefined;
  /** The client's warm sockets (see warm-pool.ts), when it keeps some. */
  readonly pools?: WarmPools | undefined;
}

/**
 * What differs between the Node build and the browser build of the client. A page holds no credentials
 * and sets no headers or TLS policy: it talks to a relay (`auth: 'relay'`) that does.
 */
export interface ClientPlatform {
  readonly kind: 'node' | 'browser';
  /** Opens sockets when the options give no `webSocketFactory`. */
  readonly webSocketFactory: WebSocketFactory;
}

/** What a page may not set, whatever its socket factory: each would need a header or a TLS setting. */
const browserProblems = (options: SisClientOptions): Problem[] => [
  ...(options.enterpriseProjectId === undefined
    ? []
    : [{ path: 'enterpriseProjectId', message: 'is a header, and a page sends none: set it on the relay (createSisRelay in rx-sis-tts/relay)' }]),
  ...(options.rejectUnauthorized === false
    ? [
        {
          path: 'rejectUnauthorized',
          message: "cannot be turned off in a page: the browser checks certificates (trust a test server's certificate in the browser instead)",
        },
      ]
    : []),
];

const OPTION_KEYS = [
  'endpoint',
  'region',
  'projectId',
  'auth',
  'enterpriseProjectId',
  'timeouts',
  'limits',
  'maxPayload',
  'webSocketFactory',
  'allowPlainWs',
  'rejectUnauthorized',
  'scheduler',
  'streamingPath',
  'warm',
] as const;

/** A group of numeric options (`timeouts`, `limits`): each key given is checked, the defaults fill in the rest. */
const groupOf = <T extends object>(group: string, given: unknown, defaults: T, each: Check): { value: T; problems: Problem[] } => {
  if (given === undefined) return { value: defaults, problems: [] };
  const notAnObject = objectProblems(group, given, `{ ${Object.keys(defaults).join(', ')} }`);
  if (notAnObject.length > 0) return { value: defaults, problems: notAnObject };
  const entries = Object.entries(given as object).filter(([key, value]) => Object.hasOwn(defaults, key) && value !== undefined);
  return {
    value: { ...defaults, ...Object.fromEntries(entries) },
    problems: [...unknownKeyProblems(given, Object.keys(defaults), `${group}.`), ...entries.flatMap(([key, value]) => each(`${group}.${key}`, value))],
  };
};

const isScheduler = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && typeof (value as SchedulerLike).schedule === 'function' && typeof (value as SchedulerLike).now === 'function';

const isPath = (value: unknown): boolean => typeof value === 'string' && /^\/[^?#\s]*$/.test(value);

/** The `warm` option checked, with its default idle limit. */
const warmOf = (given: unknown): { value: SessionConfig['warm']; problems: Problem[] } => {
  if (given === undefined) return { value: undefined, problems: [] };
  const notAnObject = objectProblems('warm', given, '{ size: 2, maxIdleMs: 15000 }');
  if (notAnObject.length > 0) return { value: undefined, problems: notAnObject };
  const { size, maxIdleMs = DEFAULT_MAX_IDLE_MS } = given as WarmOptions;
  const problems = [
    ...unknownKeyProblems(given, ['size', 'maxIdleMs'], 'warm.'),
    ...integerFrom(1, 64)('warm.size', size),
    ...positiveMs({ infinity: false })('warm.maxIdleMs', maxIdleMs),
  ];
  return problems.length > 0 ? { value: undefined, problems } : { value: { size, maxIdleMs }, problems };
};

/** Frames are audio segments of a few KiB: a limit below this would fail ordinary sessions. */
const MIN_MAX_PAYLOAD = 1024;

/**
 * Checks options and fills in defaults, the platform's among them (its socket factory).
 * @throws {SisConfigError} listing every problem.
 */
export const resolveOptions = (options: SisClientOptions, platform: ClientPlatform): SessionConfig => {
  const notAnObject = objectProblems('', options, '{ endpoint or region, projectId, auth }');
  if (notAnObject.length > 0) throw new SisConfigError(notAnObject);
  const {
    allowPlainWs = false,
    rejectUnauthorized = true,
    enterpriseProjectId,
    maxPayload = DEFAULT_MAX_PAYLOAD,
    scheduler = asyncScheduler,
    streamingPath = STREAMING_PATH,
  } = options;
  const parsed = resolveEndpoint(options.endpoint, options.region, allowPlainWs === true);
  const timeouts = groupOf('timeouts', options.timeouts, DEFAULT_TIMEOUTS, positiveMs({ infinity: true }));
  const limits = groupOf('limits', options.limits, DEFAULT_LIMITS, positiveInteger);
  const warm = warmOf(options.warm);
  const problems: Problem[] = [
    ...unknownKeyProblems(options, OPTION_KEYS),
    ...boolean('allowPlainWs', allowPlainWs),
    ...boolean('rejectUnauthorized', rejectUnauthorized),
    ...parsed.problems,
    ...requiredString('the project id of the region, from the console')('projectId', options.projectId),
    ...authProblems(options.auth, { credentials: platform.kind === 'node' }),
    ...(platform.kind === 'browser' ? browserProblems(options) : []),
    ...optional(headerValue())('enterpriseProjectId', enterpriseProjectId),
    ...timeouts.problems,
    ...limits.problems,
    ...integerAtLeast(MIN_MAX_PAYLOAD)('maxPayload', maxPayload),
    ...optional(fn('a function (request, listener) => WebSocketLike'))('webSocketFactory', options.webSocketFactory),
    ...check('an RxJS SchedulerLike, e.g. asyncScheduler', isScheduler)('scheduler', scheduler),
    ...check('a path starting with / (e.g. /v1/{project_id}/vcs/voices/clone), without ? or #', isPath)('streamingPath', streamingPath),
    ...warm.problems,
  ];
  if (problems.length > 0 || parsed.endpoint === undefined) throw new SisConfigError(problems);
  return {
    url: rttsUrl(parsed.endpoint, options.projectId),
    streamingUrl: streamingUrl(parsed.endpoint, options.projectId, streamingPath),
    auth: redactedAuth(options.auth),
    extraHeaders: enterpriseProjectId === undefined ? {} : { 'Enterprise-Project-Id': enterpriseProjectId },
    timeouts: timeouts.value,
    limits: limits.value,
    maxPayload,
    rejectUnauthorized,
    webSocketFactory: options.webSocketFactory ?? platform.webSocketFactory,
    scheduler,
    warm: warm.value,
  };
};
