/**
 * Handshake authentication, as pluggable functions: the token check, the AK/SK signature check
 * (protocol.md §4), and the gateway's choice between them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { parseAuthorization, parseSdkDate, signatureOf, SIGNING_ALGORITHM } from '../auth/aksk.js';

/** The parts of the upgrade request an authenticator may look at. */
export interface HandshakeRequest {
  readonly method: string;
  /** The request target as sent, query string included. */
  readonly url: string;
  /** The path without the query string. */
  readonly path: string;
  /** Raw headers (secrets included): never log them. */
  readonly headers: IncomingHttpHeaders;
  /** Header names and values as sent, duplicates kept (Node folds a repeated `Host` away in `headers`). */
  readonly rawHeaders?: readonly string[] | undefined;
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

const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value.join(',') : value);

/**
 * Accepts a request whose `X-Auth-Token` is one of `tokens` (compared in constant time), or one that
 * `isIssued` vouches for (tokens the emulated IAM handed out).
 */
export const tokenAuthenticator = (tokens: readonly string[], isIssued: (token: string) => boolean = () => false): Authenticator => {
  const accepted = tokens.map(digest);
  return ({ headers }) => {
    const token = single(headers['x-auth-token']);
    // The API gateway's own wording (APIG.0301 for a missing and for an unknown token alike).
    if (token === undefined || token === '') {
      return { status: 401, errorCode: 'APIG.0301', errorMsg: 'Incorrect IAM authentication information: x-auth-token not found' };
    }
    const given = digest(token);
    // Every comparison runs: how long the check takes says nothing about which token was close.
    const known = accepted.reduce((found, a) => timingSafeEqual(a, given) || found, false);
    return known || isIssued(token)
      ? undefined
      : { status: 401, errorCode: 'APIG.0301', errorMsg: 'Incorrect IAM authentication information: decrypt token fail' };
  };
};

/** An access key the emulator knows. */
export interface AkSkKey {
  readonly ak: string;
  readonly sk: string;
}

/** Options of {@link akskAuthenticator}. */
export interface AkSkCheckOptions {
  /** The server's clock; default the system clock. */
  readonly clock?: (() => Date) | undefined;
  /** Largest accepted difference between `X-Sdk-Date` and the clock, default 15 minutes. */
  readonly maxSkewMs?: number | undefined;
}

const aksk = (why: string): HandshakeRejection => ({ status: 401, errorCode: 'APIG.0301', errorMsg: `Incorrect IAM authentication information: ${why}` });

/**
 * Verifies SDK-HMAC-SHA256 signatures (protocol.md §4) made with one of `keys`: a missing or
 * malformed `Authorization`, an unknown AK, a missing, repeated or unsigned `Host`, an `X-Sdk-Date`
 * missing or more than `maxSkewMs` off, or a wrong signature → 401 APIG.0301.
 */
export const akskAuthenticator = (keys: readonly AkSkKey[], options: AkSkCheckOptions = {}): Authenticator => {
  const clock = options.clock ?? ((): Date => new Date());
  const maxSkewMs = options.maxSkewMs ?? 15 * 60_000;
  return ({ method, url, headers, rawHeaders }) => {
    const header = single(headers['authorization']);
    if (header === undefined) return aksk('Authorization header not found');
    const parsed = parseAuthorization(header);
    if (parsed === undefined) return aksk(`Authorization is not an ${SIGNING_ALGORITHM} signature`);
    const key = keys.find((k) => k.ak === parsed.ak);
    if (key === undefined) return aksk('Get secretKey failed,ak:******,err:ak not exist');
    const hosts =
      rawHeaders === undefined ? (headers.host === undefined ? 0 : 1) : rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'host').length;
    if (hosts !== 1) return aksk(`expected exactly one Host header, got ${hosts}`);
    const date = single(headers['x-sdk-date']);
    if (date === undefined) return aksk('x-sdk-date not found');
    const signedAt = parseSdkDate(date);
    if (signedAt === undefined) return aksk('x-sdk-date is not in the format YYYYMMDDTHHMMSSZ');
    if (Math.abs(clock().getTime() - signedAt.getTime()) > maxSkewMs) return aksk('x-sdk-date is too far from the server time (check the clock)');
    if (!parsed.signedHeaders.includes('host') || !parsed.signedHeaders.includes('x-sdk-date')) {
      return aksk('SignedHeaders must include host and x-sdk-date');
    }
    const signed: Record<string, string> = {};
    for (const name of parsed.signedHeaders) {
      const value = single(headers[name]);
      if (value === undefined) return aksk(`signed header ${name} not found`);
      signed[name] = value;
    }
    const at = url.indexOf('?');
    const parts = { method, pathname: at < 0 ? url : url.slice(0, at), search: at < 0 ? '' : url.slice(at), signed };
    const expected = Buffer.from(signatureOf(key.sk, parts, date), 'hex');
    const given = Buffer.from(parsed.signature, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected) ? undefined : aksk('verify aksk signature fail');
  };
};

/**
 * What the gateway in front of SIS does: an `Authorization: SDK-HMAC-SHA256 …` header is checked as an
 * AK/SK signature (when `akSk` is given), anything else as a token.
 */
export const gatewayAuthenticator = (checks: { readonly token: Authenticator; readonly akSk?: Authenticator | undefined }): Authenticator => {
  const { token, akSk } = checks;
  return (request) => {
    const authorization = single(request.headers['authorization']);
    return akSk !== undefined && authorization?.startsWith(SIGNING_ALGORITHM) === true ? akSk(request) : token(request);
  };
};
