/**
 * `rx-sis-tts/testing`: test your own code that uses `rx-sis-tts`, with marbles or without. A real
 * client ({@link createTestingClient}) runs over fake sockets, and a {@link TestingController} plays the
 * service, after Angular's `HttpTestingController`. No test framework is needed: failures are plain
 * `Error`s. For tests at the socket level, {@link fakeSockets} is the scripted fake the library's own
 * suite uses.
 */
export { createTestingClient, TESTING_ENDPOINT, TESTING_PROJECT_ID, type TestingClient, type TestingClientOptions } from './client.js';
export type { AutoRespond, AutoResponse, SessionMatch, TestingController } from './controller.js';
export {
  AUDIO_FRAME,
  DEFAULT_RESPONSES,
  defaultResponses,
  type ResponseValue,
  type TestPause,
  type TestRequest,
  type TestSession,
  type TestSessionState,
} from './test-session.js';
export {
  TRACE,
  activity,
  binary,
  close,
  endFrame,
  errorFrame,
  fail,
  fakeSockets,
  fatalFrame,
  open,
  startFrame,
  text,
  type FakeSocketOptions,
  type FakeSocketRecord,
  type FakeSockets,
  type ServerAction,
} from './fake-sockets.js';
export type { StartCommand } from '../protocol/wire.js';
export type { StreamingStartCommand } from '../protocol/streaming.js';
export type { ConnectRequest, SocketListener, TransportFailure, WebSocketFactory } from '../transport/websocket-like.js';
