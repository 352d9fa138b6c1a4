/** rx-sis-tts: Huawei Cloud SIS speech synthesis as cold RxJS Observables. */
export { createSisClient, synthesize$, synthesisEvents$, type SisClient } from './session/client.js';
export type { SessionCallOptions } from './session/session.js';
export { DEFAULT_MAX_PAYLOAD, DEFAULT_TIMEOUTS, type SisClientOptions, type Timeouts } from './session/options.js';
export type {
  AudioChunk,
  AudioEvent,
  EndEvent,
  OpenEvent,
  SessionTimings,
  SisEvent,
  StartEvent,
  SubtitleEvent,
  SubtitlePhoneme,
  SubtitleWord,
  UnknownEvent,
} from './session/events.js';
export {
  SisAuthError,
  SisConfigError,
  SisConnectionError,
  SisError,
  SisHandshakeError,
  SisProtocolError,
  SisRequestError,
  SisServiceError,
  SisTimeoutError,
  isTransientServiceCode,
  type Problem,
  type SisErrorCode,
  type TimeoutPhase,
} from './errors.js';
export {
  DEFAULT_LIMITS,
  REQUEST_DEFAULTS,
  bytesPerSecond,
  codePointLength,
  resolveRequest,
  type RequestLimits,
  type ResolvedRequest,
  type SynthesisRequest,
} from './protocol/request.js';
export {
  DEFAULT_VOICE,
  INTERNATIONAL_VOICES,
  KNOWN_VOICES,
  ORDINARY_VOICES,
  PREMIUM_VOICES,
  isKnownVoice,
  type KnownVoice,
  type Voice,
} from './protocol/voices.js';
export { AUDIO_FORMATS, SAMPLE_RATES, SUBTITLE_LEVELS, type AudioFormat, type SubtitleLevel } from './protocol/wire.js';
export type { AuthOptions, TokenAuth, TokenSource } from './auth/token.js';
export type { ConnectRequest, SocketListener, TransportFailure, WebSocketFactory, WebSocketLike } from './transport/websocket-like.js';
export { wsWebSocketFactory } from './transport/ws-factory.js';
export { audioOnly } from './operators/audio-only.js';
