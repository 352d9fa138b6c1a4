/**
 * The first steps of every session, real-time (`session.ts`) or streaming (`speak/streaming.ts`):
 * credentials, then the socket. A handshake rejected with 401 while a refreshable token was used
 * goes back to credentials, once.
 */
import type { Subscription } from 'rxjs';
import { authHeaders$, immediateAuthHeaders, tokenInvalidator } from '../auth/token.js';
import { SisAuthError, SisConnectionError, SisError, SisProtocolError, type SisHandshakeError } from '../errors.js';
import { handshakeErrorFrom } from '../transport/handshake.js';
import type { ConnectRequest, SocketListener, TransportFailure, WebSocketLike } from '../transport/websocket-like.js';
import type { Taken } from './warm-pool.js';
import type { SessionConfig } from './options.js';

/** The session an opener works for: the socket's listener, which can be paused, can fail, and knows where it is. */
export interface OpeningSession extends SocketListener {
  /** True while the consumer holds the session paused: a socket opened then starts paused. */
  isPaused(): boolean;
  /** True once the socket has opened. */
  isOpen(): boolean;
  /** Where the session is in its protocol, for error messages (e.g. "after START and 3 audio frames"). */
  position(): string;
  traceId(): string | undefined;
  fail(error: SisError): void;
}

/**
 * What a session (`for: 'session'`) or a pool connecting for sessions (`for: 'pool'`) asks the factory
 * to open. A session's handshake is bounded by its own connect timer, so it asks for no handshake
 * timeout of the transport (`ws` would arm one more timer per socket and refresh it on every read:
 * 0.03 ms of time to first audio). A pooled connect, which no session watches until one takes it,
 * gets `timeouts.connect` plus a second.
 */
export const connectRequest = (config: SessionConfig, url: string, authHeaders: Record<string, string>, by: 'session' | 'pool'): ConnectRequest => ({
  url,
  headers: { ...config.extraHeaders, ...authHeaders },
  maxPayload: config.maxPayload,
  handshakeTimeoutMs: by === 'session' || config.timeouts.connect === Infinity ? 0 : config.timeouts.connect + 1_000,
  rejectUnauthorized: config.rejectUnauthorized,
});

/** The error of a session whose credentials could not be had. */
export const credentialsFailure = (error: unknown): SisError =>
  error instanceof SisError ? error : new SisAuthError('could not get credentials (see error.cause)', { cause: error });

/** The error of a session whose `webSocketFactory` threw. */
export const factoryFailure = (cause: unknown): SisConnectionError => new SisConnectionError('could not open a socket (the webSocketFactory threw)', { cause });

export class SocketOpener {
  private fresh: WebSocketLike | undefined;
  private pooled: Taken | undefined;
  private credentialsRefreshed = false;
  /** The socket came warm from the client's pool (and has not been replaced by a fresh one). */
  private reconnected = false;
  /** A warm socket was taken and its replacement not yet asked for (see {@link started}). */
  private refillDue = false;

  constructor(
    private readonly config: SessionConfig,
    private readonly url: string,
    private readonly session: OpeningSession,
    /** Where the credentials' subscription goes: the session's resources, released by its teardown. */
    private readonly resources: Subscription,
  ) {}

  /**
   * A warm socket from the client's pool when one is ready (the session is then told `onOpen` at
   * once), else credentials and a fresh socket.
   */
  open(): void {
    const pool = this.config.pools?.get(this.url);
    const taken = pool?.take(this.session);
    if (taken === undefined) return this.connectFresh();
    this.pooled = taken;
    if (!taken.open) return; // still connecting: its onOpen reaches the session
    if (this.session.isPaused()) taken.socket()?.pause?.();
    this.session.onOpen();
    // The pool replaces the socket taken once the START response is in (or the session is over): a
    // connect started now would compete with START on its way out and with the service's answer.
    this.refillDue = true;
  }

  /** The START response came: the pool may now replace the warm socket this session took. */
  started(): void {
    if (!this.refillDue) return;
    this.refillDue = false;
    this.config.pools?.get(this.url)?.refill();
  }

  /** The session is over: a pooled connect it was waiting for is abandoned (the session closes any socket itself). */
  release(): void {
    this.pooled?.release();
    this.started();
  }

  /** The socket once the factory has returned it (not yet open), or the one taken from the pool. */
  get socket(): WebSocketLike | undefined {
    return this.pooled?.socket() ?? this.fresh;
  }

  /**
   * A warm socket closed after START was sent and before the START response: the service never got
   * the request, no audio was lost. True if the session may open a fresh socket once (then call
   * {@link reconnect}); false if this socket was not warm, or the reconnect was used already.
   */
  canReconnect(): boolean {
    return this.pooled !== undefined && !this.reconnected;
  }

  reconnect(): void {
    this.reconnected = true;
    // The old socket's late events, if its factory sends any, must not reach the session any more.
    this.pooled?.release();
    this.pooled = undefined;
    this.fresh = undefined;
    this.connectFresh();
  }

  private connectFresh(): void {
    let now: Record<string, string> | undefined;
    try {
      now = immediateAuthHeaders(this.config.auth);
    } catch (error) {
      return this.session.fail(credentialsFailure(error));
    }
    if (now !== undefined) return this.connect(now);
    this.resources.add(
      authHeaders$(this.config.auth, this.url).subscribe({
        next: (headers) => this.connect(headers),
        error: (error: unknown) => this.session.fail(credentialsFailure(error)),
      }),
    );
  }

  private connect(authHeaders: Record<string, string>): void {
    try {
      this.fresh = this.config.webSocketFactory(connectRequest(this.config, this.url, authHeaders, 'session'), this.session);
      if (this.session.isPaused()) this.fresh.pause?.();
    } catch (cause) {
      this.session.fail(factoryFailure(cause));
    }
  }

  /**
   * The error a transport failure ends the session with, or undefined when a rejected handshake
   * went back for fresh credentials (see {@link rejected}).
   */
  failure(failure: TransportFailure): SisError | undefined {
    const { session } = this;
    switch (failure.kind) {
      case 'handshake-rejected':
        return this.rejected(failure.status, failure.body);
      case 'frame-too-large':
        return new SisProtocolError(`a frame larger than maxPayload (${failure.limit} bytes)`, { at: session.position(), traceId: session.traceId() });
      case 'invalid-frame':
        return new SisProtocolError(`an invalid WebSocket frame (${failure.message})`, { at: session.position(), traceId: session.traceId() });
      case 'network':
        return new SisConnectionError(`connection failed ${session.isOpen() ? session.position() : 'while connecting'}: ${failure.message}`, {
          traceId: session.traceId(),
          cause: failure.cause,
        });
    }
  }

  /** The error of a socket that closed before the session was over. */
  closed(code: number, reason: string): SisConnectionError {
    const { session } = this;
    const why = `code ${code}${reason === '' ? '' : `: ${reason}`}`;
    return new SisConnectionError(`connection closed ${session.isOpen() ? session.position() : 'while connecting'} (${why})`, {
      closeCode: code,
      closeReason: reason,
      traceId: session.traceId(),
    });
  }

  /**
   * The handshake was rejected. A cached token that went stale (401: expired, revoked) is dropped and
   * the socket opened once more with a fresh one (undefined: the session waits); otherwise the error.
   */
  private rejected(status: number, body: string): SisHandshakeError | undefined {
    const invalidate = status === 401 && !this.credentialsRefreshed ? tokenInvalidator(this.config.auth) : undefined;
    if (invalidate === undefined) return handshakeErrorFrom(status, body);
    this.credentialsRefreshed = true;
    this.socket?.terminate();
    // The old socket's late events, if its factory sends any, must not reach the session any more.
    this.pooled?.release();
    this.pooled = undefined;
    this.fresh = undefined;
    invalidate();
    this.connectFresh();
    return undefined;
  }
}
