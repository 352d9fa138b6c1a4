/**
 * The seam between the session state machine and a real socket. The session only ever talks to a
 * {@link WebSocketLike}; the default factory wraps `ws`, tests inject a scheduler-driven fake.
 */

/** Largest frame accepted by default, in bytes: audio segments are far smaller, and `ws` would otherwise take 100 MiB. */
export const DEFAULT_MAX_PAYLOAD = 8 * 1024 * 1024;

/** What the session asks a factory to open. */
export interface ConnectRequest {
  readonly url: string;
  /** Handshake headers, credentials included: a factory must never log or expose them. */
  readonly headers: Readonly<Record<string, string>>;
  /** Largest frame accepted, in bytes; a larger one fails the session. */
  readonly maxPayload: number;
  /**
   * A limit for the opening handshake, in ms, for the factory to enforce; `Infinity` (or 0, as `ws`
   * reads it) sets none. A session's connect is bounded by its own `timeouts.connect` timer and asks
   * for none; a warm pool's connect, which no session watches yet, asks for `timeouts.connect` + 1 s
   * (none when `timeouts.connect` is `Infinity`).
   */
  readonly handshakeTimeoutMs: number;
  /** Verify the server's TLS certificate (false only with the client option `rejectUnauthorized: false`). */
  readonly rejectUnauthorized: boolean;
}

/**
 * Why a socket failed, as facts: the session turns them into typed errors, adding what it knows
 * (trace id, position in the protocol).
 */
export type TransportFailure =
  | { readonly kind: 'handshake-rejected'; readonly status: number; readonly body: string }
  | { readonly kind: 'frame-too-large'; readonly limit: number }
  /** A frame that breaks the WebSocket protocol itself (bad opcode, invalid UTF-8, bad close code…). */
  | { readonly kind: 'invalid-frame'; readonly message: string }
  | { readonly kind: 'network'; readonly message: string; readonly cause?: unknown };

/**
 * What a factory reports to the session, as events. A factory must not call them before it has
 * returned, and calls at most one of `onClose`/`onError`; after the session called `close()` or
 * `terminate()` it may stop calling.
 */
export interface SocketListener {
  /** The handshake succeeded: the socket is open. */
  onOpen(): void;
  /** A text frame as a string, a binary frame as bytes (a view, not a copy). */
  onMessage(data: string | Uint8Array): void;
  /** The socket closed, with the close frame's code and reason. */
  onClose(code: number, reason: string): void;
  /** The socket failed (handshake rejected, network, protocol); no `onClose` follows. */
  onError(failure: TransportFailure): void;
  /** Bytes arrived (part of a frame, maybe): the peer is alive even if no whole frame came yet. */
  onActivity(): void;
}

/** The few socket operations a session needs. */
export interface WebSocketLike {
  /** Send a text frame (a JSON command); the session sends only after `onOpen`. */
  send(text: string): void;
  /** Close an open socket with a close frame. */
  close(code: number, reason?: string): void;
  /** Abort at once (used while the handshake is still running). */
  terminate(): void;
  /** Stop reading from the network (flow control); optional. */
  pause?(): void;
  /** Read from the network again after `pause()`; optional, but give it whenever `pause` is given. */
  resume?(): void;
  /** Let the process exit while this socket is open and idle (a warm socket); optional. */
  unref?(): void;
  /** Keep the process alive for this socket again (a warm socket taken by a session); optional. */
  ref?(): void;
}

/**
 * Opens a socket for a request and returns it at once; the handshake's outcome and everything after it
 * reach `listener`, never before the factory has returned. Pass one as the client's `webSocketFactory` option.
 */
export type WebSocketFactory = (request: ConnectRequest, listener: SocketListener) => WebSocketLike;
