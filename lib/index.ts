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
  SisFileError,
  SisHandshakeError,
  SisItemError,
  SisOverflowError,
  SisPartError,
  SisProtocolError,
  SisRequestError,
  SisServiceError,
  SisTimeoutError,
  ERROR_CHANNEL,
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
export type { AuthOptions, RefreshableTokenSource, TokenAuth, TokenSource } from './auth/token.js';
export type { AkSkAuth } from './auth/aksk.js';
export { iamPasswordToken, type FetchLike, type IamPasswordTokenOptions, type IamTokenProvider } from './auth/iam.js';
export { SIS_ENV, hasSisEnv, sisOptionsFromEnv, type Environment } from './auth/env.js';
export { REGION_PATTERN, regionEndpoint } from './transport/endpoint.js';
export type { ConnectRequest, SocketListener, TransportFailure, WebSocketFactory, WebSocketLike } from './transport/websocket-like.js';
export { wsWebSocketFactory } from './transport/ws-factory.js';
export { audioOnly } from './operators/audio-only.js';
export type { AudioData } from './operators/audio-data.js';
export type { AudioSource } from './operators/audio-source.js';
export { WAV_UNKNOWN_SIZE, wavHeader, wavHeaderLength, type AudioFormatOptions, type WavHeaderOptions } from './operators/wav-header.js';
export { toWav } from './operators/to-wav.js';
export { collectAudio } from './operators/collect-audio.js';
export { collectWav } from './operators/collect-wav.js';
export { writeAudioFile, type AudioFileOptions, type AudioFileResult } from './operators/write-audio-file.js';
export { toReadable, type ToReadableOptions } from './operators/to-readable.js';
export { audioIterable, type AudioIterableOptions } from './operators/audio-iterable.js';
export { concatMapEager } from './operators/concat-map-eager.js';
export { retrySynthesis, type RetryInfo, type RetryOptions } from './operators/retry-synthesis.js';
export { splitText } from './operators/split-text.js';
export { synthesizeLong$, type LongAudioChunk, type LongSynthesisOptions } from './operators/synthesize-long.js';
export {
  synthesizeMany,
  type ManyOptions,
  type SynthesisFailure,
  type SynthesisOutcome,
  type SynthesisSuccess,
} from './operators/synthesize-many.js';
