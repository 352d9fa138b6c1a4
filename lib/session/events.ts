/** What a synthesis session reports, in order: open, start, audio/subtitle…, end. */

/** One binary frame of audio, as received (a view into the socket's buffer, not a copy). */
export interface AudioChunk {
  /** The audio bytes; use `data.byteOffset`/`data.byteLength` if you reach for `data.buffer`. */
  readonly data: Uint8Array;
  /** 0 for the first chunk of the session. */
  readonly index: number;
  /** Byte offset of this chunk in the session's audio stream. */
  readonly offset: number;
  readonly traceId: string;
}

/** A phoneme of a word (phoneme-level subtitles only), in milliseconds from the start of the audio. */
export interface SubtitlePhoneme {
  readonly phoneme: string;
  readonly startTime: number;
  readonly endTime: number;
  readonly phonemeIndex: number;
}

/** A word (or character) with its position in the audio, in milliseconds from the start. */
export interface SubtitleWord {
  readonly text: string;
  readonly startTime: number;
  readonly endTime: number;
  readonly wordIndex: number | undefined;
  readonly phonemes: readonly SubtitlePhoneme[] | undefined;
}

/** Milliseconds measured from the subscription. */
export interface SessionTimings {
  /** Until the socket was open (credentials and handshake). */
  readonly connectMs: number;
  /** Until the first audio chunk; undefined if none came. */
  readonly firstAudioMs: number | undefined;
  readonly totalMs: number;
}

/** The socket is open and the START command was sent. */
export interface OpenEvent {
  readonly type: 'open';
  readonly url: string;
  readonly connectMs: number;
}
/** The service accepted the START command: `traceId` identifies the session in its logs. */
export interface StartEvent {
  readonly type: 'start';
  readonly traceId: string;
  /** Milliseconds from the subscription. */
  readonly elapsedMs: number;
}
/** A chunk of audio (the same chunks `synthesize$` emits). */
export interface AudioEvent {
  readonly type: 'audio';
  readonly chunk: AudioChunk;
}
/** A RESULT frame (only with `subtitle` set in the request): the timings of words, and of phonemes at `'phoneme_level'`. */
export interface SubtitleEvent {
  readonly type: 'subtitle';
  readonly traceId: string;
  readonly words: readonly SubtitleWord[];
}
/** A well-formed frame of a type this version does not know: reported, and the session goes on. */
export interface UnknownEvent {
  readonly type: 'unknown';
  readonly respType: string;
  readonly frame: Readonly<Record<string, unknown>>;
}
/** END with reason NORMAL: all audio arrived; totals and timings of the session. It is the last event. */
export interface EndEvent {
  readonly type: 'end';
  readonly traceId: string;
  readonly reason: 'NORMAL';
  readonly chunks: number;
  readonly bytes: number;
  readonly timings: SessionTimings;
}

/** Everything a session reports, discriminated by `type`: what `events$` emits. */
export type SisEvent = OpenEvent | StartEvent | AudioEvent | SubtitleEvent | UnknownEvent | EndEvent;
