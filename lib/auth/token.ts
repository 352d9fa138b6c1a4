/** Handshake credentials: how a session gets the headers that authenticate it. */
import { catchError, defer, from, isObservable, map, of, take, throwError, throwIfEmpty, type Observable } from 'rxjs';
import { check, fn, isHeaderValue, isObject, objectProblems, optional, unknownKeyProblems } from '../checks.js';
import { SisAuthError, SisError, type Problem } from '../errors.js';
import { signHandshake, type AkSkAuth } from './aksk.js';
import { withRedactedSecrets } from './redact.js';

/** A token, or a function returning one (sync, Promise or Observable: the first value is used). */
export type TokenSource = string | (() => string | PromiseLike<string> | Observable<string>);

/**
 * A token provider that caches its token (e.g. {@link iamPasswordToken}). `invalidate()` drops the
 * cached token: when a handshake is rejected with 401 the session calls it and retries once.
 */
export interface RefreshableTokenSource {
  (): string | PromiseLike<string> | Observable<string>;
  /** Drops the cached token, so that the next call fetches a fresh one. */
  invalidate(): void;
}

/** Token authentication: sent as `X-Auth-Token`. */
export interface TokenAuth {
  readonly token: TokenSource;
}

/** `{ token }` (an IAM token or a provider of one) or `{ ak, sk }` (an access key that signs each handshake). */
export type AuthOptions = TokenAuth | AkSkAuth;

// An AK goes into the Authorization header's `Access=` field: no spaces, commas or controls.
const AK_PATTERN = /^[\u0021-\u002b\u002d-\u007e]+$/;

const isTokenAuth = (auth: AuthOptions): auth is TokenAuth => 'token' in auth && auth.token !== undefined;

const isRefreshable = (source: TokenSource): source is RefreshableTokenSource =>
  typeof source === 'function' && typeof (source as { invalidate?: unknown }).invalidate === 'function';

const checkedToken = (token: unknown): string => {
  if (typeof token !== 'string' || token.trim() === '') {
    throw new SisAuthError(`the token provider gave ${typeof token === 'string' ? 'an empty token' : `a ${typeof token}, not a string`}`);
  }
  // A token goes into an HTTP header: control characters would let it inject headers.
  if (!isHeaderValue(token)) throw new SisAuthError('the token contains control characters and cannot be sent as a header');
  return token;
};

const fromProvider = (provider: () => string | PromiseLike<string> | Observable<string>): Observable<string> =>
  defer(() => {
    const result = provider();
    // A plain value stays synchronous: no needless tick, and marble tests see it in virtual time.
    return isObservable(result) ? result : typeof result === 'object' && result !== null ? from(result) : of(result);
  }).pipe(
    take(1),
    throwIfEmpty(() => new SisAuthError('the token provider completed without giving a token')),
    catchError((cause: unknown) =>
      throwError(() => (cause instanceof SisError ? cause : new SisAuthError('the token provider failed (see error.cause)', { cause, retryable: true }))),
    ),
  );

const systemClock = (): Date => new Date();

const signed$ = (auth: AkSkAuth, url: string): Observable<Record<string, string>> =>
  // defer: the date is taken when the connection is made, not when the Observable is built.
  defer(() => of(signHandshake(url, auth, (auth.clock ?? systemClock)()))).pipe(
    catchError((cause: unknown) => throwError(() => new SisAuthError('could not sign the handshake (see error.cause)', { cause }))),
  );

/**
 * The handshake headers for one connection to `url`: `X-Auth-Token` (the provider is asked once per
 * connection), or `X-Sdk-Date` and `Authorization` signed for this URL at this moment.
 */
export const authHeaders$ = (auth: AuthOptions, url: string): Observable<Record<string, string>> =>
  isTokenAuth(auth)
    ? (typeof auth.token === 'string' ? from([auth.token]) : fromProvider(auth.token)).pipe(map((token) => ({ 'X-Auth-Token': checkedToken(token) })))
    : signed$(auth, url);

/** The `invalidate` of a refreshable token provider, if `auth` has one (a signature or a fixed token has nothing to refresh). */
export const tokenInvalidator = (auth: AuthOptions): (() => void) | undefined => {
  if (!isTokenAuth(auth)) return undefined;
  const source = auth.token;
  return isRefreshable(source) ? () => source.invalidate() : undefined;
};

/** `auth` with its token or SK hidden from `util.inspect`, JSON and enumeration. */
export const redactedAuth = (auth: AuthOptions): AuthOptions =>
  isTokenAuth(auth) ? withRedactedSecrets<TokenAuth>(auth, ['token'], 'TokenAuth') : withRedactedSecrets<AkSkAuth>(auth, ['sk'], 'AkSkAuth');

const field = (value: object, key: string): unknown => (value as Record<string, unknown>)[key];

// The token is a secret: its problems say what is expected, never what was given.
const tokenProblems = check(
  'a non-empty string without control characters, or a function returning one',
  (token) => typeof token === 'function' || isHeaderValue(token),
  {
    secret: true,
  },
);

const akSkProblems = (auth: object): Problem[] => [
  ...unknownKeyProblems(auth, ['ak', 'sk', 'clock'], 'auth.'),
  // Not a secret, but it sits next to one: a pair pasted the wrong way round must not show the SK.
  ...check('an access key id (printable characters without spaces or commas)', (value) => typeof value === 'string' && AK_PATTERN.test(value), {
    secret: true,
  })('auth.ak', field(auth, 'ak')),
  ...check('the secret access key, a non-empty string', (value) => typeof value === 'string' && value !== '', { secret: true })('auth.sk', field(auth, 'sk')),
  ...optional(fn('a function returning a Date'))('auth.clock', field(auth, 'clock')),
];

const AUTH_SHAPE = '{ token: string | () => token } or { ak, sk }';

/** Problems with the shape of `auth` (checked when the client is created); they never quote a secret. */
export const authProblems = (auth: unknown): Problem[] => {
  if (auth === undefined) return [{ path: 'auth', message: `is required: ${AUTH_SHAPE}` }];
  if (!isObject(auth)) return objectProblems('auth', auth, AUTH_SHAPE);
  const hasToken = field(auth, 'token') !== undefined;
  const hasKey = field(auth, 'ak') !== undefined || field(auth, 'sk') !== undefined;
  if (hasToken && hasKey) return [{ path: 'auth', message: 'give either token or ak and sk, not both' }];
  if (hasKey) return akSkProblems(auth);
  return [...unknownKeyProblems(auth, ['token'], 'auth.'), ...tokenProblems('auth.token', field(auth, 'token'))];
};
