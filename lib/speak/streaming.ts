/**
 * `speak$` with `api: 'streaming'`: the streaming synthesis API (protocol.md §2), every piece of the
 * text on one socket.
 *
 *   connecting ──open: START, queued pieces as MSG──▶ awaiting-start ──START──▶ streaming ──END/NORMAL──▶ (complete)
 *
 * The text is read from the subscription on, so the LLM writes while the socket opens; a piece is
 * sent as a MSG as soon as the socket is open, END when `text$` completes. ERROR (the service drops
 * the text not yet synthesised), FATAL_ERROR (e.g. SIS.0416, the service tired of waiting for text),
 * END/ERROR, a close, a timeout or a frame the protocol does not allow end the speech with an error.
 * Silence is only an error once END is sent: before, the service may simply be waiting for the LLM.
 * The teardown closes the socket, unsubscribes `text$` and clears every timer.
 */
import { Observable, Subscription, type Subscriber } from 'rxjs';
import { SisConnectionError, SisError, SisProtocolError, SisRequestError, SisServiceError, SisTimeoutError } from '../errors.js';
import { decodeServerFrame } from '../protocol/decode.js';
import { isRight } from '../protocol/either.js';
import { codePointLength } from '../protocol/rules.js';
import { EventResponse, STREAMING_TOTAL_LIMIT, type StreamingStartCommand } from '../protocol/streaming.js';
import type { SessionConfig } from '../session/options.js';
import { SocketOpener, type OpeningSession } from '../session/socket-opener.js';
import { SessionTimers, type TimedSession, type TimerName } from '../session/timers.js';
import type { TransportFailure, WebSocketLike } from '../transport/websocket-like.js';
import type { SentenceRef, SpeechEvent } from './events.js';
import type { SpeakPlan } from './options.js';
import { textInput$ } from './text-input.js';

type State =
  | { readonly name: 'connecting' }
  | { readonly name: 'awaiting-start' }
  | { readonly name: 'streaming'; readonly traceId: string }
  | { readonly name: 'done' };

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** A cold Observable of one streaming speech's events; see the module comment. */
export const streamingSpeech$ = (text$: Observable<unknown>, plan: SpeakPlan & { api: 'streaming' }, config: SessionConfig): Observable<SpeechEvent> =>
  new Observable<SpeechEvent>((subscriber) => {
    const speech = new StreamingSpeech(subscriber, plan, config);
    speech.begin(text$);
    return () => speech.teardown();
  });

/** One subscription's streaming session; the socket's listener, so the data path reads top to bottom. */
class StreamingSpeech implements OpeningSession, TimedSession {
  private state: State = { name: 'connecting' };
  private socketOpen = false;
  private socketClosed = false;
  private paused = false;
  /** Pieces assembled before the socket was open, sent as MSG once it is. */
  private readonly queued: SentenceRef[] = [];
  /** Pieces sent before the START response: sent again if a warm socket is lost before it (see `reconnected`). */
  private readonly unconfirmed: SentenceRef[] = [];
  private lastSentReported = -1;
  private pieces = 0;
  private sentChars = 0;
  private inputDone = false;
  private endSent = false;
  private frames = 0;
  private chunks = 0;
  private bytes = 0;
  private firstAudioMs: number | undefined;
  private readonly subscribedAt: number;
  private lastFrameAt: number;
  private readonly resources = new Subscription();
  private readonly timers: SessionTimers;
  private readonly opener: SocketOpener;

  constructor(
    private readonly subscriber: Subscriber<SpeechEvent>,
    private readonly plan: SpeakPlan & { api: 'streaming' },
    private readonly config: SessionConfig,
  ) {
    this.subscribedAt = config.scheduler.now();
    this.lastFrameAt = this.subscribedAt;
    this.opener = new SocketOpener(config, config.streamingUrl, this, this.resources);
    this.timers = new SessionTimers(config.scheduler, config.timeouts, this);
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

  begin(text$: Observable<unknown>): void {
    this.timers.start('total');
    this.timers.start('connect');
    const { paused$ } = this.plan;
    if (paused$ !== undefined) this.resources.add(paused$.subscribe({ next: (value) => this.setPaused(value), error: () => this.setPaused(false) }));
    this.resources.add(
      textInput$(text$, this.plan, this.config.scheduler).subscribe({
        next: (text) => this.onPiece(text),
        error: (error: unknown) => this.fail(error instanceof SisError ? error : new SisRequestError([{ path: 'text$', message: String(error) }])),
        complete: () => this.onInputDone(),
      }),
    );
    if (this.state.name !== 'done') this.opener.open();
  }

  // ---- the text side -------------------------------------------------------------------------------

  private onPiece(text: string): void {
    const sentence: SentenceRef = { index: this.pieces, text };
    this.pieces += 1;
    this.subscriber.next({ type: 'sentence', sentence });
    if (this.socketOpen) this.send(sentence);
    else this.queued.push(sentence);
  }

  private onInputDone(): void {
    this.inputDone = true;
    // Nothing to say: no session is needed (the teardown closes a socket already opened).
    if (this.pieces === 0) return this.complete(undefined);
    if (this.socketOpen) this.sendEnd();
  }

  private send(sentence: SentenceRef): void {
    if (this.state.name === 'done') return;
    const length = codePointLength(sentence.text);
    if (this.sentChars + length > STREAMING_TOTAL_LIMIT) {
      // The service would ignore the rest with an EVENT, and the listener would never hear it: refuse instead.
      return this.fail(
        new SisRequestError([
          {
            path: 'text$',
            message: `passes the streaming API's ${STREAMING_TOTAL_LIMIT} characters per session at piece ${sentence.index} (${this.sentChars} sent, ${length} more): use api 'realtime', or speak the text in several speeches`,
          },
        ]),
      );
    }
    if (!this.sendCommand({ command: 'MSG', text: sentence.text })) return;
    this.sentChars += length;
    if (this.state.name === 'awaiting-start') this.unconfirmed.push(sentence);
    // A piece sent again after a transparent reconnect was reported the first time.
    if (sentence.index <= this.lastSentReported) return;
    this.lastSentReported = sentence.index;
    this.subscriber.next({ type: 'sent', sentence, elapsedMs: this.since() });
  }

  private sendEnd(): void {
    if (this.endSent || !this.sendCommand({ command: 'END' })) return;
    this.endSent = true;
    // From now on the service owes us the rest of the audio: silence becomes an error.
    if (!this.paused) this.armAudioTimer();
  }

  private sendCommand(command: StreamingStartCommand | { command: 'MSG'; text: string } | { command: 'END' }): boolean {
    // A failure while the queued pieces went out (the total refused) has already closed the socket.
    if (this.state.name === 'done') return false;
    try {
      this.socket?.send(JSON.stringify(command));
      return true;
    } catch (cause) {
      this.fail(new SisConnectionError(`could not send the ${command.command} command`, { cause, traceId: this.traceId() }));
      return false;
    }
  }

  // ---- the socket side -----------------------------------------------------------------------------

  onOpen(): void {
    if (this.state.name !== 'connecting' || this.socket === undefined) return;
    this.socketOpen = true;
    this.timers.stop('connect');
    this.state = { name: 'awaiting-start' };
    if (!this.sendCommand({ command: 'START', text_pieces: 'MULTI', config: this.plan.config })) return;
    // The START response should come at once; the first audio's limit bounds the wait for it.
    if (!this.paused) this.timers.start('firstAudio');
    for (const sentence of this.queued.splice(0)) this.send(sentence);
    if (this.inputDone) this.sendEnd();
  }

  /**
   * A warm socket lost before the START response: the service has not taken the session, so it
   * starts again on a fresh socket, the pieces sent meanwhile sent again. True if it did.
   */
  private reconnected(): boolean {
    if (this.state.name !== 'awaiting-start' || !this.opener.canReconnect()) return false;
    this.state = { name: 'connecting' };
    this.socketOpen = false;
    this.socketClosed = false;
    this.endSent = false;
    for (const sentence of this.unconfirmed) this.sentChars -= codePointLength(sentence.text);
    this.queued.unshift(...this.unconfirmed.splice(0));
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
    if (this.state.name === 'done') return;
    this.fail(this.opener.closed(code, reason));
  }

  onError(failure: TransportFailure): void {
    if (failure.kind === 'network' && this.reconnected()) return;
    const error = this.opener.failure(failure);
    if (error !== undefined) this.fail(error);
  }

  private onAudio(data: Uint8Array): void {
    const { state } = this;
    if (state.name !== 'streaming') return this.violation('audio arrived before the START response');
    if (this.chunks === 0) this.firstAudioMs = this.since();
    if (this.endSent && !this.paused) {
      this.timers.stop('firstAudio');
      if (!this.timers.has('idle')) this.timers.start('idle');
    }
    const chunk = { data, index: this.chunks, offset: this.bytes, traceId: state.traceId, sentence: undefined };
    this.chunks += 1;
    this.bytes += data.byteLength;
    this.subscriber.next({ type: 'audio', chunk });
  }

  private onText(text: string): void {
    const decoded = decodeServerFrame(text);
    if (decoded._tag === 'Left') return this.violation(decoded.left);
    const frame = decoded.right;
    if (!frame.known) {
      // EVENT is the streaming API's own frame: the real-time decoder leaves it as unknown, already parsed.
      const event = frame.respType === 'EVENT' ? EventResponse.decode(frame.frame) : undefined;
      if (event !== undefined && isRight(event)) return this.onEvent(event.right.event, event.right.trace_id);
      return this.subscriber.next({ type: 'unknown', respType: frame.respType, frame: frame.frame });
    }
    const { response } = frame;
    const { state } = this;
    switch (response.resp_type) {
      case 'START':
        if (state.name !== 'awaiting-start') return this.violation('a second START response');
        this.state = { name: 'streaming', traceId: response.trace_id };
        this.opener.started();
        this.unconfirmed.length = 0;
        this.timers.stop('firstAudio');
        if (this.endSent && !this.paused) this.armAudioTimer();
        return this.subscriber.next({ type: 'start', traceId: response.trace_id, sentence: undefined, elapsedMs: this.since() });
      case 'RESULT':
        // The streaming API has no subtitles: a RESULT is reported as it is, and the speech goes on.
        return this.subscriber.next({ type: 'unknown', respType: 'RESULT', frame: response as unknown as Record<string, unknown> });
      case 'ERROR':
        // The service dropped the text not yet synthesised and reset the session: what was asked will not all be heard.
        return this.fail(new SisServiceError({ traceId: response.trace_id ?? this.traceId(), errorCode: response.error_code, errorMsg: response.error_msg }));
      case 'FATAL_ERROR':
        return this.fail(
          new SisServiceError({ traceId: response.trace_id ?? this.traceId(), errorCode: response.error_code, errorMsg: response.error_msg, fatal: true }),
        );
      case 'END':
        if (response.reason === 'ERROR') return this.fail(new SisServiceError({ traceId: response.trace_id ?? this.traceId(), reason: 'ERROR' }));
        if (state.name !== 'streaming') return this.violation('END before the START response');
        if (!this.endSent) return this.violation('END/NORMAL before the client sent END: text may be left unspoken');
        return this.complete(response.trace_id ?? state.traceId);
    }
  }

  private onEvent(event: string, traceId: string | undefined): void {
    if (event === 'EXCEEDED_TOTAL_TEXT_LENGTH') {
      return this.fail(
        new SisServiceError({
          traceId: traceId ?? this.traceId(),
          errorCode: event,
          errorMsg: `the service ignored text past its total per session (${STREAMING_TOTAL_LIMIT.toLocaleString('en-US')} characters documented)`,
        }),
      );
    }
    this.subscriber.next({ type: 'notice', event, traceId: traceId ?? this.traceId() });
  }

  private complete(traceId: string | undefined): void {
    this.subscriber.next({
      type: 'end',
      api: 'streaming',
      sentences: this.pieces,
      chunks: this.chunks,
      bytes: this.bytes,
      traceIds: traceId === undefined ? [] : [traceId],
      timings: { firstAudioMs: this.firstAudioMs, totalMs: this.since() },
    });
    this.state = { name: 'done' };
    if (!this.subscriber.closed) this.subscriber.complete();
  }

  // ---- flow control, timers, endings -------------------------------------------------------------

  /** Once END is sent: the first audio's limit until audio flows, then the idle limit between frames. */
  private armAudioTimer(): void {
    if (this.state.name === 'awaiting-start') return this.timers.start('firstAudio');
    if (this.state.name !== 'streaming') return;
    if (this.chunks === 0) this.timers.start('firstAudio');
    else this.timers.start('idle');
  }

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
    if (this.state.name === 'awaiting-start' || this.endSent) this.armAudioTimer();
  }

  idleLeft(): number {
    return this.config.timeouts.idle - (this.config.scheduler.now() - this.lastFrameAt);
  }

  timedOut(name: TimerName): void {
    // errorGrace belongs to the real-time session: this speech never starts it.
    if (name === 'errorGrace') return;
    this.fail(new SisTimeoutError(name, this.config.timeouts[name], this.traceId()));
  }

  private since(): number {
    return this.config.scheduler.now() - this.subscribedAt;
  }

  traceId(): string | undefined {
    return this.state.name === 'streaming' ? this.state.traceId : undefined;
  }

  position(): string {
    const { name } = this.state;
    const where = name === 'connecting' || name === 'awaiting-start' ? 'before the START response' : `after START and ${plural(this.chunks, 'audio frame')}`;
    return `${where}, ${plural(this.pieces, 'piece')} of text, ${this.endSent ? 'END sent' : 'text still coming'} (${plural(this.frames, 'frame')} received)`;
  }

  private violation(problem: string): void {
    this.fail(new SisProtocolError(problem, { at: this.position(), traceId: this.traceId() }));
  }

  fail(error: SisError): void {
    if (this.state.name === 'done') return;
    this.state = { name: 'done' };
    this.subscriber.error(error);
  }

  /** The single place where resources are released, however the speech ended. */
  teardown(): void {
    this.state = { name: 'done' };
    this.resources.unsubscribe();
    this.timers.clear();
    this.queued.length = 0;
    const { socket } = this;
    this.opener.release();
    if (socket === undefined || this.socketClosed) return;
    if (this.socketOpen) socket.close(1000);
    else socket.terminate();
  }
}
