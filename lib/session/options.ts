/** Client options: what a user passes, and the checked, defaulted config a session runs on. */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { authProblems, redactedAuth, type AuthOptions } from '../auth/token.js';
import { SisConfigError, type Problem } from '../errors.js';
import { unknownKeyProblems } from '../protocol/problems.js';
import { DEFAULT_LIMITS, type RequestLimits } from '../protocol/request.js';
import { resolveEndpoint, rttsUrl } from '../transport/endpoint.js';
import type { WebSocketFactory } from '../transport/websocket-like.js';
import { wsWebSocketFactory } from '../transport/ws-factory.js';

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

/** Largest frame accepted by default (bytes): audio segments are far smaller. */
export const DEFAULT_MAX_PAYLOAD = 8 * 1024 * 1024;

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
  /** `{ token }` (a string, or a provider such as {@link iamPasswordToken}) or `{ ak, sk }` (each handshake signed). */
  readonly auth: AuthOptions;
  /** Sent as `Enterprise-Project-Id` (billing). */
  readonly enterpriseProjectId?: string | undefined;
  readonly timeouts?: Partial<Timeouts> | undefined;
  readonly limits?: Partial<RequestLimits> | undefined;
  /** Largest frame accepted, in bytes (default 8 MiB). */
  readonly maxPayload?: number | undefined;
  /** Opens sockets; default: `ws`. Inject a fake for tests. */
  readonly webSocketFactory?: WebSocketFactory | undefined;
  /** Allow plain `ws://` to hosts other than loopback (default false: `wss://` only, `ws://` to 127.0.0.0/8, ::1, localhost). */
  readonly allowPlainWs?: boolean | undefined;
  /** Verify the server's TLS certificate (default true). `false` only for a test server with a self-signed certificate. */
  readonly rejectUnauthorized?: boolean | undefined;
  /** Scheduler for timeouts and timings (a `TestScheduler` in marble tests). Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike | undefined;
}

/** Options of {@link createSisClient}: a location (`endpoint` or `region`), the project, credentials, and tuning. */
export type SisClientOptions = SisLocation & SisConnectionOptions;

/** Everything a session needs, checked. Holds credentials: never expose it. */
export interface SessionConfig {
  readonly url: string;
  readonly auth: AuthOptions;
  readonly extraHeaders: Readonly<Record<string, string>>;
  readonly timeouts: Timeouts;
  readonly limits: RequestLimits;
  readonly maxPayload: number;
  readonly rejectUnauthorized: boolean;
  readonly webSocketFactory: WebSocketFactory;
  readonly scheduler: SchedulerLike;
}

const OPTION_KEYS = [
  'endpoint', 'region', 'projectId', 'auth', 'enterpriseProjectId', 'timeouts', 'limits', 'maxPayload',
  'webSocketFactory', 'allowPlainWs', 'rejectUnauthorized', 'scheduler',
] as const;

const isPositive = (n: unknown, allowInfinity: boolean): n is number =>
  typeof n === 'number' && n > 0 && (Number.isFinite(n) || (allowInfinity && n === Infinity));

const numbersProblems = <T extends object>(
  group: string,
  given: unknown,
  defaults: T,
  allowInfinity: boolean,
  unit: string,
): { value: T; problems: Problem[] } => {
  if (given === undefined) return { value: defaults, problems: [] };
  if (typeof given !== 'object' || given === null) return { value: defaults, problems: [{ path: group, message: 'must be an object' }] };
  const problems = unknownKeyProblems(given, Object.keys(defaults), `${group}.`);
  for (const [key, value] of Object.entries(given)) {
    if (key in defaults && value !== undefined && !isPositive(value, allowInfinity)) {
      problems.push({ path: `${group}.${key}`, message: `must be a positive number${unit}${allowInfinity ? ' or Infinity' : ''}, got ${String(value)}` });
    }
  }
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return { value: { ...defaults, ...defined }, problems };
};

const HEADER_UNSAFE = /[\u0000-\u001f\u007f]/;

/**
 * Checks options and fills in defaults.
 * @throws {SisConfigError} listing every problem.
 */
export const resolveOptions = (options: SisClientOptions): SessionConfig => {
  if (typeof options !== 'object' || options === null) {
    throw new SisConfigError([{ path: '', message: 'expected an options object: { endpoint or region, projectId, auth }' }]);
  }
  const problems: Problem[] = unknownKeyProblems(options, OPTION_KEYS);
  const allowPlainWs = options.allowPlainWs ?? false;
  if (typeof allowPlainWs !== 'boolean') problems.push({ path: 'allowPlainWs', message: 'must be a boolean' });
  const rejectUnauthorized = options.rejectUnauthorized ?? true;
  if (typeof rejectUnauthorized !== 'boolean') problems.push({ path: 'rejectUnauthorized', message: 'must be a boolean' });
  const parsed = resolveEndpoint(options.endpoint, options.region, allowPlainWs === true);
  problems.push(...parsed.problems);
  if (typeof options.projectId !== 'string' || options.projectId.trim() === '') {
    problems.push({ path: 'projectId', message: 'is required (the project id of the region, from the console)' });
  }
  problems.push(...authProblems(options.auth));
  const { enterpriseProjectId } = options;
  if (enterpriseProjectId !== undefined && (typeof enterpriseProjectId !== 'string' || enterpriseProjectId === '' || HEADER_UNSAFE.test(enterpriseProjectId))) {
    problems.push({ path: 'enterpriseProjectId', message: 'must be a non-empty string without control characters' });
  }
  const timeouts = numbersProblems('timeouts', options.timeouts, DEFAULT_TIMEOUTS, true, ' of ms');
  const limits = numbersProblems('limits', options.limits, DEFAULT_LIMITS, false, '');
  problems.push(...timeouts.problems, ...limits.problems);
  if (!Number.isInteger(limits.value.maxTextLength)) problems.push({ path: 'limits.maxTextLength', message: 'must be an integer' });
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  if (!Number.isInteger(maxPayload) || maxPayload < 1024) problems.push({ path: 'maxPayload', message: `must be an integer of at least 1024 bytes, got ${String(maxPayload)}` });
  if (options.webSocketFactory !== undefined && typeof options.webSocketFactory !== 'function') {
    problems.push({ path: 'webSocketFactory', message: 'must be a function (request, listener) => WebSocketLike' });
  }
  const scheduler = options.scheduler ?? asyncScheduler;
  if (typeof scheduler !== 'object' || scheduler === null || typeof scheduler.schedule !== 'function' || typeof scheduler.now !== 'function') {
    problems.push({ path: 'scheduler', message: 'must be an RxJS SchedulerLike' });
  }
  if (problems.length > 0 || parsed.endpoint === undefined) throw new SisConfigError(problems);
  return {
    url: rttsUrl(parsed.endpoint, options.projectId),
    auth: redactedAuth(options.auth),
    extraHeaders: enterpriseProjectId === undefined ? {} : { 'Enterprise-Project-Id': enterpriseProjectId },
    timeouts: timeouts.value,
    limits: limits.value,
    maxPayload,
    rejectUnauthorized: rejectUnauthorized !== false,
    webSocketFactory: options.webSocketFactory ?? wsWebSocketFactory,
    scheduler,
  };
};
