/** What the API gateway in front of SIS answers before a WebSocket exists: routes, HTTP errors, headers. */
import { randomBytes } from 'node:crypto';
import { STATUS_CODES, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STREAMING_PATH } from '../protocol/streaming.js';
import type { GatewayErrorBody } from '../protocol/wire.js';
import { safeDecodeURIComponent } from '../transport/endpoint.js';
import type { HandshakeRejection } from './auth.js';
import type { EmulatedApi, RedactedHeaders } from './faults.js';

export const NO_SUCH_API: HandshakeRejection = {
  status: 404,
  errorCode: 'APIG.0101',
  errorMsg: 'The API does not exist or has not been published in the environment',
};

const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A path template's pattern, `{project_id}` matching one segment (captured). */
const routePattern = (template: string): RegExp => {
  const [before = '', after = ''] = template.split('{project_id}');
  return new RegExp(`^${escaped(before)}([^/]+)${escaped(after)}$`);
};

const ROUTES: readonly { readonly api: EmulatedApi; readonly pattern: RegExp }[] = [
  { api: 'realtime', pattern: routePattern('/v1/{project_id}/rtts') },
  { api: 'streaming', pattern: routePattern(STREAMING_PATH) },
];

/** The API a path asks for and its project id segment (as sent); undefined when it names none. */
const routeOf = (path: string): { readonly api: EmulatedApi; readonly projectId: string } | undefined => {
  for (const { api, pattern } of ROUTES) {
    const match = pattern.exec(path);
    if (match !== null) return { api, projectId: match[1] ?? '' };
  }
  return undefined;
};

/** The API a path asks for: `'streaming'` for the streaming path, `'realtime'` for anything else (served or not). */
export const apiOf = (path: string): EmulatedApi => routeOf(path)?.api ?? 'realtime';

/**
 * Rejects any path but `/v1/{projectId}/rtts` and `/v1/{projectId}/vcs/voices/clone` (any single
 * segment as project id when none is configured).
 */
export const checkRoute = (path: string, projectId: string | undefined): HandshakeRejection | undefined => {
  const route = routeOf(path);
  if (route === undefined) return NO_SUCH_API;
  return projectId === undefined || safeDecodeURIComponent(route.projectId) === projectId ? undefined : NO_SUCH_API;
};

export const pathOf = (url: string | undefined): string => (url ?? '/').split('?')[0] ?? '/';

const SECRET_HEADERS = new Set(['x-auth-token', 'authorization', 'proxy-authorization', 'cookie', 'x-subject-token']);

/** Headers with every credential replaced by `'<redacted>'`, safe to keep in records and logs. */
export const redactHeaders = (headers: IncomingHttpHeaders): RedactedHeaders => {
  const safe: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) safe[name] = SECRET_HEADERS.has(name) ? '<redacted>' : value;
  }
  return safe;
};

const bodyOf = (rejection: HandshakeRejection): string => {
  const body: GatewayErrorBody = {
    error_code: rejection.errorCode,
    error_msg: rejection.errorMsg,
    request_id: randomBytes(16).toString('hex'),
  };
  return JSON.stringify(body);
};

/**
 * Holds an upgrade request `ms` before `answer` runs. The socket is read meanwhile, so that a client
 * that gives up is seen (its socket is destroyed and closes); what it sent (nothing, from a client that
 * waits for the 101) is handed on as `head`. No answer runs once the socket has closed.
 */
export const holdUpgrade = (socket: Duplex, head: Buffer, ms: number, answer: (head: Buffer) => void): void => {
  const received: Buffer[] = [head];
  const keep = (chunk: Buffer): void => {
    received.push(chunk);
  };
  // The HTTP server allows half-open sockets: a client that hangs up must be let go here.
  const hungUp = (): void => {
    socket.destroy();
  };
  socket.on('data', keep);
  socket.once('end', hungUp);
  const timer = setTimeout(() => {
    // ws takes the socket over in this same turn, so no data can fall between the two listeners.
    socket.off('data', keep);
    socket.off('end', hungUp);
    answer(Buffer.concat(received));
  }, ms);
  socket.once('close', () => clearTimeout(timer));
};

/** Answers an upgrade request with an HTTP error and closes the socket once the answer is written. */
export const rejectUpgrade = (socket: Duplex, rejection: HandshakeRejection): void => {
  const body = bodyOf(rejection);
  const head = [
    `HTTP/1.1 ${rejection.status} ${STATUS_CODES[rejection.status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
};

/** Answers a plain HTTP request (no upgrade) with a JSON error. */
export const respond = (response: ServerResponse, rejection: HandshakeRejection): void => {
  const body = bodyOf(rejection);
  response.writeHead(rejection.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  response.end(body);
};

/** A plain GET of the synthesis route: it only speaks WebSocket. */
export const UPGRADE_REQUIRED: HandshakeRejection = {
  status: 426,
  errorCode: 'SIS.0031',
  errorMsg: 'this API only accepts WebSocket connections (Upgrade: websocket)',
};

/** The API gateway's usual error for a status, for handshake faults that do not name one. */
export const gatewayError = (status: number): HandshakeRejection => {
  if (status === 401) return { status, errorCode: 'APIG.0301', errorMsg: 'Incorrect IAM authentication information: decrypt token fail' };
  if (status === 404) return NO_SUCH_API;
  if (status === 429) return { status, errorCode: 'APIG.0308', errorMsg: 'The throttling threshold has been reached' };
  return { status, errorCode: 'APIG.0201', errorMsg: 'Backend unavailable' };
};
