/**
 * The browser build's default {@link WebSocketFactory}: the global `WebSocket` (binaryType
 * `'arraybuffer'`), its events turned into the {@link SocketListener}'s facts.
 *
 *   new WebSocket(url, protocols)
 *     ├─ open ──────────────▶ onOpen
 *     ├─ message ───────────▶ onActivity, onMessage(string | Uint8Array view of the ArrayBuffer)
 *     ├─ error (then close) ▶ onError({ kind: 'network' }) once; the close that follows is not reported
 *     └─ close ─────────────▶ onClose(code, reason)
 *
 * What a browser does not give, this factory cannot report: a refused upgrade (401, 403, 429 from the
 * relay) looks like any network failure, an error followed by a close with code 1006. It sends no
 * headers either: a request that carries one (a token, a signature) is failed, since the page must
 * reach SIS through a relay (`auth: 'relay'`). No flow control (`pause`/`resume`) and no `unref`: a
 * browser has neither.
 */
import { check, objectProblems, optional, unknownKeyProblems } from '../checks.js';
import { SisConfigError } from '../errors.js';
import type { ConnectRequest, SocketListener, TransportFailure, WebSocketFactory, WebSocketLike } from './websocket-like.js';

/** The events of a DOM WebSocket used here, as much of each as is read. */
interface BrowserSocketEvents {
  readonly open: unknown;
  readonly message: { readonly data: unknown };
  readonly error: unknown;
  readonly close: { readonly code: number; readonly reason: string };
}

/** The part of the DOM's `WebSocket` used here: the project compiles without the DOM library. */
interface BrowserSocket {
  binaryType: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener<K extends keyof BrowserSocketEvents>(type: K, listener: (event: BrowserSocketEvents[K]) => void): void;
  removeEventListener<K extends keyof BrowserSocketEvents>(type: K, listener: (event: BrowserSocketEvents[K]) => void): void;
}

type BrowserSocketClass = new (url: string, protocols?: string | string[]) => BrowserSocket;

/** WebSocket subprotocols: one, several, or a function asked on every connect (for a token that changes). */
export type WebSocketProtocols = string | readonly string[] | (() => string | readonly string[]);

/** Options of {@link browserWebSocketFactory}. */
export interface BrowserWebSocketFactoryOptions {
  /**
   * Subprotocols offered in the handshake (`Sec-WebSocket-Protocol`), the one header a page may set:
   * the way to hand a relay a session token when a cookie will not do. A function is called on every
   * connect. Each must be an HTTP token (no spaces, commas or `=`): base64url-encode a token first.
   */
  readonly protocols?: WebSocketProtocols | undefined;
}

/** The close codes a page may send (the DOM refuses others with an exception): 1000 and 3000–4999. */
const pageCloseCode = (code: number): number => (code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000);

/** A close reason the DOM accepts: at most 123 bytes of UTF-8. */
const pageCloseReason = (reason: string | undefined): string | undefined => {
  if (reason === undefined) return undefined;
  const encoder = new TextEncoder();
  let kept = '';
  for (const char of reason) {
    if (encoder.encode(kept + char).byteLength > 123) break;
    kept += char;
  }
  return kept;
};

const isProtocols = (value: unknown): boolean =>
  typeof value === 'string' || typeof value === 'function' || (Array.isArray(value) && value.every((protocol) => typeof protocol === 'string'));

/** The name of what was thrown, never its message: a message about a subprotocol may quote a token. */
const nameOf = (thrown: unknown): string => (thrown instanceof Error ? thrown.name : typeof thrown);

/**
 * The socket for a request, or why there is none. Everything here is checked before anything is
 * opened; the reason is reported once the factory has returned (the listener contract).
 */
const openSocket = (request: ConnectRequest, protocols: WebSocketProtocols | undefined): BrowserSocket | string => {
  const headers = Object.keys(request.headers);
  if (headers.length > 0) {
    // The names only: the values are credentials.
    return `a browser cannot send handshake headers (${headers.join(', ')}): use auth: 'relay' and a relay on your server (createSisRelay in rx-sis-tts/relay), which authenticates the page and adds them`;
  }
  const WebSocketClass = (globalThis as { readonly WebSocket?: BrowserSocketClass | undefined }).WebSocket;
  if (WebSocketClass === undefined) return 'there is no global WebSocket in this runtime: in Node, use wsWebSocketFactory (the default there)';
  let offered: string | string[] | undefined;
  try {
    const given = typeof protocols === 'function' ? protocols() : protocols;
    offered = given === undefined || typeof given === 'string' ? given : [...given];
  } catch (thrown) {
    return `browserWebSocketFactory's protocols function threw (${nameOf(thrown)})`;
  }
  try {
    const socket = new WebSocketClass(request.url, offered);
    socket.binaryType = 'arraybuffer';
    return socket;
  } catch (thrown) {
    // A SyntaxError: an invalid URL or subprotocol. Its message may quote the subprotocol, a token.
    const hint = offered === undefined ? '' : ': each protocol must be an HTTP token (no spaces, commas or =), e.g. a base64url-encoded token';
    return `the browser refused to create the WebSocket (${nameOf(thrown)})${hint}`;
  }
};

/**
 * A {@link WebSocketFactory} over the global `WebSocket` of a browser (or any runtime that has one),
 * receiving binary frames as `ArrayBuffer`s handed on as views, not copies. It is the browser build's
 * default; give one yourself to pass `protocols`, e.g. a token for the relay.
 * @throws {SisConfigError} if the options are not `{ protocols? }` of the right kinds.
 * The session's `timeouts.connect` bounds the handshake (the DOM has no timeout of its own).
 * @example
 * const client = createSisClient({
 *   endpoint: 'wss://your.app/tts',
 *   projectId: 'relay',
 *   auth: 'relay',
 *   webSocketFactory: browserWebSocketFactory({ protocols: () => ['sis-relay', sessionToken()] }),
 * });
 */
export const browserWebSocketFactory = (options: BrowserWebSocketFactoryOptions = {}): WebSocketFactory => {
  const problems = [
    ...objectProblems('', options, '{ protocols }'),
    ...unknownKeyProblems(options, ['protocols']),
    // A subprotocol may carry a token: its value is never quoted.
    ...optional(check('a string, an array of strings, or a function returning one', isProtocols, { secret: true }))('protocols', options?.protocols),
  ];
  if (problems.length > 0) throw new SisConfigError(problems, 'browserWebSocketFactory options');
  return (request: ConnectRequest, listener: SocketListener): WebSocketLike => {
    let listening = true;
    let opened = false;
    const opening = openSocket(request, options.protocols);
    const socket = typeof opening === 'string' ? undefined : opening;

    // One report (onError or onClose), then nothing more: every listener is removed.
    const detach = (): void => {
      listening = false;
      socket?.removeEventListener('open', onOpen);
      socket?.removeEventListener('message', onMessage);
      socket?.removeEventListener('error', onError);
      socket?.removeEventListener('close', onClose);
    };
    const fail = (failure: TransportFailure): void => {
      if (!listening) return;
      detach();
      listener.onError(failure);
    };
    const onOpen = (): void => {
      opened = true;
      if (listening) listener.onOpen();
    };
    const onMessage = (event: BrowserSocketEvents['message']): void => {
      if (!listening) return;
      const { data } = event;
      listener.onActivity();
      if (typeof data === 'string') return listener.onMessage(data);
      if (data instanceof ArrayBuffer) return listener.onMessage(new Uint8Array(data));
      if (ArrayBuffer.isView(data)) return listener.onMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      // A Blob: this WebSocket ignored binaryType, and a Blob cannot be read synchronously, in order.
      const shape = typeof data === 'object' && data !== null ? (data.constructor?.name ?? 'an object') : typeof data;
      fail({ kind: 'network', message: `a binary frame arrived as ${shape}, not an ArrayBuffer: this WebSocket ignores binaryType 'arraybuffer'` });
      socket?.close(1000);
    };
    // The browser hides why (a refused upgrade and an unreachable host look the same): say where to look.
    const onError = (): void =>
      fail({
        kind: 'network',
        message: opened
          ? 'the WebSocket failed (the browser gives no detail)'
          : "the browser could not open the WebSocket and does not say why: the server refused the upgrade (check the relay's log for 401, 403 or 429) or could not be reached",
      });
    const onClose = (event: BrowserSocketEvents['close']): void => {
      if (!listening) return;
      detach();
      listener.onClose(event.code, event.reason);
    };

    if (typeof opening === 'string') {
      queueMicrotask(() => fail({ kind: 'network', message: opening }));
    } else {
      opening.addEventListener('open', onOpen);
      opening.addEventListener('message', onMessage);
      opening.addEventListener('error', onError);
      opening.addEventListener('close', onClose);
    }

    return {
      send: (text) => socket?.send(text),
      close: (code, reason) => {
        detach();
        socket?.close(pageCloseCode(code), pageCloseReason(reason));
      },
      // A page cannot abort a socket: closing it while connecting is the nearest (the DOM then fails it).
      terminate: () => {
        detach();
        socket?.close();
      },
    };
  };
};
