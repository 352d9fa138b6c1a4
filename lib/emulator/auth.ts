/**
 * Handshake authentication, as a pluggable function: the token check lives here; an AK/SK signature
 * check (protocol.md §4) can be another {@link Authenticator} passed as `authenticate`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The parts of the upgrade request an authenticator may look at. */
export interface HandshakeRequest {
  readonly method: string;
  /** The request target as sent, query string included. */
  readonly url: string;
  /** The path without the query string. */
  readonly path: string;
  /** Raw headers (secrets included): never log them. */
  readonly headers: IncomingHttpHeaders;
}

/** An HTTP error answered to the handshake, with the API gateway's JSON fields. */
export interface HandshakeRejection {
  readonly status: number;
  readonly errorCode: string;
  readonly errorMsg: string;
}

/** `undefined` lets the request through; a rejection is answered as an HTTP error. */
export type Authenticator = (request: HandshakeRequest) => HandshakeRejection | undefined;

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Accepts a request whose `X-Auth-Token` is one of `tokens` (compared in constant time). */
export const tokenAuthenticator = (tokens: readonly string[]): Authenticator => {
  const accepted = tokens.map(digest);
  return ({ headers }) => {
    const token = headers['x-auth-token'];
    // The API gateway's own wording (APIG.0301 for a missing and for an unknown token alike).
    if (token === undefined || token === '') {
      return { status: 401, errorCode: 'APIG.0301', errorMsg: 'Incorrect IAM authentication information: x-auth-token not found' };
    }
    const given = digest(Array.isArray(token) ? token.join(',') : token);
    return accepted.some((a) => timingSafeEqual(a, given))
      ? undefined
      : { status: 401, errorCode: 'APIG.0301', errorMsg: 'Incorrect IAM authentication information: decrypt token fail' };
  };
};
