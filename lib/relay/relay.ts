/**
 * The relay: a page cannot hold SIS credentials nor set the handshake's headers, so it opens its
 * WebSocket to the app's own server, which checks who it is and speaks to SIS for it.
 *
 * An upgrade is taken through, in order: its path (`{path}/v1/{any}/rtts` or the streaming path
 * under `{path}`; any other is left alone) → its `Origin` (403) → `authorize` (401) → the per-relay
 * and per-user session limits (429) → the WebSocket (the first subprotocol offered is echoed back,
 * as browsers require). Each accepted socket is then one {@link RelaySession}.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { SisConfigError } from '../errors.js';
import { WarmPools } from '../session/warm-pool.js';
import type { SessionConfig } from '../session/options.js';
import { CLOSE_HANDSHAKE_TIMEOUT_MS } from '../transport/ws-factory.js';
import { publish, type RefusalReason, type RelayApi } from './events.js';
import { relayPath, resolveRelayOptions, type SisRelayOptions } from './options.js';
import { RelaySession } from './relay-session.js';

/** What the relay did so far. */
export interface SisRelayStats {
  /** Sessions open now. */
  readonly sessions: number;
  /** Upgrades accepted. */
  readonly accepted: number;
  /**
   * Refusals: at the upgrade (401 `unauthorized`, 403 `forbidden`, 429 `limited`, 400 `invalid`), and
   * after it, with an ERROR frame (`invalid`: a command the service would refuse; `limited`: over the
   * character budget, or a flood of commands).
   */
  readonly refused: { readonly unauthorized: number; readonly forbidden: number; readonly limited: number; readonly invalid: number };
  /** Sessions whose upstream socket could not be opened, or was lost. */
  readonly upstreamFailures: number;
  /** Bytes waiting to be written to browsers now (bounded per session by the relay's flow control). */
  readonly bufferedBytes: number;
}

/** A relay made by {@link createSisRelay}. */
export interface SisRelay {
  /**
   * Listens to `server`'s upgrades (a `node:http` or `node:https` server: Express's `app.listen()`
   * returns one, Fastify has `fastify.server`) and takes those on its path; others are left alone.
   * Returns a function that stops listening.
   */
  attach(server: HttpServer | HttpsServer, options?: { readonly path?: string | undefined }): () => void;
  /**
   * For frameworks that hand over upgrades: takes the upgrade if its path is the relay's (true), or
   * leaves it untouched (false).
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** What the relay did so far: sessions open, accepted and refused upgrades, upstream failures, bytes buffered. */
  stats(): SisRelayStats;
  /**
   * Refuses new upgrades (503; the servers attached stay so, until detached), closes every session on both sides (the browser gets an ERROR
   * `RELAY.0503` and close code 1001), the relay's warm sockets and the store. Idempotent.
   */
  close(): Promise<void>;
}

/** The browser's commands are small (a START of 10,000 characters is under 64 KiB even escaped). */
const BROWSER_MAX_PAYLOAD = 128 * 1024;

const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Route {
  readonly api: RelayApi;
  readonly pattern: RegExp;
}

/** The relay's two routes under `base`, any one segment standing for the project id. */
const routesOf = (base: string, streamingPath: string): readonly Route[] => {
  const template = (path: string): RegExp => {
    const [before = '', ...rest] = path.split('{project_id}');
    return new RegExp(`^${escaped(base)}${escaped(before)}${rest.map((part) => `[^/]+${escaped(part)}`).join('')}$`);
  };
  return [
    { api: 'realtime', pattern: template('/v1/{project_id}/rtts') },
    { api: 'streaming', pattern: template(streamingPath) },
  ];
};

const apiOf = (routes: readonly Route[], url: string | undefined): RelayApi | undefined => {
  const path = (url ?? '').split('?')[0] ?? '';
  return routes.find((route) => route.pattern.test(path))?.api;
};

/** A refusal answered before the WebSocket exists: status, a code to switch on, and what to do. */
interface Refusal {
  readonly status: number;
  readonly reason: RefusalReason | 'closing';
  readonly code: string;
  readonly message: string;
}

/** Answers an upgrade with an HTTP error and a small JSON body, then closes the socket. */
const refuseUpgrade = (socket: Duplex, refusal: Refusal): void => {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message } });
  const head = [
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
};

const REFUSALS = {
  unauthorized: { status: 401, reason: 'unauthorized', code: 'UNAUTHORIZED', message: 'not signed in, or not allowed to use speech synthesis' },
  forbidden: { status: 403, reason: 'forbidden', code: 'ORIGIN_NOT_ALLOWED', message: "this page's origin may not use this relay" },
  limited: { status: 429, reason: 'limited', code: 'TOO_MANY_SESSIONS', message: 'too many speech sessions open at once: close one, or try again later' },
  invalid: { status: 400, reason: 'invalid', code: 'NOT_A_WEBSOCKET', message: 'expected a WebSocket upgrade (GET, Upgrade: websocket, Sec-WebSocket-Key)' },
  closing: { status: 503, reason: 'closing', code: 'RELAY_CLOSING', message: 'the relay is shutting down: try again' },
} as const satisfies Record<string, Refusal>;

/** What `ws` itself would refuse, checked first so that the relay counts it. */
const isWebSocketUpgrade = (request: IncomingMessage): boolean =>
  request.method === 'GET' &&
  request.headers.upgrade?.toLowerCase() === 'websocket' &&
  /^[+/0-9A-Za-z]{22}==$/.test(request.headers['sec-websocket-key'] ?? '') &&
  (request.headers['sec-websocket-version'] === '13' || request.headers['sec-websocket-version'] === '8');

const SLOT_KEYS = { relay: 'sessions', user: (userId: string) => `sessions:user:${userId}`, budget: (userId: string) => `characters:user:${userId}` };

/**
 * A relay between browsers and SIS, holding the credentials. Options are checked now; without
 * `authorize` every upgrade is refused with 401, without `origins` with 403 (a relay never runs open
 * by mistake; each refusal says why on `RELAY_CHANNEL`).
 * @throws {SisConfigError} listing every problem of the options (the `sis` ones under `sis.`).
 * @example
 * const relay = createSisRelay({
 *   sis: { region: 'cn-north-4', projectId, auth: { ak, sk } },
 *   authorize: (request) => sessions.userOf(request.headers.cookie),
 *   origins: ['https://app.example'],
 * });
 * relay.attach(app.listen(8080));
 * // In the page: createSisClient({ endpoint: 'wss://app.example/tts', projectId: 'relay', auth: 'relay' })
 */
export const createSisRelay = (options: SisRelayOptions): SisRelay => {
  const settings = resolveRelayOptions(options);
  const { authorize, origins, limits, store, streamingPath } = settings;
  const pools = settings.config.warm === undefined ? undefined : new WarmPools(settings.config, settings.config.warm);
  const config: SessionConfig = pools === undefined ? settings.config : { ...settings.config, pools };
  pools?.get(config.url);

  const wsOptions: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    maxPayload: BROWSER_MAX_PAYLOAD,
    closeTimeout: CLOSE_HANDSHAKE_TIMEOUT_MS,
    // A browser that offered subprotocols fails the connection unless one is chosen: the first is echoed.
    handleProtocols: (protocols) => protocols.values().next().value ?? false,
  };
  const wss = new WebSocketServer(wsOptions);
  const sessions = new Set<RelaySession>();
  const upgrading = new Set<Duplex>();
  const counts = { accepted: 0, unauthorized: 0, forbidden: 0, limited: 0, invalid: 0, upstreamFailures: 0 };
  const defaultRoutes = routesOf(settings.path, streamingPath);
  let sessionIds = 0;
  let closed: Promise<void> | undefined;
  let drained: (() => void) | undefined;

  const refuse = (socket: Duplex, refusal: Refusal, context: { api: RelayApi; userId?: string | undefined; detail: string }): void => {
    if (refusal.reason !== 'closing') counts[refusal.reason] += 1;
    publish(() => ({
      type: 'refused',
      reason: refusal.reason,
      status: refusal.status,
      api: context.api,
      userId: context.userId,
      sessionId: undefined,
      detail: context.detail,
    }));
    refuseUpgrade(socket, refusal);
  };

  const originProblem = (request: IncomingMessage): string | undefined => {
    if (origins === undefined) return 'no origins option: the relay refuses every origin';
    if (origins.has('*')) return undefined;
    const origin = request.headers.origin;
    if (origin === undefined) return 'no Origin header';
    return origins.has(origin) ? undefined : `origin ${JSON.stringify(origin.slice(0, 100))} is not in the origins option`;
  };

  /** The user id, or why the upgrade is refused; never throws. */
  const authorized = async (request: IncomingMessage): Promise<{ userId: string } | { detail: string }> => {
    if (authorize === undefined) return { detail: 'no authorize option: the relay refuses everyone' };
    try {
      const userId = await authorize(request);
      if (typeof userId === 'string' && userId !== '') return { userId };
      return {
        detail:
          userId === undefined ? 'authorize refused' : `authorize returned ${typeof userId === 'string' ? 'an empty string' : typeof userId}, not a user id`,
      };
    } catch (error) {
      return { detail: `authorize threw ${error instanceof Error ? error.name : typeof error}` };
    }
  };

  /** Takes a per-relay slot and a per-user slot, both or neither (also when the store fails between the two). */
  const acquire = async (userId: string): Promise<boolean> => {
    if (!(await store.acquire(SLOT_KEYS.relay, limits.relaySessions))) return false;
    let both = false;
    try {
      both = await store.acquire(SLOT_KEYS.user(userId), limits.userSessions);
      return both;
    } finally {
      if (!both) await store.release(SLOT_KEYS.relay);
    }
  };
  // Releases under way: close() waits for them before it closes the store.
  const releasing = new Set<Promise<unknown>>();
  const release = (userId: string): void => {
    const done = Promise.allSettled([store.release(SLOT_KEYS.relay), store.release(SLOT_KEYS.user(userId))]);
    releasing.add(done);
    void done.then(() => releasing.delete(done));
  };

  const upgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer, api: RelayApi): Promise<void> => {
    if (closed !== undefined) return refuse(socket, REFUSALS.closing, { api, detail: 'the relay is closing' });
    if (!isWebSocketUpgrade(request)) return refuse(socket, REFUSALS.invalid, { api, detail: 'not a valid WebSocket upgrade request' });
    const originDetail = originProblem(request);
    if (originDetail !== undefined) return refuse(socket, REFUSALS.forbidden, { api, detail: originDetail });
    const who = await authorized(request);
    if (!('userId' in who)) return refuse(socket, REFUSALS.unauthorized, { api, detail: who.detail });
    const { userId } = who;
    let slots: boolean;
    try {
      slots = await acquire(userId);
    } catch (error) {
      const detail = `the limit store failed: ${error instanceof Error ? `${error.name}: ${error.message}` : typeof error}`;
      return refuse(socket, { ...REFUSALS.closing, message: 'the relay cannot check its limits now: try again later' }, { api, userId, detail });
    }
    if (!slots)
      return refuse(socket, REFUSALS.limited, {
        api,
        userId,
        detail: `over limits.perUser.sessions (${limits.userSessions}) or limits.relay.sessions (${limits.relaySessions})`,
      });
    // The browser may have gone, or the relay begun closing, while the checks ran.
    if (socket.destroyed || closed !== undefined) {
      release(userId);
      if (closed !== undefined) refuse(socket, REFUSALS.closing, { api, userId, detail: 'the relay is closing' });
      return;
    }
    upgrading.delete(socket);
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      counts.accepted += 1;
      sessionIds += 1;
      const session = new RelaySession(ws, {
        id: sessionIds,
        userId,
        api,
        config,
        upstreamUrl: api === 'streaming' ? config.streamingUrl : config.url,
        store,
        budget: { key: SLOT_KEYS.budget(userId), max: limits.userCharactersPerMinute },
        refused: (reason) => {
          counts[reason] += 1;
        },
        upstreamFailed: () => {
          counts.upstreamFailures += 1;
        },
        ended: (ended) => {
          sessions.delete(ended);
          release(userId);
          if (sessions.size === 0) drained?.();
        },
      });
      sessions.add(session);
    });
  };

  const take = (request: IncomingMessage, socket: Duplex, head: Buffer, routes: readonly Route[]): boolean => {
    const api = apiOf(routes, request.url);
    if (api === undefined) return false;
    upgrading.add(socket);
    // A browser that resets mid-handshake must not crash the process.
    socket.on('error', () => undefined);
    socket.once('close', () => upgrading.delete(socket));
    void upgrade(request, socket, head, api).catch(() => {
      if (!socket.destroyed) socket.destroy();
    });
    return true;
  };

  const attach = (server: HttpServer | HttpsServer, attachOptions: { readonly path?: string | undefined } = {}): (() => void) => {
    const path = attachOptions.path ?? settings.path;
    const problems = relayPath('path', path);
    if (problems.length > 0) throw new SisConfigError(problems, 'attach options');
    const routes = path === settings.path ? defaultRoutes : routesOf(path, streamingPath);
    const listener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
      take(request, socket, head, routes);
    };
    server.on('upgrade', listener);
    return () => {
      server.off('upgrade', listener);
    };
  };

  const close = (): Promise<void> => {
    closed ??= (async () => {
      // The listeners stay: an upgrade from now on is answered 503, not left to the app's routes.
      for (const socket of upgrading) refuseUpgrade(socket, REFUSALS.closing);
      upgrading.clear();
      const allEnded = sessions.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve));
      for (const session of [...sessions]) session.shutdown();
      await allEnded;
      await Promise.all(releasing);
      pools?.close();
      wss.close();
      await store.close();
    })();
    return closed;
  };

  return Object.freeze({
    attach,
    handleUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => take(request, socket, head, defaultRoutes),
    stats: (): SisRelayStats => {
      let bufferedBytes = 0;
      for (const session of sessions) bufferedBytes += session.bufferedAmount;
      return {
        sessions: sessions.size,
        accepted: counts.accepted,
        refused: { unauthorized: counts.unauthorized, forbidden: counts.forbidden, limited: counts.limited, invalid: counts.invalid },
        upstreamFailures: counts.upstreamFailures,
        bufferedBytes,
      };
    },
    close,
  });
};
