/**
 * `rx-sis-tts/transport`: the socket seam. A {@link WebSocketFactory} opens a {@link WebSocketLike}
 * and reports to a {@link SocketListener}; inject one through the client's `webSocketFactory` option.
 * Two are provided: `wsWebSocketFactory` (Node's default) and `browserWebSocketFactory` (the browser's).
 */
export { regionEndpoint } from './endpoint.js';
export type { ConnectRequest, SocketListener, TransportFailure, WebSocketFactory, WebSocketLike } from './websocket-like.js';
export { wsWebSocketFactory } from './ws-factory.js';
export { browserWebSocketFactory, type BrowserWebSocketFactoryOptions, type WebSocketProtocols } from './browser-factory.js';
