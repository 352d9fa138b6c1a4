/**
 * One synthesis as one HTTP response. The status must be chosen before the first byte, so the head
 * waits for the first audio (or an END without audio): an error before it is answered with a status
 * and a JSON body; after it, only by cutting the response short.
 *
 *   waiting ──first audio / END──▶ streaming ──END──▶ ending ──finish──▶ (complete)
 *      │                              │                  └────close────▶ (disconnected)
 *      │ error: status + JSON         │ error: destroy (truncated body)
 *      │ abort: 503 + JSON            │ abort: destroy
 *      │ close: unsubscribe           │ close: unsubscribe
 *      ▼                              ▼
 *   (failed / aborted / disconnected) (failed / aborted / disconnected)
 *
 * The response's `finish` or `close`, whichever comes first, settles the promise; `teardown()` is the
 * single place where the session is unsubscribed (closing its socket) and every listener removed.
 */
import { ServerResponse } from 'node:http';
import { BehaviorSubject, distinctUntilChanged, Subscription } from 'rxjs';
import { headerValue, isObject, objectProblems, oneOf, optional, unknownKeyProblems } from '../checks.js';
import { isSisError, type Problem, SisConfigError, type SisErrorCode, type SisFailure } from '../errors.js';
import { resolveAudioFormat, wavHeader } from '../audio/wav-header.js';
import type { SynthesisRequest } from '../protocol/request.js';
import type { AudioFormat } from '../protocol/wire.js';
import type { SisClient } from '../session/client.js';
import type { SisEvent } from '../session/events.js';

/** Options of {@link sendSynthesis}. */
export interface SendSynthesisOptions {
  /**
   * `'wav'` (default): pcm, alaw and ulaw in a WAV container with the streaming sizes (0xFFFFFFFF,
   * "until the end"), as `audio/wav`; `'raw'`: the bytes as received, as `application/octet-stream`
   * with an `X-Audio-Format` header. mp3 is always sent as it is, as `audio/mpeg`.
   */
  readonly container?: 'wav' | 'raw' | undefined;
  /**
   * More headers for the response, success or error alike (CORS headers belong here, or on the
   * response before the call). They may replace `Cache-Control` but not the headers that describe the
   * body: `Content-Type`, `Content-Length`, `Transfer-Encoding`, `X-Audio-Format` and `X-Trace-Id`.
   */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /**
   * Stops the synthesis (a server shutting down): before the first byte it is answered with 503 and
   * the code `'ABORTED'`; after, the response is cut short.
   */
  readonly signal?: AbortSignal | undefined;
}

/**
 * How the response ended: `'complete'` all the audio was sent; `'failed'` the synthesis failed (see
 * `error`); `'disconnected'` the client went away first (the session was stopped); `'aborted'` the
 * `signal` stopped it.
 */
export type SendSynthesisOutcome = 'complete' | 'failed' | 'disconnected' | 'aborted';

/** What {@link sendSynthesis} resolves with, for the server's log. */
export interface SendSynthesisResult {
  /** The HTTP status answered; `undefined` when the client left before one was. */
  readonly status: number | undefined;
  /** Bytes of audio handed to the response (without the WAV header). */
  readonly bytes: number;
  /** The service's trace id, once its START response arrived. */
  readonly traceId?: string | undefined;
  readonly outcome: SendSynthesisOutcome;
  /** The synthesis's error when `outcome` is `'failed'`: log it, it says more than the body does. */
  readonly error?: SisFailure | Error | undefined;
}

/** The `code` of an error body: the error's own code, `'ABORTED'` for the signal, `'INTERNAL_ERROR'` for an error not of this library. */
export type SynthesisErrorCode = SisErrorCode | 'ABORTED' | 'INTERNAL_ERROR';

/** The JSON body of an error answered before the first byte. */
export interface SynthesisErrorBody {
  readonly error: {
    readonly code: SynthesisErrorCode;
    /** The request's problems for a 400; otherwise a sentence for the page, which never shows the server's configuration. */
    readonly message: string;
    /** Whether the same request may succeed later. */
    readonly retryable: boolean;
    /** The service's trace id, when one is known: quote it to support. */
    readonly traceId?: string | undefined;
  };
}

// Service codes that blame the request (protocol.md, error codes): the caller can fix them.
const REQUEST_CODES = new Set(['SIS.0012', 'SIS.0031', 'SIS.0032', 'SIS.0402', 'SIS.0403', 'SIS.0410', 'SIS.0411', 'SIS.0415', 'SIS.1010']);
// The engine timed out behind the service.
const TIMEOUT_CODES = new Set(['SIS.0033', 'SIS.0412', 'SIS.0414']);
// SIS.0312: the account's concurrency cap.
const BUSY_CODES = new Set(['SIS.0312']);
const busyStatus = (status: number | undefined): boolean => status === 429 || status === 503;

/**
 * The HTTP status that answers a synthesis error: 400 the request is invalid (here or at the
 * service); 500 the server's own setup (a bad option, an error not of this library); 502 the service
 * or its gateway failed, our credentials included (the page cannot fix those); 503 the service is
 * busy (429/503 at the handshake, SIS.0312) or the client was closed; 504 a timeout.
 * @example res.status(httpStatusOf(error)).json({ code: error.code })
 */
export const httpStatusOf = (error: unknown): number => {
  if (!isSisError(error)) return 500;
  switch (error.code) {
    case 'REQUEST_INVALID':
      return 400;
    case 'TIMEOUT':
      return 504;
    case 'SERVICE_ERROR': {
      const code = error.errorCode ?? '';
      if (REQUEST_CODES.has(code)) return 400;
      if (BUSY_CODES.has(code)) return 503;
      return TIMEOUT_CODES.has(code) ? 504 : 502;
    }
    case 'HANDSHAKE_REJECTED':
    case 'AUTH_FAILED':
      return busyStatus(error.status) ? 503 : 502;
    case 'CONNECTION_LOST':
    case 'PROTOCOL_VIOLATION':
      return 502;
    case 'CLIENT_CLOSED':
      return 503;
    default:
      return 500;
  }
};

const publicMessage = (status: number): string => {
  switch (status) {
    case 500:
      return 'the server could not run the synthesis';
    case 503:
      return 'the speech service is busy or unavailable: try again later';
    case 504:
      return 'the speech service did not answer in time';
    default:
      return 'the speech service failed';
  }
};

/**
 * The body answering an error. A 400 carries the error's message, which names what to change in the
 * request; anything else a fixed sentence: the page needs the code and the trace id, not the server's
 * endpoint or credential troubles (the whole error is in the result, for the log).
 */
const errorBody = (error: unknown, status: number, traceId: string | undefined): SynthesisErrorBody => {
  const sis = isSisError(error) ? error : undefined;
  return {
    error: {
      code: sis?.code ?? 'INTERNAL_ERROR',
      message: status === 400 && sis !== undefined ? sis.message : publicMessage(status),
      retryable: sis?.retryable ?? false,
      traceId: sis?.traceId ?? traceId,
    },
  };
};

const ABORTED_BODY = (traceId: string | undefined): SynthesisErrorBody => ({
  error: { code: 'ABORTED', message: 'the server stopped the synthesis: try again later', retryable: true, traceId },
});

/**
 * The headers that describe an audio body. Raw PCM is little-endian, and the registered `audio/L16`
 * is big-endian (RFC 2586), while `audio/PCMA`/`audio/PCMU` are defined for RTP only (RFC 4856): raw
 * audio goes as `application/octet-stream`, described by `X-Audio-Format` (`pcm_s16le`, `alaw` or
 * `mulaw`, with `rate` and `channels`).
 */
const audioHeaders = (audioFormat: AudioFormat, sampleRate: number, wav: boolean): Record<string, string> => {
  if (audioFormat === 'mp3') return { 'Content-Type': 'audio/mpeg' };
  if (wav) return { 'Content-Type': 'audio/wav' };
  const name = { pcm: 'pcm_s16le', alaw: 'alaw', ulaw: 'mulaw' }[audioFormat];
  return { 'Content-Type': 'application/octet-stream', 'X-Audio-Format': `${name};rate=${sampleRate};channels=1` };
};

// ---- arguments ----------------------------------------------------------------------------------

const OPTION_KEYS = ['container', 'headers', 'signal'] as const;
const RESERVED_HEADERS = ['content-type', 'content-length', 'transfer-encoding', 'x-audio-format', 'x-trace-id'];
// RFC 9110 §5.6.2: a header name is a token.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const headerProblems = (headers: unknown): Problem[] => {
  if (headers === undefined) return [];
  if (!isObject(headers)) return objectProblems('options.headers', headers, "{ 'Access-Control-Allow-Origin': 'https://your.app' }");
  return Object.entries(headers).flatMap(([name, value]): Problem[] => {
    const path = `options.headers.${name}`;
    if (!TOKEN.test(name)) return [{ path, message: 'is not a valid header name' }];
    if (RESERVED_HEADERS.includes(name.toLowerCase())) return [{ path, message: 'is set by sendSynthesis from the audio format: leave it out' }];
    return headerValue()(path, value);
  });
};

const argumentProblems = (response: unknown, client: unknown, options: unknown): Problem[] => {
  const problems: Problem[] = [];
  if (!(response instanceof ServerResponse)) {
    problems.push({ path: 'response', message: "must be the http.ServerResponse of the request (Express's res is one)" });
  } else if (response.headersSent || response.writableEnded) {
    problems.push({ path: 'response', message: 'was already answered: call sendSynthesis before writing anything to it' });
  }
  if (!isObject(client) || typeof (client as { events$?: unknown }).events$ !== 'function') {
    problems.push({ path: 'client', message: 'must be a client with events$(request), e.g. createSisClient({ ... })' });
  }
  if (!isObject(options)) return [...problems, ...objectProblems('options', options, "{ container: 'wav' }")];
  const { container, headers, signal } = options as SendSynthesisOptions;
  return [
    ...problems,
    ...unknownKeyProblems(options, OPTION_KEYS, 'options.'),
    ...optional(oneOf(['wav', 'raw']))('options.container', container),
    ...headerProblems(headers),
    ...(signal === undefined || signal instanceof AbortSignal ? [] : [{ path: 'options.signal', message: 'must be an AbortSignal' }]),
  ];
};

// ---- the response ---------------------------------------------------------------------------------

/**
 * Sends one synthesis as the HTTP response: waits for the first audio to answer 200 with the content
 * type of the format (see {@link SendSynthesisOptions.container}), `Cache-Control: no-store` and the
 * service's trace id as `X-Trace-Id`, then streams the audio as it arrives. An error before the first
 * byte is answered with {@link httpStatusOf}'s status and a {@link SynthesisErrorBody}; after it, the
 * response is destroyed so that the client sees a truncated body (chunked encoding without its last
 * chunk; an HTTP/1.0 client, which gets no chunked encoding, cannot tell) rather than audio that
 * merely stops: no trailer, since browsers ignore trailers. The client going away stops the session
 * (its socket is closed).
 *
 * Backpressure: while the response's buffer is full the session is paused (the socket is not read, so
 * the service's sends back up in TCP); only the frames already received wait in memory. The
 * `firstAudio` and `idle` timeouts are suspended meanwhile, `total` is not.
 *
 * Resolves once the response is finished or closed, never rejecting for a synthesis failure: it was
 * answered, and the result says how.
 * @throws {SisConfigError} (a rejection, the response untouched) naming every bad argument.
 * @example
 * app.get('/speech', async (req, res) => {
 *   const result = await sendSynthesis(res, client, { text: String(req.query.text), sampleRate: 16000 });
 *   if (result.outcome === 'failed') log.warn(result.error);
 * });
 */
export const sendSynthesis = async (
  response: ServerResponse,
  client: Pick<SisClient, 'events$'>,
  request: SynthesisRequest,
  options: SendSynthesisOptions = {},
): Promise<SendSynthesisResult> => {
  const problems = argumentProblems(response, client, options);
  if (problems.length > 0) throw new SisConfigError(problems, 'sendSynthesis arguments');
  return new Promise((resolve) => new SynthesisResponse(response, client, request, options, resolve).begin());
};

type State = 'waiting' | 'streaming' | 'ending' | 'done';

/** One response: the listener of the session's events and of the response. */
class SynthesisResponse {
  private state: State = 'waiting';
  private status: number | undefined;
  private bytes = 0;
  private traceId: string | undefined;
  /** What the response's end means once it comes; a close with none set is the client leaving. */
  private ending: { outcome: SendSynthesisOutcome; error?: SisFailure | Error | undefined } | undefined;
  private readonly paused = new BehaviorSubject(false);
  private readonly upstream = new Subscription();

  constructor(
    private readonly response: ServerResponse,
    private readonly client: Pick<SisClient, 'events$'>,
    private readonly request: SynthesisRequest,
    private readonly options: SendSynthesisOptions,
    private readonly resolve: (result: SendSynthesisResult) => void,
  ) {}

  begin(): void {
    const { response, options } = this;
    response.on('finish', this.onFinish);
    response.on('close', this.onClose);
    response.on('drain', this.onDrain);
    if (response.destroyed) return this.settle('disconnected');
    if (options.signal?.aborted === true) return this.abort();
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    // add(): a session that fails at once has settled by the time subscribe returns; add then unsubscribes.
    this.upstream.add(
      this.client.events$(this.request, { paused$: this.paused.pipe(distinctUntilChanged()) }).subscribe({
        next: (event) => this.onEvent(event),
        error: (error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))),
        complete: () => this.end(),
      }),
    );
  }

  private onEvent(event: SisEvent): void {
    if (this.state === 'done' || this.state === 'ending') return;
    if (event.type === 'start') this.traceId = event.traceId;
    if (event.type !== 'audio') return;
    if (!this.writeHead()) return;
    const { data } = event.chunk;
    if (data.byteLength === 0) return;
    this.bytes += data.byteLength;
    if (!this.response.write(data)) this.paused.next(true);
  }

  /**
   * The 200 head, and the WAV header: on the first audio, or at an END without audio. False when the
   * request's format cannot be read (only a client that skips validation lets one through): answered with 500.
   */
  private writeHead(): boolean {
    if (this.state !== 'waiting') return true;
    let format: { audioFormat: AudioFormat; sampleRate: number };
    try {
      format = resolveAudioFormat(this.request);
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
    const { audioFormat, sampleRate } = format;
    const wav = (this.options.container ?? 'wav') === 'wav' && audioFormat !== 'mp3';
    this.state = 'streaming';
    this.status = 200;
    this.response.writeHead(200, {
      ...this.commonHeaders(),
      ...audioHeaders(audioFormat, sampleRate, wav),
    });
    if (wav) this.response.write(wavHeader({ audioFormat, sampleRate }));
    return true;
  }

  private commonHeaders(): Record<string, string> {
    return {
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...this.options.headers,
      ...(this.traceId === undefined ? {} : { 'X-Trace-Id': this.traceId }),
    };
  }

  private end(): void {
    if (this.state === 'done' || this.state === 'ending') return;
    if (!this.writeHead()) return;
    this.state = 'ending';
    this.ending = { outcome: 'complete' };
    this.response.end();
  }

  private fail(error: SisFailure | Error): void {
    if (this.state === 'done' || this.state === 'ending') return;
    this.ending = { outcome: 'failed', error };
    this.traceId ??= isSisError(error) ? error.traceId : undefined;
    const status = httpStatusOf(error);
    this.finishWith(() => this.answer(status, errorBody(error, status, this.traceId)));
  }

  private abort(): void {
    if (this.state === 'done' || this.state === 'ending') return;
    this.ending = { outcome: 'aborted' };
    this.finishWith(() => this.answer(503, ABORTED_BODY(this.traceId)));
  }

  /** Before the first byte, `answer`; after it, cut the body short. Either way the session stops now. */
  private finishWith(answer: () => void): void {
    const streaming = this.state === 'streaming';
    this.state = 'ending';
    this.upstream.unsubscribe();
    if (!streaming) return answer();
    // Node corks the connection for the rest of the tick: hand what was written to the socket first,
    // or the client would get nothing, not even the head.
    this.response.socket?.uncork();
    this.response.destroy();
  }

  private answer(status: number, body: SynthesisErrorBody): void {
    const json = JSON.stringify(body);
    this.status = status;
    this.response.writeHead(status, {
      ...this.commonHeaders(),
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(json)),
    });
    this.response.end(json);
  }

  private readonly onDrain = (): void => this.paused.next(false);
  private readonly onAbort = (): void => this.abort();
  private readonly onFinish = (): void => this.settle(this.ending?.outcome ?? 'complete');
  private readonly onClose = (): void => {
    // A close before `finish`: the client left, unless this side cut the response short on purpose.
    const cut = this.ending !== undefined && this.ending.outcome !== 'complete';
    this.settle(cut ? (this.ending?.outcome ?? 'failed') : 'disconnected');
  };

  private settle(outcome: SendSynthesisOutcome): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.teardown();
    const error = outcome === 'failed' ? this.ending?.error : undefined;
    this.resolve({
      status: this.status,
      bytes: this.bytes,
      outcome,
      ...(this.traceId === undefined ? {} : { traceId: this.traceId }),
      ...(error === undefined ? {} : { error }),
    });
  }

  /** The single place where resources are released: the session (and its socket), the flag, every listener. */
  private teardown(): void {
    this.upstream.unsubscribe();
    this.paused.complete();
    this.response.off('finish', this.onFinish);
    this.response.off('close', this.onClose);
    this.response.off('drain', this.onDrain);
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }
}
