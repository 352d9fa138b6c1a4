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

export interface OpenEvent {
  readonly type: 'open';
  readonly url: string;
  readonly connectMs: number;
}
export interface StartEvent {
  readonly type: 'start';
  readonly traceId: string;
  /** Milliseconds from the subscription. */
  readonly elapsedMs: number;
}
export interface AudioEvent {
  readonly type: 'audio';
  readonly chunk: AudioChunk;
}
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
export interface EndEvent {
  readonly type: 'end';
  readonly traceId: string;
  readonly reason: 'NORMAL';
  readonly chunks: number;
  readonly bytes: number;
  readonly timings: SessionTimings;
}

export type SisEvent = OpenEvent | StartEvent | AudioEvent | SubtitleEvent | UnknownEvent | EndEvent;
