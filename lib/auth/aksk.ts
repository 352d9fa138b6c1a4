/**
 * AK/SK signing of the handshake, the API gateway's "SDK-HMAC-SHA256" (protocol.md §4), on `node:crypto`.
 * The same canonical form serves the client (signHandshake) and the emulator's verifier.
 * `node:crypto` is looked up when a signature is made, not imported: the root entry loads in a browser,
 * which must never hold an SK; there signing fails with a {@link SisConfigError} pointing at a relay.
 */
import { SisConfigError } from '../errors.js';
import { nodeCrypto } from '../node-builtins.js';
import { safeDecodeURIComponent } from '../transport/endpoint.js';

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';

/** AK/SK authentication: every handshake is signed, with a fresh `X-Sdk-Date` per connection. */
export interface AkSkAuth {
  /** The access key id (not a secret: it names the key). */
  readonly ak: string;
  /** The secret access key: used only as the HMAC key, never sent. */
  readonly sk: string;
  /** The time to sign with; default the system clock. Inject a fixed one in tests. */
  readonly clock?: (() => Date) | undefined;
}

/** `node:crypto`, or the reason this runtime cannot sign. */
const signingCrypto = (): typeof import('node:crypto') => {
  const crypto = nodeCrypto();
  if (crypto === undefined) {
    throw new SisConfigError(
      [
        {
          path: '',
          message: "it runs in Node only (it needs node:crypto, and an SK must stay on a server): point the page's client at a relay with auth: 'relay'",
        },
      ],
      'use of AK/SK signing',
    );
  }
  return crypto;
};

const sha256Hex = (text: string): string => signingCrypto().createHash('sha256').update(text, 'utf8').digest('hex');

/** SHA-256 of the empty body (a handshake has none). */
const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** `YYYYMMDDTHHMMSSZ` in UTC, the format of `X-Sdk-Date`. */
export const sdkDate = (date: Date): string =>
  date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');

/** Parses an `X-Sdk-Date`; `undefined` when it is not `YYYYMMDDTHHMMSSZ`. */
export const parseSdkDate = (value: string): Date | undefined => {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const date = new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 0, h ?? 0, mi ?? 0, s ?? 0));
  return sdkDate(date) === value ? date : undefined; // rejects 20241340T…, which Date.UTC would roll over
};

/** RFC 3986 unreserved characters stay, every other UTF-8 byte becomes `%XX`, as Huawei's signers encode. */
export const signerEncode = (text: string): string => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Each path segment decoded, then encoded the signer's way, and always a trailing `/`:
 * `/v1/p%20q/rtts` → `/v1/p%20q/rtts/`. Decoding first makes the result the same whether or not the
 * path arrives percent-encoded (a WHATWG URL encodes it; the request line on the server keeps it so).
 */
export const canonicalUri = (pathname: string): string => {
  const path = pathname
    .split('/')
    .map((segment) => signerEncode(safeDecodeURIComponent(segment)))
    .join('/');
  return path.endsWith('/') ? path : `${path}/`;
};

/**
 * Parameters sorted by name (then value, for repeated names), each `name=value` encoded, joined by `&`.
 * `+` is a literal plus here, not a space: the signature covers the bytes of the request line.
 */
export const canonicalQuery = (search: string): string => {
  const query = search.startsWith('?') ? search.slice(1) : search;
  const params = new Map<string, string[]>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = safeDecodeURIComponent(at < 0 ? pair : pair.slice(0, at));
    const value = at < 0 ? '' : safeDecodeURIComponent(pair.slice(at + 1));
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  return [...params.keys()]
    .sort()
    .flatMap((name) => [...(params.get(name) ?? [])].sort().map((value) => `${signerEncode(name)}=${signerEncode(value)}`))
    .join('&');
};

/** What a signature covers. `signed` maps each signed header's lower-case name to its value. */
export interface SignedParts {
  readonly method: string;
  /** The path as in the request line (encoded or not). */
  readonly pathname: string;
  /** The query string, with or without its `?`. */
  readonly search: string;
  readonly signed: Readonly<Record<string, string>>;
}

/** Step 2 of §4: the canonical request (the body is always empty for a handshake). */
export const canonicalRequest = (parts: SignedParts): string => {
  const names = Object.keys(parts.signed)
    .map((name) => name.toLowerCase())
    .sort();
  const value = (name: string): string => (Object.entries(parts.signed).find(([n]) => n.toLowerCase() === name)?.[1] ?? '').trim();
  return [
    parts.method.toUpperCase(),
    canonicalUri(parts.pathname),
    canonicalQuery(parts.search),
    names.map((name) => `${name}:${value(name)}\n`).join(''),
    names.join(';'),
    EMPTY_BODY_SHA256,
  ].join('\n');
};

/** Steps 3–4: hex(HMAC-SHA256(SK, string to sign)). */
export const signatureOf = (sk: string, parts: SignedParts, date: string): string => {
  const stringToSign = [SIGNING_ALGORITHM, date, sha256Hex(canonicalRequest(parts))].join('\n');
  return signingCrypto().createHmac('sha256', sk).update(stringToSign, 'utf8').digest('hex');
};

/**
 * The headers that sign a `GET` of `url` at `now`: `X-Sdk-Date` and `Authorization`. `Host` is signed
 * as the URL's host (port included when not the default), which is exactly the one `Host` header
 * Node's HTTP client sends for that URL; it is therefore not added here (two would fail with 401).
 */
export const signHandshake = (url: string, auth: Pick<AkSkAuth, 'ak' | 'sk'>, now: Date): Record<string, string> => {
  const target = new URL(url);
  const date = sdkDate(now);
  const signed = { host: target.host, 'x-sdk-date': date };
  const signature = signatureOf(auth.sk, { method: 'GET', pathname: target.pathname, search: target.search, signed }, date);
  return {
    'X-Sdk-Date': date,
    Authorization: `${SIGNING_ALGORITHM} Access=${auth.ak}, SignedHeaders=${Object.keys(signed).sort().join(';')}, Signature=${signature}`,
  };
};

/** The parts of an `Authorization: SDK-HMAC-SHA256 …` header; `undefined` when it is not one. */
export const parseAuthorization = (
  header: string,
): { readonly ak: string; readonly signedHeaders: readonly string[]; readonly signature: string } | undefined => {
  const match = /^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)\s*$/.exec(header);
  if (match === null) return undefined;
  const [, ak = '', signedHeaders = '', signature = ''] = match;
  return { ak, signedHeaders: signedHeaders.toLowerCase().split(';'), signature: signature.toLowerCase() };
};
