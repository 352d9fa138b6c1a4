/**
 * The emulator: an HTTP server that plays the API gateway for the handshake (route, authentication,
 * handshake faults, handshake delay) and hands each accepted WebSocket to a session of the API its
 * path asks for: real-time synthesis (session.ts) or streaming synthesis (streaming-session.ts).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type ServerOptions } from 'ws';
import { CLOSE_HANDSHAKE_TIMEOUT_MS } from '../transport/ws-factory.js';
import type { HandshakeRejection } from './auth.js';
import { CONTROL_PREFIX, handleControl, type ControlTarget } from './control.js';
import type { Fault, FaultContext } from './faults.js';
import { apiOf, checkRoute, gatewayError, holdUpgrade, pathOf, redactHeaders, rejectUpgrade, respond, UPGRADE_REQUIRED } from './gateway.js';
import { IAM_TOKENS_PATH, type EmulatorIam } from './iam.js';
import { assertFault, DEFAULT_PROJECT_ID, faultProblems, resolveOptions, type EmulatorOptions } from './options.js';
import { newRecord, newStats, newStreamingRecord, type EmulatorStats, type Mutable, type SessionRecord } from './records.js';
import { runSession } from './session.js';
import { runStreamingSession } from './streaming-session.js';

/** A running emulator. */
/**
 * How many connections may wait to be accepted (the kernel caps it at `net.core.somaxconn`, 4096 on
 * current Linux). Node's default, 511, drops the connects of a load test's burst (10,000 sessions at
 * once), which the client's kernel then retries one, three, seven seconds later: wall times that
 * measure the queue, not the clients.
 */
const LISTEN_BACKLOG = 4096;

export interface Emulator {
  /**
   * `ws://host:port`: the client's `endpoint`; it connects to `${url}/v1/${projectId}/rtts` (real-time)
   * or `${url}/v1/${projectId}/vcs/voices/clone` (streaming).
   */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The first accepted token. */
  readonly token: string;
  /** `http://host:port`: the `iamEndpoint` of the emulated IAM (`POST /v3/auth/tokens`) on the same server. */
  readonly iamEndpoint: string;
  /** The emulated IAM: requests served, tokens issued, injected failures, revocation. */
  readonly iam: EmulatorIam;
  /** The configured project id, or `'emulator-project'` (any project id is accepted then). */
  readonly projectId: string;
  /** Server-side sockets open now, counted from the upgrade request until the socket closes. */
  openConnections(): number;
  /** Resolves as soon as no connection is open. */
  idle(): Promise<void>;
  /** One record per connection, in order, updated live. */
  readonly sessions: readonly SessionRecord[];
  /** A snapshot of the counters. */
  readonly stats: EmulatorStats;
  /** Queues faults for the next connections (either API), one each, before `fault` and the START choosers are asked. */
  injectNext(...faults: Fault[]): void;
  /**
   * Forgets the records, the counters and the queued faults, as between two tests (connections still
   * open go on, unrecorded). Also `POST /__emulator/reset` on the control API.
   */
  reset(): void;
  /** Terminates every connection and stops the server. Safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Starts a local SIS synthesis server: real-time and streaming synthesis on one port.
 * @throws {SisConfigError} (as a rejection) when an option is invalid.
 * @example
 * const emulator = await startEmulator({ realtimeFactor: 1 });
 * const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });
 * // …
 * await emulator.close();
 */
export const startEmulator = async (options: EmulatorOptions = {}): Promise<Emulator> => {
  const config = resolveOptions(options);
  const records: Mutable<SessionRecord>[] = [];
  const stats = newStats();
  const injected: Fault[] = [];
  const open = new Set<Duplex>();
  let idleWaiters: (() => void)[] = [];
  let running = 0;
  let shuttingDown = false;

  const untrack = (socket: Duplex): void => {
    open.delete(socket);
    if (open.size > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const nextFault = (context: FaultContext): Fault | undefined => {
    const fault = injected.shift() ?? config.fault(context);
    // A fault function is user code: what it returns is checked like an option.
    if (fault !== undefined && faultProblems(fault, '').length > 0) {
      return { kind: 'reject-handshake', status: 500, errorCode: 'SIS.0001', errorMsg: 'emulator: the fault function returned an invalid fault' };
    }
    return fault;
  };

  // A client that never answers the server's close frame (Huawei's Python SDK after FATAL_ERROR or a
  // drop) is cut off after the wait the library's own client gives a server, not ws's 30 s.
  const wsOptions: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    maxPayload: 1024 * 1024,
    closeTimeout: CLOSE_HANDSHAKE_TIMEOUT_MS,
  };
  const wss = new WebSocketServer(wsOptions);

  const injectNext = (...faults: Fault[]): void => {
    faults.forEach((fault, i) => {
      assertFault(fault, `injectNext fault #${i + 1}`);
    });
    injected.push(...faults);
  };
  const control: ControlTarget = {
    sessions: records,
    get stats(): EmulatorStats {
      return { ...stats };
    },
    injectNext,
    reset: () => {
      records.length = 0;
      injected.length = 0;
      Object.assign(stats, newStats());
    },
  };

  const server = createServer((request, response) => {
    const path = pathOf(request.url);
    if (path === IAM_TOKENS_PATH) return config.iam.handle(request, response);
    if (path.startsWith(CONTROL_PREFIX)) return handleControl(control, path, request, response);
    stats.httpRequests++;
    respond(response, checkRoute(path, config.projectId) ?? UPGRADE_REQUIRED);
  });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    open.add(socket);
    socket.once('close', () => untrack(socket));
    // A client that resets mid-handshake must not crash the process; 'close' follows.
    socket.on('error', () => undefined);
    if (shuttingDown) {
      socket.destroy();
      return;
    }
    stats.connections++;
    const path = pathOf(request.url);
    const api = apiOf(path);
    const headers = redactHeaders(request.headers);
    const record = api === 'streaming' ? newStreamingRecord(stats.connections, path, headers) : newRecord(stats.connections, path, headers);
    records.push(record);
    // Every answer, 101 or an error, waits handshakeDelayMs; a client that gives up meanwhile gets none.
    const answer = (reply: (head: Buffer) => void): void => {
      if (config.handshakeDelayMs === 0) return reply(head);
      holdUpgrade(socket, head, config.handshakeDelayMs, reply);
      socket.once('close', () => {
        if (record.status === undefined) record.ending ??= shuttingDown ? 'emulator-closed' : 'client-closed';
      });
    };
    const reject = (rejection: HandshakeRejection): void =>
      answer(() => {
        record.status = rejection.status;
        record.ending = 'rejected';
        stats.rejectedHandshakes++;
        rejectUpgrade(socket, rejection);
      });

    const routeProblem = checkRoute(path, config.projectId);
    if (routeProblem !== undefined) return reject(routeProblem);
    const authProblem = config.authenticate?.({
      method: request.method ?? 'GET',
      url: request.url ?? path,
      path,
      headers: request.headers,
      rawHeaders: request.rawHeaders,
    });
    record.authenticated = authProblem === undefined;
    if (authProblem !== undefined) return reject(authProblem);

    const context: FaultContext = { connection: record.connection, path, api, headers: record.headers };
    const fault = nextFault(context);
    if (fault !== undefined) {
      record.fault = fault;
      stats.faultsApplied++;
    }
    if (fault?.kind === 'reject-handshake') {
      const typical = gatewayError(fault.status);
      return reject({ status: fault.status, errorCode: fault.errorCode ?? typical.errorCode, errorMsg: fault.errorMsg ?? typical.errorMsg });
    }
    answer((received) =>
      wss.handleUpgrade(request, socket, received, (ws) => {
        record.status = 101;
        const deps = {
          config,
          stats,
          context,
          acquireSlot: (): boolean => {
            if (running >= config.maxConcurrentSessions) return false;
            running++;
            return true;
          },
          releaseSlot: (): void => {
            running--;
          },
          reset: () => (socket instanceof Socket ? socket.resetAndDestroy() : socket.destroy()),
          raw: socket,
          shuttingDown: () => shuttingDown,
        };
        if (record.api === 'streaming') runStreamingSession(ws, { ...deps, record });
        else runSession(ws, { ...deps, record });
      }),
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host;

  let closed: Promise<void> | undefined;
  const idle = (): Promise<void> => (open.size === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve)));

  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: `ws://${authority}`,
    host,
    port,
    token: config.tokens[0] ?? '',
    iamEndpoint: `http://${authority}`,
    iam: config.iam.view,
    projectId: config.projectId ?? DEFAULT_PROJECT_ID,
    openConnections: () => open.size,
    idle,
    sessions: records,
    get stats(): EmulatorStats {
      return control.stats;
    },
    injectNext,
    reset: control.reset,
    close: () => {
      closed ??= (async () => {
        shuttingDown = true;
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        for (const socket of open) socket.destroy();
        wss.close();
        await Promise.all([serverClosed, idle()]);
      })();
      return closed;
    },
  };
};
