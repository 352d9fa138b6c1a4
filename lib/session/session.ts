/**
 * The one state machine of a synthesis session, top to bottom:
 * request → validate → credentials → connect → START → decode frames → events → teardown.
 * A handshake rejected with 401 while a refreshable token was used goes back to credentials, once.
 *
 *   connecting ──open──▶ awaiting-start ──START──▶ streaming ──END/NORMAL──▶ (complete)
 *                                 │                   │
 *                                 └──────ERROR────────┴──▶ failing ──END / close / errorGrace──▶ (error)
 *
 * Every other way out (FATAL_ERROR, END/ERROR, close, transport failure, timeout, a frame the protocol
 * does not allow) errors at once. Whatever the way out, the teardown closes the socket and clears
 * every timer: it is the single place where resources are released.
 */
import { Observable, Subscription, isObservable, type Subscriber } from 'rxjs';
import { SisConfigError, SisConnectionError, type SisError, SisProtocolError, SisServiceError, SisTimeoutError } from '../errors.js';
import { decodeServerFrame } from '../protocol/decode.js';
import { resolveRequest, toStartCommand } from '../protocol/request.js';
import type { ErrorResponse, ResultResponse } from '../protocol/wire.js';
import type { TransportFailure, WebSocketLike } from '../transport/websocket-like.js';
import type { AudioChunk, SisEvent, SubtitleWord } from './events.js';
import type { SessionConfig } from './options.js';
import { SocketOpener, type OpeningSession } from './socket-opener.js';
import { SessionTimers, type TimedSession, type TimerName } from './timers.js';

type State =
  | { readonly name: 'connecting' }
  | { readonly name: 'awaiting-start' }
  | { readonly name: 'streaming'; readonly traceId: string }
  | { readonly name: 'failing'; readonly error: ErrorResponse; readonly traceId: string | undefined }
  | { readonly name: 'done' };

const CONNECTING: State = { name: 'connecting' };
const AWAITING_START: State = { name: 'awaiting-start' };
const DONE: State = { name: 'done' };

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

const subtitleWords = (frame: ResultResponse): SubtitleWord[] =>
  frame.result.map((item) => ({
    text: item.text,
    startTime: item.start_time,
    endTime: item.end_time,
    wordIndex: item.word_index,
    phonemes: item.phonemes?.map((p) => ({
      phoneme: p.phoneme,
      startTime: p.start_time,
      endTime: p.end_time,
      phonemeIndex: p.phoneme_index,
    })),
  }));

const serviceErrorFrom = (error: ErrorResponse, traceId: string | undefined, reason?: string): SisServiceError =>
  new SisServiceError({ traceId: error.trace_id ?? traceId, errorCode: error.error_code, errorMsg: error.error_msg, reason });

/** Per-call options of a session. */
export interface SessionCallOptions {
  /**
   * Flow control: while the last value was `true` the socket is not read, so the server's sends back
   * up through TCP instead of piling up in memory. The `firstAudio` and `idle` timeouts are suspended
   * meanwhile (`total` is not). Ignored by a {@link WebSocketLike} without `pause`/`resume`.
   */
  readonly paused$?: Observable<boolean> | undefined;
}

/**
 * A cold Observable of the typed lifecycle of one synthesis: each subscription validates the request,
 * opens its own socket, sends START once open, and reports `open`, `start`, `audio`, `subtitle`,
 * `unknown` and finally `end` (then completes), or errors with a {@link SisError}.
 */
export const events$ = (request: unknown, config: SessionConfig, call: SessionCallOptions = {}): Observable<SisEvent> =>
  new Observable<SisEvent>((subscriber) => run(request, config, call, { events: subscriber }));

/**
 * The same session's audio chunks alone, completing at END/NORMAL (`synthesize$`): what
 * `events$(…).pipe(audioOnly())` gives, without making the events only to drop them, and without the
 * operator's subscriber between the session and its consumer.
 */
export const chunks$ = (request: unknown, config: SessionConfig, call: SessionCallOptions = {}): Observable<AudioChunk> =>
  new Observable<AudioChunk>((subscriber) => run(request, config, call, { chunks: subscriber }));

/** Who a session reports to: a subscriber of every event, or one of the audio chunks alone. */
type Output = { readonly events: Subscriber<SisEvent>; readonly chunks?: undefined } | { readonly chunks: Subscriber<AudioChunk>; readonly events?: undefined };

/** One subscription: the request checked and its START made before anything is opened; returns the teardown. */
const run = (request: unknown, config: SessionConfig, call: SessionCallOptions, output: Output): (() => void) => {
  if (call.paused$ !== undefined && !isObservable(call.paused$)) {
    throw new SisConfigError([{ path: 'paused$', message: 'must be an Observable<boolean>' }], 'call options');
  }
  const startCommand = JSON.stringify(toStartCommand(resolveRequest(request, config.limits)));
  const session = new Session(output, config, startCommand);
  session.begin(call.paused$);
  return () => session.teardown();
};

/**
 * One subscription's session. A class rather than closures: thousands run at once, and its methods
 * are shared by all of them. It is the socket's listener, so the data path reads top to bottom:
 * begin → credentials → connect → open (START) → message → text/audio → end, error or teardown.
 */
class Session implements OpeningSession, TimedSession {
  private state: State = CONNECTING;
  private socketOpen = false;
  private socketClosed = false;
  private connectMs = 0;
  private firstAudioMs: number | undefined;
  private frames = 0;
  private chunks = 0;
  private bytes = 0;
  private readonly subscribedAt: number;
  private lastFrameAt: number;
  private paused = false;
  private openReported = false;
  private readonly resources = new Subscription();
  private readonly timers: SessionTimers;
  private readonly opener: SocketOpener;
  /** Told every lifecycle event (`events$`); undefined when only the audio is wanted. */
  private readonly events: Subscriber<SisEvent> | undefined;
  /** Told the audio chunks alone (`chunks$`); undefined for `events$`. */
  private readonly audio: Subscriber<AudioChunk> | undefined;

  constructor(
    output: Output,
    private readonly config: SessionConfig,
    /** The START command's JSON, kept until the START response (a transparent reconnect sends it again), then let go. */
    private startCommand: string | undefined,
  ) {
    this.events = output.events;
    this.audio = output.chunks;
    this.subscribedAt = config.scheduler.now();
    this.lastFrameAt = this.subscribedAt;
    this.opener = new SocketOpener(config, config.url, this, this.resources);
    this.timers = new SessionTimers(config.scheduler, config.timeouts, this);
  }

  /** Whichever subscriber there is: the one the session errors or completes. */
  private get subscriber(): Subscriber<SisEvent> | Subscriber<AudioChunk> | undefined {
    return this.events ?? this.audio;
  }

  private get socket(): WebSocketLike | undefined {
    return this.opener.socket;
  }

  isPaused(): boolean {
    return this.paused;
  }

  isOpen(): boolean {
    return this.socketOpen;
  }

  begin(paused$: Observable<boolean> | undefined): void {
    this.timers.start('total');
    this.timers.start('connect');
    if (paused$ !== undefined) {
      this.resources.add(paused$.subscribe({ next: (value) => this.setPaused(value), error: () => this.setPaused(false) }));
    }
    this.opener.open();
  }

  // ---- SocketListener: what the transport reports ------------------------------------------------

  onOpen(): void {
    if (this.state.name !== 'connecting' || this.socket === undefined || this.startCommand === undefined) return;
    this.socketOpen = true;
    this.connectMs = this.since();
    this.timers.stop('connect');
    this.state = AWAITING_START;
    try {
      this.socket.send(this.startCommand);
    } catch (cause) {
      return this.fail(new SisConnectionError('could not send the START command', { cause }));
    }
    if (!this.paused) this.timers.start('firstAudio');
    // After a transparent reconnect the session was open already: it says so once.
    if (this.openReported) return;
    this.openReported = true;
    this.events?.next({ type: 'open', url: this.config.url, connectMs: this.connectMs });
  }

  /**
   * A warm socket lost before the START response: the request never reached the service, so the
   * session connects once more, fresh, as if the warm socket had never been. True if it did.
   */
  private reconnected(): boolean {
    if (this.state.name !== 'awaiting-start' || !this.opener.canReconnect()) return false;
    this.state = CONNECTING;
    this.socketOpen = false;
    this.socketClosed = false;
    this.timers.stop('firstAudio');
    this.timers.start('connect');
    this.opener.reconnect();
    return true;
  }

  onMessage(data: string | Uint8Array): void {
    if (this.state.name === 'done') return;
    this.frames += 1;
    this.lastFrameAt = this.config.scheduler.now();
    if (typeof data === 'string') this.onText(data);
    else this.onAudio(data);
  }

  onActivity(): void {
    this.lastFrameAt = this.config.scheduler.now();
  }

  onClose(code: number, reason: string): void {
    this.socketClosed = true;
    if (this.reconnected()) return;
    const { state } = this;
    if (state.name === 'failing') return this.fail(serviceErrorFrom(state.error, state.traceId));
    if (state.name === 'done') return;
    this.fail(this.opener.closed(code, reason));
  }

  onError(failure: TransportFailure): void {
    if (failure.kind === 'network' && this.reconnected()) return;
    const { state } = this;
    // After an ERROR the session is lost already: whatever breaks next, the service's error says more.
    if (state.name === 'failing') return this.fail(serviceErrorFrom(state.error, state.traceId));
    const error = this.opener.failure(failure);
    if (error !== undefined) this.fail(error);
  }

  // ---- frames --------------------------------------------------------------------------------------

  private onAudio(data: Uint8Array): void {
    const { state } = this;
    if (state.name === 'failing') return; // the session is already lost: wait for its END
    if (state.name !== 'streaming') return this.violation('audio arrived before the START response');
    if (this.chunks === 0) {
      this.firstAudioMs = this.since();
      this.timers.stop('firstAudio');
      if (!this.paused) this.timers.start('idle');
    }
    const chunk = { data, index: this.chunks, offset: this.bytes, traceId: state.traceId };
    this.chunks += 1;
    this.bytes += data.byteLength;
    if (this.audio !== undefined) this.audio.next(chunk);
    else this.events?.next({ type: 'audio', chunk });
  }

  private onText(text: string): void {
    const decoded = decodeServerFrame(text);
    if (decoded._tag === 'Left') return this.violation(decoded.left);
    const frame = decoded.right;
    if (!frame.known) return this.events?.next({ type: 'unknown', respType: frame.respType, frame: frame.frame });
    const { response } = frame;
    const { state } = this;
    switch (response.resp_type) {
      case 'START':
        if (state.name !== 'awaiting-start') return this.violation('a second START response');
        this.state = { name: 'streaming', traceId: response.trace_id };
        this.startCommand = undefined;
        this.opener.started();
        return this.events?.next({ type: 'start', traceId: response.trace_id, elapsedMs: this.since() });
      case 'RESULT':
        if (state.name === 'failing') return;
        if (state.name !== 'streaming') return this.violation('a RESULT frame before the START response');
        return this.events?.next({ type: 'subtitle', traceId: state.traceId, words: subtitleWords(response) });
      case 'ERROR':
        if (state.name === 'failing') return;
        // END/ERROR may follow with the rest of the story; wait for it, briefly.
        this.state = { name: 'failing', error: response, traceId: response.trace_id ?? this.traceId() };
        this.timers.stop('firstAudio');
        this.timers.stop('idle');
        return this.timers.start('errorGrace');
      case 'FATAL_ERROR':
        return this.fail(
          new SisServiceError({
            traceId: response.trace_id ?? this.traceId(),
            errorCode: response.error_code,
            errorMsg: response.error_msg,
            fatal: true,
          }),
        );
      case 'END':
        if (state.name === 'failing') return this.fail(serviceErrorFrom(state.error, state.traceId, response.reason));
        if (response.reason === 'ERROR') return this.fail(new SisServiceError({ traceId: response.trace_id, reason: 'ERROR' }));
        if (state.name !== 'streaming') return this.violation('END before the START response');
        this.events?.next({
          type: 'end',
          traceId: response.trace_id,
          reason: 'NORMAL',
          chunks: this.chunks,
          bytes: this.bytes,
          timings: { connectMs: this.connectMs, firstAudioMs: this.firstAudioMs, totalMs: this.since() },
        });
        this.state = DONE;
        // The end event's consumer may have unsubscribed already: then there is no one left to complete.
        if (this.subscriber?.closed === false) this.subscriber.complete();
        return;
    }
  }

  // ---- flow control, timers, endings -------------------------------------------------------------

  private setPaused(value: boolean): void {
    if (value === this.paused) return;
    this.paused = value;
    if (value) {
      this.socket?.pause?.();
      this.timers.stop('firstAudio');
      this.timers.stop('idle');
      return;
    }
    this.socket?.resume?.();
    this.lastFrameAt = this.config.scheduler.now();
    const { name } = this.state;
    if (name === 'awaiting-start' || (name === 'streaming' && this.chunks === 0)) this.timers.start('firstAudio');
    else if (name === 'streaming') this.timers.start('idle');
  }

  /** Milliseconds of idle time left before the idle timeout fires. */
  idleLeft(): number {
    return this.config.timeouts.idle - (this.config.scheduler.now() - this.lastFrameAt);
  }

  timedOut(name: TimerName): void {
    const { state } = this;
    // errorGrace ends a failing session; `total` may too, and then the service's error is the one to report.
    if (state.name === 'failing') return this.fail(serviceErrorFrom(state.error, state.traceId));
    if (name !== 'errorGrace') this.fail(new SisTimeoutError(name, this.config.timeouts[name], this.traceId()));
  }

  private since(): number {
    return this.config.scheduler.now() - this.subscribedAt;
  }

  traceId(): string | undefined {
    const { state } = this;
    return state.name === 'streaming' || state.name === 'failing' ? state.traceId : undefined;
  }

  position(): string {
    const { name } = this.state;
    const where = name === 'connecting' || name === 'awaiting-start' ? 'before the START response' : `after START and ${plural(this.chunks, 'audio frame')}`;
    return `${where} (${plural(this.frames, 'frame')} received)`;
  }

  private violation(problem: string): void {
    const { state } = this;
    if (state.name === 'failing') return this.fail(serviceErrorFrom(state.error, state.traceId));
    this.fail(new SisProtocolError(problem, { at: this.position(), traceId: this.traceId() }));
  }

  fail(error: SisError): void {
    if (this.state.name === 'done') return;
    this.state = DONE;
    this.subscriber?.error(error);
  }

  /** The single place where resources are released, however the session ended. */
  teardown(): void {
    this.state = DONE;
    this.resources.unsubscribe();
    this.timers.clear();
    const { socket } = this;
    this.opener.release();
    if (socket === undefined || this.socketClosed) return;
    if (this.socketOpen) socket.close(1000);
    else socket.terminate();
  }
}
