/** The default {@link WebSocketFactory}: `ws`, with explicit options and every listener removed when done. */
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

/**
 * The client's default {@link WebSocketFactory}, on `ws`: no compression, no redirects, the request's frame
 * limit and handshake timeout, and a 1 s wait for the server's close reply before the socket is destroyed.
 * A rejected handshake is reported with its HTTP status and the first 16 KiB of its body.
 */
export const wsWebSocketFactory: WebSocketFactory = (request: ConnectRequest, listener: SocketListener): WebSocketLike => {
  const socket = new WebSocket(request.url, wsClientOptions(request));
  // The session stops listening when it closes the socket; `ws` keeps our handlers until its own
  // 'close' so that a late 'error' never becomes an uncaught exception.
  let listening = true;
  const deliver = (): SocketListener | undefined => (listening ? listener : undefined);

  const onActivity = (): void => deliver()?.onActivity();
  // The raw socket's reads tell the idle timer that a large or trickling frame is still arriving.
  let raw: import('node:net').Socket | undefined;
  const onUpgrade = (response: import('node:http').IncomingMessage): void => {
    raw = response.socket;
    raw.on('data', onActivity);
  };
  // `ws` ignores pause() before the socket is open: remember it and apply it on open.
  let paused = false;
  const onOpen = (): void => {
    if (paused) socket.pause();
    deliver()?.onOpen();
  };
  const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    deliver()?.onMessage(isBinary ? bytesOf(data) : textOf(data));
  };
  const onError = (error: Error): void => {
    const target = deliver();
    listening = false;
    target?.onError(failureOf(error, request.maxPayload));
  };
  const onUnexpectedResponse = (_request: unknown, response: import('node:http').IncomingMessage): void => {
    void readRejectionBody(response).then((body) => {
      const target = deliver();
      listening = false;
      target?.onError({ kind: 'handshake-rejected', status: response.statusCode ?? 0, body });
      socket.terminate();
    });
  };
  const onClose = (code: number, reason: Buffer): void => {
    raw?.off('data', onActivity);
    socket
      .off('upgrade', onUpgrade)
      .off('open', onOpen)
      .off('message', onMessage)
      .off('error', onError)
      .off('unexpected-response', onUnexpectedResponse)
      .off('close', onClose);
    const target = deliver();
    listening = false;
    target?.onClose(code, reason.toString('utf8'));
  };
  socket
    .on('upgrade', onUpgrade)
    .on('open', onOpen)
    .on('message', onMessage)
    .on('error', onError)
    .on('unexpected-response', onUnexpectedResponse)
    .on('close', onClose);

  return {
    send: (text) => socket.send(text),
    close: (code, reason) => {
      listening = false;
      if (socket.readyState === WebSocket.CONNECTING) return socket.terminate();
      // A paused socket could not read the server's close reply and would linger until ws's 30 s timer.
      socket.resume();
      socket.close(code, reason);
    },
    terminate: () => {
      listening = false;
      socket.terminate();
    },
    pause: () => {
      paused = true;
      socket.pause();
    },
    resume: () => {
      paused = false;
      socket.resume();
    },
    // The TCP socket is known from the upgrade on, which comes before 'open': a warm socket has it.
    unref: () => {
      raw?.unref();
    },
    ref: () => {
      raw?.ref();
    },
  };
};
