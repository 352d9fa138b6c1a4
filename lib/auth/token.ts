/** Handshake credentials: how a session gets the headers that authenticate it. */
import { catchError, defer, from, isObservable, map, of, take, throwError, throwIfEmpty, type Observable } from 'rxjs';
import { SisAuthError, SisError } from '../errors.js';

/** A token, or a function returning one (sync, Promise or Observable: the first value is used). */
export type TokenSource = string | (() => string | PromiseLike<string> | Observable<string>);

/** Token authentication: sent as `X-Auth-Token`. */
export interface TokenAuth {
  readonly token: TokenSource;
}

export type AuthOptions = TokenAuth;

// A token goes into an HTTP header: control characters would let it inject headers.
const HEADER_UNSAFE = /[\u0000-\u001f\u007f]/;

const checkedToken = (token: unknown): string => {
  if (typeof token !== 'string' || token.trim() === '') {
    throw new SisAuthError(`the token provider gave ${typeof token === 'string' ? 'an empty token' : `a ${typeof token}, not a string`}`);
  }
  if (HEADER_UNSAFE.test(token)) throw new SisAuthError('the token contains control characters and cannot be sent as a header');
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
      throwError(() =>
        cause instanceof SisError ? cause : new SisAuthError('the token provider failed (see error.cause)', { cause, retryable: true }),
      ),
    ),
  );

/** The handshake headers for one connection; the provider is asked once per connection. */
export const authHeaders$ = (auth: AuthOptions): Observable<Record<string, string>> =>
  (typeof auth.token === 'string' ? from([auth.token]) : fromProvider(auth.token)).pipe(
    map((token) => ({ 'X-Auth-Token': checkedToken(token) })),
  );

/** Problems with the shape of `auth` (checked when the client is created). */
export const authProblems = (auth: unknown): { path: string; message: string }[] => {
  if (typeof auth !== 'object' || auth === null) return [{ path: 'auth', message: 'is required: { token: string | () => token }' }];
  const token = (auth as { token?: unknown }).token;
  if (typeof token === 'function') return [];
  if (typeof token !== 'string') return [{ path: 'auth.token', message: 'must be a string or a function returning one' }];
  if (token.trim() === '') return [{ path: 'auth.token', message: 'must not be empty' }];
  if (HEADER_UNSAFE.test(token)) return [{ path: 'auth.token', message: 'must not contain control characters' }];
  return [];
};
