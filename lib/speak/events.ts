/**
 * What `speak$` and `speakEvents$` report. A speech is made of pieces (sentences, as assembled by
 * `sentences()`); in real-time mode each piece is one session, in streaming mode all pieces share one.
 */
import type { AudioChunk } from '../session/events.js';

/** A piece of the text, numbered from 0 in the order it was assembled. */
export interface SentenceRef {
  readonly index: number;
  readonly text: string;
}

/**
 * A chunk of speech: `index` and `offset` run across the whole speech, `traceId` is the session's.
 * `sentence` says which piece the audio belongs to where that is known: always in real-time mode,
 * never in streaming mode (the service does not say which text a segment of audio speaks).
 */
export interface SpeechChunk extends AudioChunk {
  readonly sentence: SentenceRef | undefined;
}

/**
 * A piece was assembled from the input text and queued. In real-time mode a sentence's events
 * (this one included) come out in sentence order, when its turn comes: `sent` and `start` carry
 * `elapsedMs`, the time they really happened. In streaming mode events come as they happen.
 */
export interface SentenceEvent {
  readonly type: 'sentence';
  readonly sentence: SentenceRef;
}
/** A piece went to the service: its session's START (real-time), or its MSG (streaming). */
export interface SentEvent {
  readonly type: 'sent';
  readonly sentence: SentenceRef;
  /** Milliseconds from the subscription. */
  readonly elapsedMs: number;
}
/**
 * The service accepted a session: once per piece in real-time mode (again, with the new trace id, when
 * a piece is retried), once in streaming mode (`sentence` undefined).
 */
export interface SpeechStartEvent {
  readonly type: 'start';
  readonly traceId: string;
  readonly sentence: SentenceRef | undefined;
  readonly elapsedMs: number;
}
/** A chunk of speech (the same chunks `speak$` emits). */
export interface SpeechAudioEvent {
  readonly type: 'audio';
  readonly chunk: SpeechChunk;
}
/** Every byte of a piece's audio has been emitted (real-time mode): what the listener has now heard. */
export interface SpokenEvent {
  readonly type: 'spoken';
  readonly sentence: SentenceRef;
  readonly traceId: string;
  readonly bytes: number;
}
/** A notice of the streaming API (an EVENT frame, e.g. `VCS_END`); the session goes on. */
export interface NoticeEvent {
  readonly type: 'notice';
  readonly event: string;
  readonly traceId: string | undefined;
}
/** A well-formed frame of a type this version does not know: reported, and the speech goes on. */
export interface SpeechUnknownEvent {
  readonly type: 'unknown';
  readonly respType: string;
  readonly frame: Readonly<Record<string, unknown>>;
}
/** The speech is complete: every piece spoken. */
export interface SpeechEndEvent {
  readonly type: 'end';
  readonly api: 'realtime' | 'streaming';
  /** Pieces spoken. */
  readonly sentences: number;
  readonly chunks: number;
  readonly bytes: number;
  /** The trace id of each session, in order (one in streaming mode). */
  readonly traceIds: readonly string[];
  readonly timings: {
    /** From the subscription to the first audio chunk; undefined if there was none. */
    readonly firstAudioMs: number | undefined;
    readonly totalMs: number;
  };
}

/** Everything a speech reports, discriminated by `type`: what `speakEvents$` emits. */
export type SpeechEvent = SentenceEvent | SentEvent | SpeechStartEvent | SpeechAudioEvent | SpokenEvent | NoticeEvent | SpeechUnknownEvent | SpeechEndEvent;
