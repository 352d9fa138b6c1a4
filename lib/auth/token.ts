/** Handshake credentials: how a session gets the headers that authenticate it. */
import { catchError, defer, from, isObservable, map, of, take, throwError, throwIfEmpty, type Observable } from 'rxjs';
import { check, fn, isHeaderValue, isObject, kindOf, optional, unknownKeyProblems } from '../checks.js';
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

/**
 * How the client authenticates its handshakes:
 * - `{ token }`: an IAM token or a provider of one, sent as `X-Auth-Token`;
 * - `{ ak, sk }`: an access key that signs each handshake;
 * - `'relay'`: the endpoint is a relay (`createSisRelay` in `rx-sis-tts/relay`) that authenticates the
 *   page itself (a cookie, or a token the page passes as a WebSocket subprotocol, see
 *   `browserWebSocketFactory`) and holds the credentials: the client sends no credential headers.
 *   The only kind the browser build accepts, since a page must never hold a token or an SK.
 * @example
 * // In a page, against the app's relay mounted at /tts:
 * const client = createSisClient({ endpoint: 'wss://your.app/tts', projectId: 'relay', auth: 'relay' });
 */
export type AuthOptions = TokenAuth | AkSkAuth | 'relay';

/** The kinds of {@link AuthOptions} that carry a credential (a relay's own, or a Node client's). */
export type CredentialAuth = TokenAuth | AkSkAuth;

// An AK goes into the Authorization header's `Access=` field: no spaces, commas or controls.
const AK_PATTERN = /^[\u0021-\u002b\u002d-\u007e]+$/;

const isTokenAuth = (auth: AuthOptions): auth is TokenAuth => auth !== 'relay' && 'token' in auth && auth.token !== undefined;

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
    catchError((cause: unknown) =>
      // A SisError already says what to do (signing outside Node); anything else is wrapped.
      throwError(() => (cause instanceof SisError ? cause : new SisAuthError('could not sign the handshake (see error.cause)', { cause }))),
    ),
  );

/**
 * The handshake headers for one connection to `url`: `X-Auth-Token` (the provider is asked once per
 * connection), `X-Sdk-Date` and `Authorization` signed for this URL at this moment, or none for a relay.
 */
export const authHeaders$ = (auth: AuthOptions, url: string): Observable<Record<string, string>> => {
  if (auth === 'relay') return of({});
  if (!isTokenAuth(auth)) return signed$(auth, url);
  const { token } = auth;
  return typeof token === 'string'
    ? defer(() => of({ 'X-Auth-Token': checkedToken(token) }))
    : fromProvider(token).pipe(map((t) => ({ 'X-Auth-Token': checkedToken(t) })));
};

/**
 * The headers of `auth` when nothing has to be waited for (a fixed token, a relay), else undefined.
 * A session connects with them at once, without an Observable: the common case costs no subscription.
 * @throws when a fixed token is not a valid header value (the client's option checks refuse it first).
 */
export const immediateAuthHeaders = (auth: AuthOptions): Record<string, string> | undefined => {
  if (auth === 'relay') return {};
  return isTokenAuth(auth) && typeof auth.token === 'string' ? { 'X-Auth-Token': checkedToken(auth.token) } : undefined;
};

/** The `invalidate` of a refreshable token provider, if `auth` has one (a signature, a fixed token or a relay has nothing to refresh). */
export const tokenInvalidator = (auth: AuthOptions): (() => void) | undefined => {
  if (!isTokenAuth(auth)) return undefined;
  const source = auth.token;
  return isRefreshable(source) ? () => source.invalidate() : undefined;
};

/** `auth` with its token or SK hidden from `util.inspect`, JSON and enumeration (`'relay'` has nothing to hide). */
export const redactedAuth = <A extends AuthOptions>(auth: A): A => {
  if (auth === 'relay') return auth;
  return (
    isTokenAuth(auth) ? withRedactedSecrets<TokenAuth>(auth, ['token'], 'TokenAuth') : withRedactedSecrets<AkSkAuth>(auth as AkSkAuth, ['sk'], 'AkSkAuth')
  ) as A;
};

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

const NO_CREDENTIALS_IN_A_PAGE =
  "a page cannot hold a token or an SK (anyone could read them): run a relay on your server (createSisRelay in rx-sis-tts/relay) and point the client at it with auth: 'relay'";

/**
 * Problems with the shape of `auth` (checked when the client is created); they never quote a secret.
 * `credentials: false` (the browser build) accepts `'relay'` only.
 */
export const authProblems = (auth: unknown, { credentials = true }: { readonly credentials?: boolean | undefined } = {}): Problem[] => {
  if (auth === 'relay') return [];
  // Whatever a page gave may be a secret: say what to do, never what it was.
  if (!credentials) return [{ path: 'auth', message: `${auth === undefined ? 'is required' : 'must be'} 'relay': ${NO_CREDENTIALS_IN_A_PAGE}` }];
  if (auth === undefined) return [{ path: 'auth', message: `is required: ${AUTH_SHAPE}, or 'relay' behind a relay` }];
  // Only the kind is named: a string here may be a token passed in the wrong place.
  if (!isObject(auth)) return [{ path: 'auth', message: `must be an object like ${AUTH_SHAPE}, or 'relay' behind a relay, got ${kindOf(auth)}` }];
  const hasToken = field(auth, 'token') !== undefined;
  const hasKey = field(auth, 'ak') !== undefined || field(auth, 'sk') !== undefined;
  if (hasToken && hasKey) return [{ path: 'auth', message: 'give either token or ak and sk, not both' }];
  if (hasKey) return akSkProblems(auth);
  return [...unknownKeyProblems(auth, ['token'], 'auth.'), ...tokenProblems('auth.token', field(auth, 'token'))];
};
