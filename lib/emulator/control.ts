/**
 * The control API: plain HTTP on the emulator's own port, under `/__emulator/`, so that a test suite in
 * any language can drive the emulator (queue faults, read the records, reset between tests) without
 * TypeScript. Loopback clients only: the records are not for the network, even when the emulator
 * listens on every interface.
 *
 *   POST /__emulator/faults     a fault, or a list of them, for the next connections (as `injectNext`)
 *   GET  /__emulator/sessions   the records (`emulator.sessions`), secrets redacted
 *   GET  /__emulator/stats      the counters (`emulator.stats`)
 *   POST /__emulator/reset      forget records, counters and queued faults (as `emulator.reset()`)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { listProblems, type Problem } from '../errors.js';
import { parseJson } from '../protocol/json.js';
import type { Fault } from './faults.js';
import { faultProblems } from './options.js';
import type { EmulatorStats, SessionRecord } from './records.js';
import { readRequestBody } from './request-body.js';

export const CONTROL_PREFIX = '/__emulator/';

/** Far more than any list of faults needs; a larger body is refused before it is read whole. */
const MAX_BODY_BYTES = 64 * 1024;

/** What the control API acts on: the emulator's own state. */
export interface ControlTarget {
  readonly sessions: readonly SessionRecord[];
  readonly stats: EmulatorStats;
  injectNext(...faults: Fault[]): void;
  reset(): void;
}

/** True for 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses. */
export const isLoopback = (address: string | undefined): boolean => {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
};

const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(text);
};

const problemsBody = (problems: readonly Problem[]): { error: string; problems: readonly Problem[] } => ({ error: listProblems(problems), problems });

/** The request's body, or undefined when it was answered already (413) or broke off (the response destroyed). */
const readBody = async (request: IncomingMessage, response: ServerResponse): Promise<string | undefined> => {
  const body = await readRequestBody(request, MAX_BODY_BYTES);
  if (body === 'failed') response.destroy();
  else if (body === 'too-large') send(response, 413, { error: `the body must be at most ${MAX_BODY_BYTES} bytes` });
  else return body.text;
  return undefined;
};

/** POST /faults: one fault or a list, all checked before any is queued. */
const injectFaults = async (target: ControlTarget, request: IncomingMessage, response: ServerResponse): Promise<void> => {
  const body = await readBody(request, response);
  if (body === undefined) return;
  const json = parseJson(body);
  if (json === undefined) return send(response, 400, problemsBody([{ path: '', message: 'the body must be a JSON fault, or a list of them' }]));
  const faults: unknown[] = Array.isArray(json) ? json : [json];
  const problems = faults.flatMap((fault, i) => faultProblems(fault, Array.isArray(json) ? String(i) : ''));
  if (problems.length > 0) return send(response, 400, problemsBody(problems));
  target.injectNext(...(faults as Fault[]));
  send(response, 200, { queued: faults.length });
};

const ROUTES: Readonly<
  Record<string, { readonly method: 'GET' | 'POST'; readonly run: (target: ControlTarget, request: IncomingMessage, response: ServerResponse) => unknown }>
> = {
  faults: { method: 'POST', run: injectFaults },
  sessions: { method: 'GET', run: (target, _, response) => send(response, 200, target.sessions) },
  stats: { method: 'GET', run: (target, _, response) => send(response, 200, target.stats) },
  reset: {
    method: 'POST',
    run: (target, _, response) => {
      target.reset();
      send(response, 200, { reset: true });
    },
  },
};

/** Answers a request whose path starts with {@link CONTROL_PREFIX}. */
export const handleControl = (target: ControlTarget, path: string, request: IncomingMessage, response: ServerResponse): void => {
  if (!isLoopback(request.socket.remoteAddress)) {
    send(response, 403, { error: 'the control API answers loopback clients only' });
    return;
  }
  const name = path.slice(CONTROL_PREFIX.length);
  const route = Object.hasOwn(ROUTES, name) ? ROUTES[name] : undefined;
  if (route === undefined) {
    send(response, 404, {
      error: `no such control endpoint: ${path}; there are ${Object.keys(ROUTES)
        .map((r) => CONTROL_PREFIX + r)
        .join(', ')}`,
    });
    return;
  }
  if (request.method !== route.method) {
    send(response, 405, { error: `${path} takes ${route.method}` }, { allow: route.method });
    return;
  }
  void route.run(target, request, response);
};
