/**
 * An IAM-compatible `POST /v3/auth/tokens` (protocol.md §3) for the emulator: password logins of
 * configured users, tokens with a lifetime, injected failures, and a count of the requests served.
 * The tokens it issues are accepted by the handshake's token check. It keeps digests of the tokens,
 * not the tokens, and nothing it answers or records contains a password.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import * as t from 'io-ts';
import { check, isIntegerIn } from '../checks.js';
import { SisConfigError } from '../errors.js';
import { isLeft } from '../protocol/either.js';
import { parseJson } from '../protocol/json.js';
import { readRequestBody } from './request-body.js';

const httpErrorStatus = check('an HTTP error status from 400 to 599', isIntegerIn(400, 599));

export const IAM_TOKENS_PATH = '/v3/auth/tokens';

/** A user the emulated IAM knows. */
export interface IamUser {
  readonly domainName: string;
  readonly userName: string;
  readonly password: string;
}

/** An answer to inject into the next token request instead of a token. */
export interface IamFailure {
  /** HTTP status, e.g. 401 or 500. */
  readonly status: number;
  readonly errorCode?: string | undefined;
  readonly errorMsg?: string | undefined;
}

/** The emulated IAM, as tests see it. */
export interface EmulatorIam {
  /** Token requests received (`POST /v3/auth/tokens`), failed ones included. */
  readonly requests: number;
  /** Tokens handed out. */
  readonly tokensIssued: number;
  /** Queues failures for the next token requests, one each. */
  injectFailure(...failures: IamFailure[]): void;
  /** Makes every token issued so far invalid, as a password change does. */
  revokeTokens(): void;
}

export interface IamSettings {
  readonly users: readonly IamUser[];
  readonly tokenLifetimeMs: number;
  readonly clock: () => Date;
}

/** The service: an HTTP handler, the check the handshake uses, and the view tests get. */
export interface IamService {
  handle(request: IncomingMessage, response: ServerResponse): void;
  isValidToken(token: string): boolean;
  readonly view: EmulatorIam;
}

const LoginBody = t.type({
  auth: t.type({
    identity: t.type({
      methods: t.array(t.string),
      password: t.type({ user: t.type({ name: t.string, password: t.string, domain: t.type({ name: t.string }) }) }),
    }),
    scope: t.type({ project: t.union([t.type({ name: t.string }), t.type({ id: t.string })]) }),
  }),
});

const MAX_BODY_BYTES = 64 * 1024;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
const sameText = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

// IAM's timestamps carry microseconds: 2024-01-02T03:04:05.678000Z.
const iamTime = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');

const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const text = JSON.stringify(body);
  response.writeHead(status, { ...headers, 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text), connection: 'close' });
  response.end(text);
};

const errorBody = (status: number, code: string, message: string): unknown => ({
  error: { code, message, title: STATUS_CODES[status] ?? 'Error' },
});

export const iamService = (settings: IamSettings): IamService => {
  const issued = new Map<string, { expiresAt: number }>(); // sha256(token) as hex → expiry
  const failures: IamFailure[] = [];
  let requests = 0;
  let tokensIssued = 0;

  const issue = (response: ServerResponse, user: IamUser, project: { name: string } | { id: string }): void => {
    const now = settings.clock().getTime();
    const expiresAt = now + settings.tokenLifetimeMs;
    const token = `MIIemu${randomBytes(48).toString('base64url')}`;
    issued.set(digest(token).toString('hex'), { expiresAt });
    tokensIssued++;
    send(
      response,
      201,
      {
        token: {
          methods: ['password'],
          issued_at: iamTime(now),
          expires_at: iamTime(expiresAt),
          user: { name: user.userName, domain: { name: user.domainName } },
          project: 'name' in project ? { name: project.name, id: `emulator-${project.name}` } : { id: project.id },
        },
      },
      { 'X-Subject-Token': token },
    );
  };

  const answer = (response: ServerResponse, text: string): void => {
    const failure = failures.shift();
    if (failure !== undefined) {
      return send(response, failure.status, errorBody(failure.status, failure.errorCode ?? `IAM.${failure.status}`, failure.errorMsg ?? 'injected failure'));
    }
    const json = parseJson(text);
    if (json === undefined) return send(response, 400, errorBody(400, '1100', 'The request body is not valid JSON.'));
    const decoded = LoginBody.decode(json);
    if (isLeft(decoded) || !decoded.right.auth.identity.methods.includes('password')) {
      return send(response, 400, errorBody(400, '1100', 'Mandatory parameters are not specified.'));
    }
    const { identity, scope } = decoded.right.auth;
    const given = identity.password.user;
    // Every user is compared in full: the time taken says nothing about which part was wrong.
    const user = settings.users.reduce<IamUser | undefined>((found, u) => {
      const match = [sameText(u.domainName, given.domain.name), sameText(u.userName, given.name), sameText(u.password, given.password)].every(Boolean);
      return found ?? (match ? u : undefined);
    }, undefined);
    if (user === undefined) return send(response, 401, errorBody(401, '401', 'The username or password is wrong.'));
    issue(response, user, scope.project);
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    if (request.method !== 'POST') {
      return send(response, 405, errorBody(405, '405', 'The method is not allowed for the requested URL.'), { allow: 'POST' });
    }
    requests++;
    void readRequestBody(request, MAX_BODY_BYTES).then((body) => {
      if (body === 'failed') return response.destroy();
      if (body === 'too-large') return send(response, 413, errorBody(413, '413', 'The request body is too large.'));
      answer(response, body.text);
    });
  };

  const isValidToken = (token: string): boolean => {
    const entry = issued.get(digest(token).toString('hex'));
    return entry !== undefined && settings.clock().getTime() < entry.expiresAt;
  };

  const view: EmulatorIam = {
    get requests() {
      return requests;
    },
    get tokensIssued() {
      return tokensIssued;
    },
    injectFailure: (...injected: IamFailure[]): void => {
      const problems = injected.flatMap((f, i) => httpErrorStatus(`${i}.status`, f.status));
      if (problems.length > 0) throw new SisConfigError(problems, 'IAM failures');
      failures.push(...injected);
    },
    revokeTokens: (): void => {
      issued.clear();
    },
  };
  return { handle, isValidToken, view };
};
