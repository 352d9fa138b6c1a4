/**
 * Every failure the library reports is an instance of a class extending {@link SisError}:
 * a stable `code` to switch on, the service's `traceId` where one is known, and `retryable`
 * telling whether the same request may succeed if sent again.
 *
 * Messages are built only from non-secret data (never a token, SK or password), so an error can be
 * logged, serialised or shown as it is.
 */
import { nodeDiagnosticsChannel } from './node-builtins.js';
import type { SentenceRef } from './speak/events.js';

/**
 * Observability hook: every {@link SisError} is published on this `node:diagnostics_channel` channel
 * once constructed (in a microtask, so the subclass fields are set), e.g. to count or log failures:
 * `diagnostics_channel.subscribe(ERROR_CHANNEL, (error) => metrics.count(error.code))`.
 * Nothing is published, and nothing is queued, while the channel has no subscriber. Node only: in a
 * browser there is no such channel, and nothing is published.
 */
export const ERROR_CHANNEL = 'rx-sis-tts:error';

/** The channel, looked up on the first error that finds one; see node-builtins.ts for why it is not imported. */
let errorChannel: import('node:diagnostics_channel').Channel | undefined;
const channelOfErrors = (): import('node:diagnostics_channel').Channel | undefined => {
  errorChannel ??= nodeDiagnosticsChannel()?.channel(ERROR_CHANNEL);
  return errorChannel;
};

/** The stable `code` of each error class: switch on it (see {@link SisFailure}) rather than on messages. */
export type SisErrorCode =
  | 'REQUEST_INVALID'
  | 'CONFIG_INVALID'
  | 'AUTH_FAILED'
  | 'HANDSHAKE_REJECTED'
  | 'CONNECTION_LOST'
  | 'TIMEOUT'
  | 'PROTOCOL_VIOLATION'
  | 'SERVICE_ERROR'
  | 'FILE_ERROR'
  | 'PART_FAILED'
  | 'ITEM_FAILED'
  | 'SENTENCE_FAILED'
  | 'INPUT_FAILED'
  | 'CLIENT_CLOSED'
  | 'BUFFER_OVERFLOW'
  | 'PLAYBACK_FAILED';

/**
 * The one way a message carries the trace id: a trailing ` [trace …]`. A wrapper (part, item) quotes
 * its cause's message, which already ends with the same trace id: it is not added twice.
 */
const withTrace = (message: string, traceId: string | undefined): string => {
  if (traceId === undefined) return message;
  const suffix = ` [trace ${traceId}]`;
  return message.endsWith(suffix) ? message : `${message}${suffix}`;
};

/** Node's error code (`ENOSPC`, `ECONNREFUSED` …) of a cause, when it has one. */
const systemCodeOf = (cause: unknown): string | undefined => {
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
};

// Causes nest (a part's error wraps a session's, which wraps a socket error): a bound keeps a cycle
// made by hand from recursing forever.
const MAX_CAUSE_DEPTH = 8;

/**
 * What JSON shows of a cause: a SisError as its own JSON, any other Error as its name, message and
 * code, anything else as its type only. Never the raw value: an object from a token provider or an
 * HTTP client may hold a token or a header.
 */
const causeSummary = (cause: unknown, depth: number): unknown => {
  if (cause instanceof SisError) return depth < MAX_CAUSE_DEPTH ? plainError(cause, depth + 1) : `${cause.name} (${cause.code})`;
  if (cause instanceof Error) {
    const code = systemCodeOf(cause);
    return { name: cause.name, message: cause.message, ...(code === undefined ? {} : { code }) };
  }
  if (typeof cause === 'object' && cause !== null) return `object ${cause.constructor?.name ?? ''}`.trimEnd();
  return typeof cause;
};

const plainError = (error: SisError, depth: number): Record<string, unknown> => {
  const plain: Record<string, unknown> = { name: error.name, code: error.code, message: error.message };
  for (const [key, value] of Object.entries(error)) {
    if (key !== 'cause' && value !== undefined) plain[key] = value;
  }
  if (error.cause !== undefined) plain['cause'] = causeSummary(error.cause, depth);
  return plain;
};

/**
 * The base of every error the library reports; narrow to a class with {@link isSisError} and
 * `switch (error.code)`. When the service's `traceId` is known the message ends with `[trace …]`.
 */
export abstract class SisError extends Error {
  abstract readonly code: SisErrorCode;
  readonly traceId: string | undefined;
  readonly retryable: boolean;

  protected constructor(message: string, details: { traceId?: string | undefined; retryable: boolean; cause?: unknown }) {
    super(withTrace(message, details.traceId), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.traceId = details.traceId;
    this.retryable = details.retryable;
    const channel = channelOfErrors();
    if (channel?.hasSubscribers === true) queueMicrotask(() => channel.publish(this));
  }

  /**
   * Plain data for logs and JSON: the fields, no stack, and a summary of the `cause` (a SisError's
   * own JSON; another Error's name, message and code; else only its type), never the raw cause.
   */
  toJSON(): Record<string, unknown> {
    return plainError(this, 0);
  }
}

/** One problem found while validating a request or options. */
export interface Problem {
  /** Dotted path of the offending field, `''` for the value as a whole. */
  readonly path: string;
  readonly message: string;
}

/** Problems as one line: `path: message; path: message` (a problem without a path is its message). */
export const listProblems = (problems: readonly Problem[]): string => problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)).join('; ');

/** The synthesis request is invalid; nothing was sent. `problems` lists every issue found. */
export class SisRequestError extends SisError {
  readonly code = 'REQUEST_INVALID';
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    super(`invalid synthesis request: ${listProblems(problems)}`, { retryable: false });
    this.problems = problems;
  }
}

/** The client or emulator options are invalid. `problems` lists every issue found. */
export class SisConfigError extends SisError {
  readonly code = 'CONFIG_INVALID';
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[], subject = 'options') {
    super(`invalid ${subject}: ${listProblems(problems)}`, { retryable: false });
    this.problems = problems;
  }
}

/** Credentials could not be obtained (a token provider failed, IAM refused). */
export class SisAuthError extends SisError {
  readonly code = 'AUTH_FAILED';
  readonly status: number | undefined;
  readonly errorCode: string | undefined;
  readonly errorMsg: string | undefined;
  constructor(message: string, details: { status?: number; errorCode?: string; errorMsg?: string; retryable?: boolean; cause?: unknown } = {}) {
    super(message, { retryable: details.retryable ?? false, cause: details.cause });
    this.status = details.status;
    this.errorCode = details.errorCode;
    this.errorMsg = details.errorMsg;
  }
}

/** The WebSocket handshake was answered with an HTTP error (API gateway or SIS). */
export class SisHandshakeError extends SisError {
  readonly code = 'HANDSHAKE_REJECTED';
  readonly status: number;
  readonly errorCode: string | undefined;
  readonly errorMsg: string | undefined;
  readonly requestId: string | undefined;
  constructor(details: { status: number; errorCode?: string | undefined; errorMsg?: string | undefined; requestId?: string | undefined }) {
    const what = [details.errorCode, details.errorMsg].filter((s) => s !== undefined && s !== '').join(' ');
    const hint = details.status === 401 ? ' (check the token or AK/SK, and the clock for AK/SK signing)' : '';
    super(
      `handshake rejected with HTTP ${details.status}${what === '' ? '' : `: ${what}`}${
        details.requestId === undefined ? '' : ` (request id ${details.requestId})`
      }${hint}`,
      { retryable: details.status === 429 || details.status >= 500 },
    );
    this.status = details.status;
    this.errorCode = details.errorCode;
    this.errorMsg = details.errorMsg;
    this.requestId = details.requestId;
  }
}

/** The connection failed or was closed before the END response. */
export class SisConnectionError extends SisError {
  readonly code = 'CONNECTION_LOST';
  readonly closeCode: number | undefined;
  readonly closeReason: string;
  constructor(message: string, details: { closeCode?: number | undefined; closeReason?: string; traceId?: string | undefined; cause?: unknown } = {}) {
    super(message, { traceId: details.traceId, retryable: true, cause: details.cause });
    this.closeCode = details.closeCode;
    this.closeReason = details.closeReason ?? '';
  }
}

/** Which wait ran out. */
export type TimeoutPhase = 'connect' | 'firstAudio' | 'idle' | 'total' | 'text';

const phaseWords: Record<TimeoutPhase, string> = {
  connect: 'connecting',
  firstAudio: 'waiting for the first audio',
  idle: 'waiting for the next frame',
  total: 'the whole session',
  text: 'waiting for the next text',
};

/** The option that sets each limit: `speak$`'s `textTimeout` is its own, the others are the client's `timeouts`. */
const phaseOption = (phase: TimeoutPhase): string => (phase === 'text' ? 'textTimeout' : `timeouts.${phase}`);

/** A configured time limit (`timeouts.connect`, `.firstAudio`, `.idle` or `.total`) ran out. */
export class SisTimeoutError extends SisError {
  readonly code = 'TIMEOUT';
  readonly phase: TimeoutPhase;
  readonly timeoutMs: number;
  constructor(phase: TimeoutPhase, timeoutMs: number, traceId?: string) {
    // Waiting longer for text does not make it come: only the service's limits are worth a retry.
    super(`timed out after ${timeoutMs} ms ${phaseWords[phase]} (${phaseOption(phase)})`, { traceId, retryable: phase !== 'text' });
    this.phase = phase;
    this.timeoutMs = timeoutMs;
  }
}

/** The server sent something the protocol does not allow at that point. */
export class SisProtocolError extends SisError {
  readonly code = 'PROTOCOL_VIOLATION';
  /** Where the session was when the offending frame arrived, e.g. `"after START, 3 audio frames"`. */
  readonly at: string;
  constructor(problem: string, details: { at: string; traceId?: string | undefined }) {
    super(`protocol violation ${details.at}: ${problem}`, { traceId: details.traceId, retryable: false });
    this.at = details.at;
  }
}

// Internal errors, timeouts and the concurrency cap are transient (protocol.md, error codes table).
const transientCodes = new Set([
  'SIS.0001',
  'SIS.0003',
  'SIS.0100',
  'SIS.0033',
  'SIS.0304',
  'SIS.0312',
  'SIS.0401',
  'SIS.0412',
  'SIS.0413',
  'SIS.0414',
  'SIS.0416',
  // The relay's own (rx-sis-tts/relay): the service could not be reached, or the relay was closing.
  'RELAY.0502',
  'RELAY.0503',
]);

/** True for SIS error codes worth retrying (internal errors, timeouts, concurrency cap). */
export const isTransientServiceCode = (errorCode: string): boolean => transientCodes.has(errorCode);

/**
 * The service reported a failure: an ERROR or FATAL_ERROR response, or END with reason ERROR.
 * `errorCode`/`errorMsg` come from the ERROR or FATAL_ERROR frame when there was one.
 */
export class SisServiceError extends SisError {
  readonly code = 'SERVICE_ERROR';
  readonly errorCode: string | undefined;
  readonly errorMsg: string | undefined;
  /** `'ERROR'` when the session ended with END/ERROR. */
  readonly reason: string | undefined;
  /** True for FATAL_ERROR: the server closes the connection. */
  readonly fatal: boolean;
  constructor(details: {
    traceId?: string | undefined;
    errorCode?: string | undefined;
    errorMsg?: string | undefined;
    reason?: string | undefined;
    fatal?: boolean | undefined;
  }) {
    const fatal = details.fatal ?? false;
    const what =
      details.errorCode === undefined
        ? `synthesis ended with reason ${details.reason ?? 'ERROR'}`
        : `${fatal ? 'fatal ' : ''}service error ${details.errorCode}${details.errorMsg === undefined ? '' : `: ${details.errorMsg}`}`;
    super(what, {
      traceId: details.traceId,
      retryable: details.errorCode === undefined ? true : isTransientServiceCode(details.errorCode),
    });
    this.errorCode = details.errorCode;
    this.errorMsg = details.errorMsg;
    this.reason = details.reason;
    this.fatal = fatal;
  }
}

/** Writing an audio file failed (disk full, no permission, missing folder …); no partial file is left. */
export class SisFileError extends SisError {
  readonly code = 'FILE_ERROR';
  /** The file that was to be written. */
  readonly path: string;
  /** The operation that failed: `open`, `write`, `close` or `rename`. */
  readonly operation: string;
  /** Node's error code (`ENOSPC`, `EACCES`, `ENOENT` …) when there is one. */
  readonly systemCode: string | undefined;
  constructor(details: { path: string; operation: string; cause: unknown }) {
    const systemCode = systemCodeOf(details.cause);
    super(`could not ${details.operation} the audio file ${details.path}${systemCode === undefined ? '' : ` (${systemCode})`}`, {
      retryable: false,
      cause: details.cause,
    });
    this.path = details.path;
    this.operation = details.operation;
    this.systemCode = systemCode;
  }
}

/** The text of a long synthesis was split into parts and one part failed; `cause` is that part's error. */
export class SisPartError extends SisError {
  readonly code = 'PART_FAILED';
  /** 0-based index of the failed part. */
  readonly part: number;
  readonly parts: number;
  /** The failed part's own error code (`SERVICE_ERROR`, `TIMEOUT` …). */
  readonly causeCode: SisErrorCode;
  constructor(details: { part: number; parts: number; cause: SisError }) {
    super(`part ${details.part + 1} of ${details.parts} failed: ${details.cause.message}`, {
      traceId: details.cause.traceId,
      retryable: details.cause.retryable,
      cause: details.cause,
    });
    this.part = details.part;
    this.parts = details.parts;
    this.causeCode = details.cause.code;
  }
}

/** One request of a batch failed (fail-fast mode); `cause` is that request's error. */
export class SisItemError extends SisError {
  readonly code = 'ITEM_FAILED';
  /** 0-based index of the failed request in the input. */
  readonly index: number;
  readonly causeCode: SisErrorCode;
  constructor(details: { index: number; cause: SisError }) {
    super(`request ${details.index} of the batch failed: ${details.cause.message}`, {
      traceId: details.cause.traceId,
      retryable: details.cause.retryable,
      cause: details.cause,
    });
    this.index = details.index;
    this.causeCode = details.cause.code;
  }
}

/** Enough of a sentence's text to recognise it in a message; the whole text is in `sentence.text`. */
const excerpt = (text: string): string => {
  const chars = [...text];
  return JSON.stringify(chars.length <= 40 ? text : `${chars.slice(0, 39).join('')}…`);
};

/**
 * One sentence of a real-time speech (`speak$` with `api: 'realtime'`) failed, and with it the speech;
 * `cause` is that sentence's session error. Sentences before it were spoken in full.
 */
export class SisSentenceError extends SisError {
  readonly code = 'SENTENCE_FAILED';
  readonly sentence: SentenceRef;
  /** The failed session's own error code (`SERVICE_ERROR`, `TIMEOUT` …). */
  readonly causeCode: SisErrorCode;
  constructor(details: { sentence: SentenceRef; cause: SisError }) {
    super(`sentence ${details.sentence.index} (${excerpt(details.sentence.text)}) failed: ${details.cause.message}`, {
      traceId: details.cause.traceId,
      retryable: details.cause.retryable,
      cause: details.cause,
    });
    this.sentence = { index: details.sentence.index, text: details.sentence.text };
    this.causeCode = details.cause.code;
  }
}

/** The text input of `speak$` failed: `cause` is the error `text$` sent. Every socket was closed. */
export class SisInputError extends SisError {
  readonly code = 'INPUT_FAILED';
  constructor(details: { cause: unknown }) {
    const cause = details.cause;
    super(`the text input failed: ${cause instanceof Error ? cause.message : 'it sent an error that is not an Error (see error.cause)'}`, {
      retryable: false,
      cause,
    });
  }
}

/**
 * The client was closed (`client.close()`): it opens no socket any more. Sessions that were running
 * then finish normally; a session or `prewarm` asked for afterwards gets this error. Create a new client.
 */
export class SisClosedError extends SisError {
  readonly code = 'CLIENT_CLOSED';
  constructor(what: string) {
    super(`${what}: the client was closed (client.close()); create a new client`, { retryable: false });
  }
}

/** A consumer that cannot pause its source fell too far behind: more was buffered than allowed. */
export class SisOverflowError extends SisError {
  readonly code = 'BUFFER_OVERFLOW';
  /** The limit that was passed, in `unit`s. */
  readonly limit: number;
  readonly unit: 'bytes' | 'items';
  constructor(limit: number, unit: 'bytes' | 'items') {
    super(
      `more than ${limit} ${unit} buffered for a slow consumer; pass a function (paused$) => audio$ so the source can be paused, or raise the buffer limit`,
      { retryable: false },
    );
    this.limit = limit;
    this.unit = unit;
  }
}

/**
 * Audio could not be played (`playAudio` of `rx-sis-tts/browser`): the browser could not decode it
 * (`decode`), refused to schedule it (`schedule`), or the audio context was closed while it played
 * (`context`). The browser's own exception, if any, is the `cause`.
 */
export class SisPlaybackError extends SisError {
  readonly code = 'PLAYBACK_FAILED';
  readonly stage: 'decode' | 'schedule' | 'context';
  constructor(message: string, details: { stage: 'decode' | 'schedule' | 'context'; cause?: unknown }) {
    super(message, { retryable: false, cause: details.cause });
    this.stage = details.stage;
  }
}

/**
 * Every error the library reports, as a union discriminated by `code`: `switch (error.code)` narrows
 * to the class and its fields (`errorCode` of a `SERVICE_ERROR`, `phase` of a `TIMEOUT` …).
 */
export type SisFailure =
  | SisRequestError
  | SisConfigError
  | SisAuthError
  | SisHandshakeError
  | SisConnectionError
  | SisTimeoutError
  | SisProtocolError
  | SisServiceError
  | SisFileError
  | SisPartError
  | SisItemError
  | SisSentenceError
  | SisInputError
  | SisClosedError
  | SisOverflowError
  | SisPlaybackError;

/**
 * True for an error of this library, typed as {@link SisFailure} so that `code` narrows it.
 * RxJS types an error notification as `any`: start there.
 * @example
 * synthesize$(request, options).subscribe({
 *   error: (error: unknown) => {
 *     if (!isSisError(error)) throw error;
 *     switch (error.code) {
 *       case 'SERVICE_ERROR': return log(error.errorCode, error.traceId);
 *       case 'TIMEOUT': return log(error.phase);
 *     }
 *   },
 * });
 */
export const isSisError = (value: unknown): value is SisFailure => value instanceof SisError;
