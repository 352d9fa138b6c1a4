/** The default {@link WebSocketFactory}: `ws`, with explicit options and every listener removed when done. */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { readRejectionBody } from './handshake.js';
import { bytesOf, textOf } from './ws-data.js';
import {
  DEFAULT_MAX_PAYLOAD,
  type ConnectRequest,
  type SocketListener,
  type TransportFailure,
  type WebSocketFactory,
  type WebSocketLike,
} from './websocket-like.js';

const wsErrorCode = (error: Error): string => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
};

/** `ws` names the peer's protocol violations `WS_ERR_*`; anything else is the network's doing. */
const failureOf = (error: Error, maxPayload: number): TransportFailure => {
  const code = wsErrorCode(error);
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return { kind: 'frame-too-large', limit: maxPayload };
  if (code.startsWith('WS_ERR_')) return { kind: 'invalid-frame', message: error.message.replace(/^Invalid WebSocket frame: /, '') };
  return { kind: 'network', message: error.message, cause: error };
};

const positiveOr = (value: number, fallback: number): number => (Number.isFinite(value) && value > 0 ? value : fallback);

/**
 * How long a closing socket waits for the server's half of the close handshake before it is destroyed.
 * `ws` waits 30 s by default: a server that stopped answering (the usual reason for a timeout) would
 * hold the socket and a timer that long after the session ended, and keep a CLI from exiting.
 */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 1_000;

/** The options given to `ws`, declared here so that the published types do not need `@types/ws` (a dev dependency). */
export interface WsClientOptions {
  readonly headers: Record<string, string>;
  readonly maxPayload: number;
  /** Absent when the request asks for no limit. */
  readonly handshakeTimeout?: number;
  readonly rejectUnauthorized: boolean;
  readonly perMessageDeflate: false;
  readonly followRedirects: false;
  /** In ws since 8.19; @types/ws 8.18 does not list it yet. */
  readonly closeTimeout: number;
}

/**
 * The `ws` client options for a request: a frame limit always, a handshake timeout unless the
 * request asks for none (`handshakeTimeoutMs` Infinity or 0), redirects never followed.
 */
export const wsClientOptions = (request: ConnectRequest): WsClientOptions => {
  const { handshakeTimeoutMs } = request;
  return {
    headers: { ...request.headers },
    maxPayload: positiveOr(request.maxPayload, DEFAULT_MAX_PAYLOAD),
    ...(Number.isFinite(handshakeTimeoutMs) && handshakeTimeoutMs > 0 ? { handshakeTimeout: handshakeTimeoutMs } : {}),
    rejectUnauthorized: request.rejectUnauthorized,
    perMessageDeflate: false,
    followRedirects: false,
    closeTimeout: CLOSE_HANDSHAKE_TIMEOUT_MS,
  };
};

/** Where the shared handlers below find a socket's connection: one property on the `ws` socket and on its TCP socket. */
const CONNECTION = Symbol('rx-sis-tts connection');

/** A `ws` socket or its TCP socket, carrying the connection it reports to. */
interface Tagged {
  [CONNECTION]?: WsConnection | undefined;
}

const connectionOf = (emitter: object): WsConnection | undefined => (emitter as Tagged)[CONNECTION];

// The handlers, shared by every socket: an emitter calls them with `this` set to itself, and they hand
// the event to that socket's connection. (Closures made per socket cost about 1 KB each, and thousands
// of sockets are open at once.)
function onUpgrade(this: WebSocket, response: IncomingMessage): void {
  connectionOf(this)?.upgraded(response);
}
function onOpen(this: WebSocket): void {
  connectionOf(this)?.opened();
}
function onMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  connectionOf(this)
    ?.deliver()
    ?.onMessage(isBinary ? bytesOf(data) : textOf(data));
}
function onError(this: WebSocket, error: Error): void {
  connectionOf(this)?.failed(error);
}
function onUnexpectedResponse(this: WebSocket, _request: unknown, response: IncomingMessage): void {
  connectionOf(this)?.rejected(response);
}
function onClose(this: WebSocket, code: number, reason: Buffer): void {
  connectionOf(this)?.closed(code, reason);
}
/** On the TCP socket: its reads tell the idle timer that a large or trickling frame is still arriving. */
function onActivity(this: Socket): void {
  connectionOf(this)?.deliver()?.onActivity();
}

/** One `ws` socket and the session's listener: its state, and what the shared handlers and the returned socket call. */
class WsConnection implements WebSocketLike {
  /** The session stops listening when it closes the socket; `ws` keeps our handlers until its own 'close' so that a late 'error' never becomes an uncaught exception. */
  private listening = true;
  /** `ws` ignores pause() before the socket is open: remembered, and applied on open. */
  private paused = false;
  /** The TCP socket, known from the upgrade on (which comes before 'open': a warm socket has it). */
  private raw: (Socket & Tagged) | undefined;

  constructor(
    private readonly socket: WebSocket & Tagged,
    private readonly listener: SocketListener,
    private readonly maxPayload: number,
  ) {
    socket[CONNECTION] = this;
    socket
      .on('upgrade', onUpgrade)
      .on('open', onOpen)
      .on('message', onMessage)
      .on('error', onError)
      .on('unexpected-response', onUnexpectedResponse)
      .on('close', onClose);
  }

  /** The listener while the session listens. */
  deliver(): SocketListener | undefined {
    return this.listening ? this.listener : undefined;
  }

  /** The listener, for the last time: nothing reaches the session after it. */
  private lastDelivery(): SocketListener | undefined {
    const target = this.deliver();
    this.listening = false;
    return target;
  }

  upgraded(response: IncomingMessage): void {
    const raw: Socket & Tagged = response.socket;
    raw[CONNECTION] = this;
    raw.on('data', onActivity);
    this.raw = raw;
  }

  opened(): void {
    if (this.paused) this.socket.pause();
    this.deliver()?.onOpen();
  }

  failed(error: Error): void {
    this.lastDelivery()?.onError(failureOf(error, this.maxPayload));
  }

  rejected(response: IncomingMessage): void {
    void readRejectionBody(response).then((body) => {
      this.lastDelivery()?.onError({ kind: 'handshake-rejected', status: response.statusCode ?? 0, body });
      this.socket.terminate();
    });
  }

  closed(code: number, reason: Buffer): void {
    this.raw?.off('data', onActivity);
    this.socket
      .off('upgrade', onUpgrade)
      .off('open', onOpen)
      .off('message', onMessage)
      .off('error', onError)
      .off('unexpected-response', onUnexpectedResponse)
      .off('close', onClose);
    this.lastDelivery()?.onClose(code, reason.toString('utf8'));
  }

  // ---- WebSocketLike: what the session asks ------------------------------------------------------

  send(text: string): void {
    this.socket.send(text);
  }

  close(code: number, reason?: string): void {
    this.listening = false;
    if (this.socket.readyState === WebSocket.CONNECTING) return this.socket.terminate();
    // A paused socket could not read the server's close reply and would linger until ws's 30 s timer.
    this.socket.resume();
    this.socket.close(code, reason);
  }

  terminate(): void {
    this.listening = false;
    this.socket.terminate();
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    this.socket.resume();
  }

  unref(): void {
    this.raw?.unref();
  }

  ref(): void {
    this.raw?.ref();
  }
}

/**
 * The client's default {@link WebSocketFactory}, on `ws`: no compression, no redirects, the request's frame
 * limit and handshake timeout, and a 1 s wait for the server's close reply before the socket is destroyed.
 * A rejected handshake is reported with its HTTP status and the first 16 KiB of its body.
 */
export const wsWebSocketFactory: WebSocketFactory = (request: ConnectRequest, listener: SocketListener): WebSocketLike => {
  const options = wsClientOptions(request);
  const connection = new WsConnection(new WebSocket(request.url, options), listener, options.maxPayload);
  // Own methods, so that a wrapper may spread the socket and replace one of them (`{ ...socket, pause }`).
  return {
    send: (text) => connection.send(text),
    close: (code, reason) => connection.close(code, reason),
    terminate: () => connection.terminate(),
    pause: () => connection.pause(),
    resume: () => connection.resume(),
    unref: () => connection.unref(),
    ref: () => connection.ref(),
  };
};
