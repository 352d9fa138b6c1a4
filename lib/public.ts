/**
 * Everything the root entry exports in every build, Node's (index.ts) and the browser's
 * (index.browser.ts): one list, so that the two cannot drift apart. Only `createSisClient`,
 * `synthesize$` and `events$` are not here: each entry binds them to its platform's default socket.
 * Nothing on this list may reach `ws` or a `node:` module (spec/browser/bundle.spec.ts proves it).
 */

// The client's types (`createSisClient`, `synthesize$` and `events$` are bound per build, in each entry).
export type { SisClient } from './session/client-core.js';
export type { SisClientOptions, SisConnectionOptions, SisLocation, Timeouts } from './session/options.js';
export type { WarmOptions, WarmStats } from './session/warm-pool.js';
export type { SessionCallOptions } from './session/session.js';
export type { WebSocketFactory } from './transport/websocket-like.js';
export { browserWebSocketFactory, type BrowserWebSocketFactoryOptions, type WebSocketProtocols } from './transport/browser-factory.js';

// What to say, and what comes back.
export { resolveRequest, type RequestLimits, type ResolvedRequest, type SynthesisRequest } from './protocol/request.js';
export { KNOWN_VOICES, type KnownVoice, type Voice } from './protocol/voices.js';
export type { AudioFormat, SubtitleLevel } from './protocol/wire.js';
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

// Speaking text while it is written (an LLM's tokens): `client.speak$`, or pipeable.
export { speak, type Speaker } from './speak/speak.js';
export { sentences, type SentenceOptions } from './speak/sentences.js';
export type { SpeakApi, SpeakOptions } from './speak/options.js';
export type {
  NoticeEvent,
  SentenceEvent,
  SentenceRef,
  SentEvent,
  SpeechAudioEvent,
  SpeechChunk,
  SpeechEndEvent,
  SpeechEvent,
  SpeechStartEvent,
  SpeechUnknownEvent,
  SpokenEvent,
} from './speak/events.js';

// Errors: `isSisError(e)` then `switch (e.code)`.
export {
  ERROR_CHANNEL,
  SisAuthError,
  SisConfigError,
  SisConnectionError,
  SisError,
  SisFileError,
  SisHandshakeError,
  SisItemError,
  SisOverflowError,
  SisPlaybackError,
  SisPartError,
  SisProtocolError,
  SisRequestError,
  SisServiceError,
  SisSentenceError,
  SisInputError,
  SisClosedError,
  SisTimeoutError,
  isSisError,
  type Problem,
  type SisErrorCode,
  type SisFailure,
  type TimeoutPhase,
} from './errors.js';

// Credentials.
export type { AkSkAuth } from './auth/aksk.js';
export type { AuthOptions, CredentialAuth, RefreshableTokenSource, TokenAuth, TokenSource } from './auth/token.js';
export { iamPasswordToken, type FetchLike, type IamPasswordTokenOptions, type IamTokenProvider } from './auth/iam.js';
export { SIS_ENV, hasSisEnv, sisOptionsFromEnv, type Environment } from './auth/env.js';

// Pipeable operators.
export { audioOnly } from './operators/audio-only.js';
export { collectAudio } from './operators/collect-audio.js';
export { collectWav } from './operators/collect-wav.js';
export { concatMapEager } from './operators/concat-map-eager.js';
export { retrySynthesis, type RetryInfo, type RetryOptions } from './operators/retry-synthesis.js';
export { toWav } from './operators/to-wav.js';

// Composition: long texts and batches.
export { splitText } from './compose/split-text.js';
export { synthesizeLong$, type LongAudioChunk, type LongSynthesisOptions } from './compose/synthesize-long.js';
export { synthesizeMany$, type ManyOptions, type SynthesisFailure, type SynthesisOutcome, type SynthesisSuccess } from './compose/synthesize-many.js';

// Audio containers and consuming audio outside RxJS.
export type { AudioData } from './audio/audio-data.js';
export { wavHeader, type AudioFormatOptions, type WavHeaderOptions } from './audio/wav-header.js';
export { audioIterable, type AudioIterableOptions } from './consume/audio-iterable.js';
export type { AudioSource } from './consume/audio-source.js';
