/**
 * IAM password tokens (protocol.md §3): `POST {iam}/v3/auth/tokens`, the token from `X-Subject-Token`,
 * kept in memory until shortly before it expires, one request in flight per key.
 */
import * as t from 'io-ts';
import { check, fn, isHeaderValue, nonEmptyString, nonNegativeMs, objectProblems, optional, unknownKeyProblems } from '../checks.js';
import { SisAuthError, SisConfigError, type Problem } from '../errors.js';
import { isLoopbackHost, REGION_PATTERN } from '../transport/endpoint.js';
import type { RefreshableTokenSource } from './token.js';
import { isRight } from '../protocol/either.js';
import { parseJson } from '../protocol/json.js';
import { INSPECT_CUSTOM, inspectAs, nodeCrypto } from '../node-builtins.js';

/** The few parts of `fetch` used here; Node's global `fetch` fits. */
export type FetchLike = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal; redirect: 'error' },
) => Promise<{
  readonly status: number;
  readonly headers: {
    /** A response header's value by (case-insensitive) name, or null when absent. */
    get(name: string): string | null;
  };
  /** The whole response body as text. */
  text(): Promise<string>;
}>;

/** Options of {@link iamPasswordToken}: who logs in, where, and how tokens are cached. */
export interface IamPasswordTokenOptions {
  /** The IAM user's name. */
  readonly userName: string;
  /** The IAM user's password; it appears in no error, message or `toString()`. */
  readonly password: string;
  /** The account (domain) the user belongs to. */
  readonly domainName: string;
  /** The region, e.g. `cn-north-4`: the token is scoped to the project of that name, as SIS requires. */
  readonly region: string;
  /** Default `https://iam.{region}.myhuaweicloud.com`; `http://` only to a loopback host (an emulator). */
  readonly iamEndpoint?: string | undefined;
  /** Default Node's global `fetch`. */
  readonly fetch?: FetchLike | undefined;
  /** Default the system clock; decides when a cached token is refreshed. */
  readonly clock?: (() => Date) | undefined;
  /** Fetch a new token this long before the cached one expires: default 5 minutes (at most half its lifetime). */
  readonly refreshBeforeMs?: number | undefined;
  /** Give up on an IAM request after this long, default 10,000 ms. */
  readonly timeoutMs?: number | undefined;
}

/** A token provider for `auth: { token }`, sharing tokens through an in-memory cache. */
export interface IamTokenProvider extends RefreshableTokenSource {
  (): Promise<string>;
  /** Drops the cached token: the next call asks IAM. */
  invalidate(): void;
}

const IamTokenBody = t.type({ token: t.intersection([t.type({ expires_at: t.string }), t.partial({ issued_at: t.string })]) }, 'IamTokenBody');

// IAM answers errors in two shapes: Keystone's `{error: {code, message}}` and the gateway's `{error_code, error_msg}`.
const IamErrorBody = t.partial({
  error: t.partial({ code: t.union([t.string, t.number]), message: t.string }),
  error_code: t.string,
  error_msg: t.string,
});

interface CachedToken {
  readonly token: string;
  readonly refreshAt: number;
}

interface CacheSlot {
  cached: CachedToken | undefined;
  inFlight: Promise<CachedToken> | undefined;
}

// One process-wide cache. The key holds an HMAC of the password under a per-process random key, so a
// provider with a wrong password never gets the token another one fetched (and no password is stored as a key).
const cache = new Map<string, CacheSlot>();
let keyOfPasswords: Uint8Array | undefined;

/** The per-process HMAC key of the cache, made on first use: loading this module must not need `node:crypto`. */
const passwordTagOf = (crypto: typeof import('node:crypto'), password: string): string => {
  keyOfPasswords ??= crypto.randomBytes(32);
  return crypto.createHmac('sha256', keyOfPasswords).update(password).digest('hex');
};

const OPTION_KEYS = ['userName', 'password', 'domainName', 'region', 'iamEndpoint', 'fetch', 'clock', 'refreshBeforeMs', 'timeoutMs'] as const;
const DEFAULT_REFRESH_BEFORE_MS = 5 * 60_000;
const DEFAULT_TIMEOUT_MS = 10_000;

/** Checks an IAM endpoint: https, or http to a loopback host; no credentials, query or fragment. */
const endpointProblems = (endpoint: string): Problem[] => {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return [{ path: 'iamEndpoint', message: 'is not a URL (expected e.g. https://iam.cn-north-4.myhuaweicloud.com)' }];
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    return [{ path: 'iamEndpoint', message: 'must use https:// (http:// only to a loopback emulator): the password travels in the body' }];
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return [{ path: 'iamEndpoint', message: 'must not carry credentials, a query or a fragment' }];
  }
  return [];
};

const optionProblems = (options: IamPasswordTokenOptions): Problem[] => {
  const notAnObject = objectProblems('', options, '{ userName, password, domainName, region }');
  if (notAnObject.length > 0) return notAnObject;
  const { iamEndpoint } = options;
  return [
    ...unknownKeyProblems(options, OPTION_KEYS),
    ...nonEmptyString()('userName', options.userName),
    ...nonEmptyString()('domainName', options.domainName),
    ...nonEmptyString({ secret: true })('password', options.password),
    ...check('a region name like cn-north-4', (value) => typeof value === 'string' && REGION_PATTERN.test(value))('region', options.region),
    ...optional(check('a URL string', (value) => typeof value === 'string'))('iamEndpoint', iamEndpoint),
    ...(typeof iamEndpoint === 'string' ? endpointProblems(iamEndpoint) : []),
    ...optional(fn('a function like fetch'))('fetch', options.fetch),
    ...optional(fn('a function returning a Date'))('clock', options.clock),
    ...optional(nonNegativeMs)('refreshBeforeMs', options.refreshBeforeMs),
    ...optional(nonNegativeMs)('timeoutMs', options.timeoutMs),
  ];
};

const errorFields = (body: string): { errorCode?: string; errorMsg?: string } => {
  const decoded = IamErrorBody.decode(parseJson(body));
  if (!isRight(decoded)) return {};
  const { error, error_code, error_msg } = decoded.right;
  const code = error_code ?? (error?.code === undefined ? undefined : String(error.code));
  const message = error_msg ?? error?.message;
  return { ...(code === undefined ? {} : { errorCode: code }), ...(message === undefined ? {} : { errorMsg: message }) };
};

const causeText = (cause: unknown): string => {
  if (cause instanceof Error && cause.name === 'TimeoutError') return 'no answer in time';
  const inner = cause instanceof Error ? cause.cause : undefined;
  const code = typeof inner === 'object' && inner !== null ? (inner as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'the request failed';
};

/**
 * A token provider that logs in to IAM with a password and caches the token in memory per
 * (IAM endpoint, domain, user, project scope), refreshing it before `expires_at`. Concurrent callers
 * share one request; `invalidate()` drops the cached token (the session calls it after a 401).
 * Failures are {@link SisAuthError}s with IAM's status, code and message, never the password.
 * Node only: a password has no place in a browser (a page talks to a relay, `auth: 'relay'`).
 * @throws {SisConfigError} when an option is invalid, or outside Node (no `node:crypto`).
 * @example
 * const token = iamPasswordToken({ userName: 'tts', password: process.env.IAM_PASSWORD ?? '', domainName: 'my-account', region: 'cn-north-4' });
 * const client = createSisClient({ region: 'cn-north-4', projectId, auth: { token } });
 */
export const iamPasswordToken = (options: IamPasswordTokenOptions): IamTokenProvider => {
  const crypto = nodeCrypto();
  if (crypto === undefined) {
    throw new SisConfigError(
      [
        {
          path: '',
          message:
            "it runs in Node only (it needs node:crypto, and a password must stay on a server): get tokens on your server, and point the page's client at a relay with auth: 'relay'",
        },
      ],
      'use of iamPasswordToken',
    );
  }
  const problems = optionProblems(options);
  if (problems.length > 0) throw new SisConfigError(problems, 'iamPasswordToken options');
  const { userName, password, domainName, region } = options;
  const endpoint = (options.iamEndpoint ?? `https://iam.${region}.myhuaweicloud.com`).replace(/\/+$/, '');
  const doFetch: FetchLike = options.fetch ?? fetch;
  const clock = options.clock ?? ((): Date => new Date());
  const refreshBeforeMs = options.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const who = `user ${JSON.stringify(userName)} of domain ${JSON.stringify(domainName)} at ${endpoint}`;

  const passwordTag = passwordTagOf(crypto, password);
  const key = JSON.stringify([endpoint, domainName, userName, region, passwordTag]);
  const slot = (): CacheSlot => {
    let found = cache.get(key);
    if (found === undefined) {
      found = { cached: undefined, inFlight: undefined };
      cache.set(key, found);
    }
    return found;
  };
  // IAM may echo what it was sent; nothing it says leaves here with the password in it.
  const scrub = (text: string): string => text.split(password).join('<redacted>');

  const login = async (): Promise<CachedToken> => {
    const body = JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: userName, password, domain: { name: domainName } } } },
        scope: { project: { name: region } },
      },
    });
    let response: Awaited<ReturnType<FetchLike>>;
    let text: string;
    try {
      response = await doFetch(`${endpoint}/v3/auth/tokens`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json;charset=utf8' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      text = await response.text();
    } catch (cause) {
      throw new SisAuthError(`could not get an IAM token for ${who}: ${causeText(cause)} (see error.cause)`, { cause, retryable: true });
    }
    const { status } = response;
    if (status < 200 || status > 299) {
      const { errorCode, errorMsg } = errorFields(text);
      const what = [errorCode, errorMsg].filter((s) => s !== undefined).join(' ');
      throw new SisAuthError(scrub(`IAM refused a token for ${who} with HTTP ${status}${what === '' ? '' : `: ${what}`}`), {
        status,
        ...(errorCode === undefined ? {} : { errorCode: scrub(errorCode) }),
        ...(errorMsg === undefined ? {} : { errorMsg: scrub(errorMsg) }),
        retryable: status === 429 || status >= 500,
      });
    }
    const token = response.headers.get('x-subject-token');
    if (!isHeaderValue(token)) {
      throw new SisAuthError(`IAM answered HTTP ${status} without a usable X-Subject-Token header (${who})`, { status, retryable: true });
    }
    const decoded = IamTokenBody.decode(parseJson(text));
    const expiresAt = isRight(decoded) ? Date.parse(decoded.right.token.expires_at) : NaN;
    if (!isRight(decoded) || Number.isNaN(expiresAt)) {
      throw new SisAuthError(`IAM answered HTTP ${status} without token.expires_at in its body (${who})`, { status, retryable: true });
    }
    // The lifetime is measured on IAM's clock (issued_at → expires_at), so a skewed local clock does not matter.
    const now = clock().getTime();
    const issuedAt = decoded.right.token.issued_at === undefined ? NaN : Date.parse(decoded.right.token.issued_at);
    const lifetime = expiresAt - (Number.isNaN(issuedAt) ? now : issuedAt);
    return { token, refreshAt: now + lifetime - Math.min(refreshBeforeMs, lifetime / 2) };
  };

  const provider = async (): Promise<string> => {
    const current = slot();
    if (current.cached !== undefined && clock().getTime() < current.cached.refreshAt) return current.cached.token;
    if (current.inFlight === undefined) {
      const request = login().then(
        (fresh) => {
          if (current.inFlight === request) current.inFlight = undefined;
          current.cached = fresh;
          return fresh;
        },
        (error: unknown) => {
          if (current.inFlight === request) current.inFlight = undefined;
          throw error;
        },
      );
      current.inFlight = request;
    }
    return (await current.inFlight).token;
  };

  const description = { iamEndpoint: endpoint, domainName, userName, project: region };
  return Object.defineProperties(provider, {
    invalidate: {
      value: (): void => {
        slot().cached = undefined;
      },
    },
    [INSPECT_CUSTOM]: { value: inspectAs('IamTokenProvider', () => description) },
    toJSON: { value: () => ({ type: 'IamTokenProvider', ...description }) },
    toString: { value: () => `[IamTokenProvider ${userName}@${domainName} ${region}]` },
  }) as IamTokenProvider;
};
