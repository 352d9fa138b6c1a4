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
import { Observable, Subscription, isObservable, type SchedulerAction } from 'rxjs';
import { authHeaders$, tokenInvalidator } from '../auth/token.js';
import {
  SisAuthError,
  SisConfigError,
  SisConnectionError,
  SisError,
  SisProtocolError,
  SisServiceError,
  SisTimeoutError,
  type TimeoutPhase,
} from '../errors.js';
import { decodeServerFrame } from '../protocol/decode.js';
import { resolveRequest, toStartCommand } from '../protocol/request.js';
import type { ErrorResponse, ResultResponse } from '../protocol/wire.js';
import { handshakeErrorFrom } from '../transport/handshake.js';
import type { SocketListener, TransportFailure, WebSocketLike } from '../transport/websocket-like.js';
import type { SisEvent, SubtitleWord } from './events.js';
import type { SessionConfig } from './options.js';

type State =
  | { readonly name: 'connecting' }
  | { readonly name: 'awaiting-start' }
  | { readonly name: 'streaming'; readonly traceId: string }
  | { readonly name: 'failing'; readonly error: ErrorResponse; readonly traceId: string | undefined }
  | { readonly name: 'done' };

const DONE: State = { name: 'done' };

type TimerName = TimeoutPhase | 'errorGrace';

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
  readonly paused$?: Observable<boolean>;
}

/**
 * A cold Observable of the typed lifecycle of one synthesis: each subscription validates the request,
 * opens its own socket, sends START once open, and reports `open`, `start`, `audio`, `subtitle`,
 * `unknown` and finally `end` (then completes), or errors with a {@link SisError}.
 */
export const sessionEvents$ = (request: unknown, config: SessionConfig, call: SessionCallOptions = {}): Observable<SisEvent> =>
  new Observable<SisEvent>((subscriber) => {
    if (call.paused$ !== undefined && !isObservable(call.paused$)) {
      throw new SisConfigError([{ path: 'paused$', message: 'must be an Observable<boolean>' }], 'call options');
    }
    const startCommand = JSON.stringify(toStartCommand(resolveRequest(request, config.limits)));
    const { scheduler, timeouts } = config;
    const subscribedAt = scheduler.now();
    const since = (): number => scheduler.now() - subscribedAt;

    let state: State = { name: 'connecting' };
    let socket: WebSocketLike | undefined;
    let socketOpen = false;
    let socketClosed = false;
    let connectMs = 0;
    let firstAudioMs: number | undefined;
    let frames = 0;
    let chunks = 0;
    let bytes = 0;
    let lastFrameAt = subscribedAt;
    let paused = false;
    let credentialsRefreshed = false;
    const resources = new Subscription();
    const timers = new Map<TimerName, Subscription>();

    const traceIdNow = (): string | undefined =>
      state.name === 'streaming' || state.name === 'failing' ? state.traceId : undefined;
    const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
    const position = (): string =>
      `${state.name === 'connecting' || state.name === 'awaiting-start' ? 'before the START response' : `after START and ${plural(chunks, 'audio frame')}`} (${plural(frames, 'frame')} received)`;

    const fail = (error: SisError): void => {
      if (state.name === 'done') return;
      state = DONE;
      subscriber.error(error);
    };
    const violation = (problem: string): void => fail(new SisProtocolError(problem, { at: position(), traceId: traceIdNow() }));

    const startTimer = (name: TimerName, ms: number, fire: () => void): void => {
      if (ms !== Infinity) timers.set(name, scheduler.schedule(fire, ms));
    };
    const stopTimer = (name: TimerName): void => {
      timers.get(name)?.unsubscribe();
      timers.delete(name);
    };
    const timeout = (phase: TimeoutPhase) => (): void => fail(new SisTimeoutError(phase, timeouts[phase], traceIdNow()));

    // Re-armed lazily: a frame only records its time, the timer checks the gap when it fires.
    const startIdleTimer = (): void => {
      if (timeouts.idle === Infinity) return;
      timers.set(
        'idle',
        scheduler.schedule(function (this: SchedulerAction<unknown>) {
          const quiet = scheduler.now() - lastFrameAt;
          if (quiet >= timeouts.idle) timeout('idle')();
          else this.schedule(undefined, timeouts.idle - quiet);
        }, timeouts.idle),
      );
    };

    const failTransport = (failure: TransportFailure): void => {
      switch (failure.kind) {
        case 'handshake-rejected': {
          // A cached token went stale (expired, revoked): drop it and try once more with a fresh one.
          const invalidate = failure.status === 401 && !credentialsRefreshed ? tokenInvalidator(config.auth) : undefined;
          if (invalidate === undefined) return fail(handshakeErrorFrom(failure.status, failure.body));
          credentialsRefreshed = true;
          socket?.terminate();
          socket = undefined;
          invalidate();
          return requestCredentials();
        }
        case 'frame-too-large':
          return violation(`a frame larger than maxPayload (${failure.limit} bytes)`);
        case 'network':
          return fail(
            new SisConnectionError(`connection failed ${socketOpen ? position() : 'while connecting'}: ${failure.message}`, {
              traceId: traceIdNow(),
              cause: failure.cause,
            }),
          );
      }
    };

    const onAudio = (data: Uint8Array): void => {
      if (state.name === 'failing') return; // the session is already lost: wait for its END
      if (state.name !== 'streaming') return violation('audio arrived before the START response');
      if (chunks === 0) {
        firstAudioMs = since();
        stopTimer('firstAudio');
        if (!paused) startIdleTimer();
      }
      const chunk = { data, index: chunks, offset: bytes, traceId: state.traceId };
      chunks += 1;
      bytes += data.byteLength;
      subscriber.next({ type: 'audio', chunk });
    };

    const onText = (text: string): void => {
      const decoded = decodeServerFrame(text);
      if (decoded._tag === 'Left') return violation(decoded.left);
      const frame = decoded.right;
      if (!frame.known) return subscriber.next({ type: 'unknown', respType: frame.respType, frame: frame.frame });
      const response = frame.response;
      switch (response.resp_type) {
        case 'START':
          if (state.name !== 'awaiting-start') return violation('a second START response');
          state = { name: 'streaming', traceId: response.trace_id };
          return subscriber.next({ type: 'start', traceId: response.trace_id, elapsedMs: since() });
        case 'RESULT':
          if (state.name === 'failing') return;
          if (state.name !== 'streaming') return violation('a RESULT frame before the START response');
          return subscriber.next({ type: 'subtitle', traceId: state.traceId, words: subtitleWords(response) });
        case 'ERROR':
          if (state.name === 'failing') return;
          // END/ERROR may follow with the rest of the story; wait for it, briefly.
          state = { name: 'failing', error: response, traceId: response.trace_id ?? traceIdNow() };
          stopTimer('firstAudio');
          stopTimer('idle');
          return startTimer('errorGrace', timeouts.errorGrace, () => {
            if (state.name === 'failing') fail(serviceErrorFrom(state.error, state.traceId));
          });
        case 'FATAL_ERROR':
          return fail(
            new SisServiceError({
              traceId: response.trace_id ?? traceIdNow(),
              errorCode: response.error_code,
              errorMsg: response.error_msg,
              fatal: true,
            }),
          );
        case 'END':
          if (state.name === 'failing') return fail(serviceErrorFrom(state.error, state.traceId, response.reason));
          if (response.reason === 'ERROR') return fail(new SisServiceError({ traceId: response.trace_id, reason: 'ERROR' }));
          if (state.name !== 'streaming') return violation('END before the START response');
          subscriber.next({
            type: 'end',
            traceId: response.trace_id,
            reason: 'NORMAL',
            chunks,
            bytes,
            timings: { connectMs, firstAudioMs, totalMs: since() },
          });
          state = DONE;
          // The end event's consumer may have unsubscribed already: then there is no one left to complete.
          if (!subscriber.closed) subscriber.complete();
          return;
      }
    };

    const listener: SocketListener = {
      open: () => {
        if (state.name !== 'connecting' || socket === undefined) return;
        socketOpen = true;
        connectMs = since();
        stopTimer('connect');
        state = { name: 'awaiting-start' };
        try {
          socket.send(startCommand);
        } catch (cause) {
          return fail(new SisConnectionError('could not send the START command', { cause }));
        }
        if (!paused) startTimer('firstAudio', timeouts.firstAudio, timeout('firstAudio'));
        subscriber.next({ type: 'open', url: config.url, connectMs });
      },
      message: (data) => {
        if (state.name === 'done') return;
        frames += 1;
        lastFrameAt = scheduler.now();
        if (typeof data === 'string') onText(data);
        else onAudio(data);
      },
      activity: () => {
        lastFrameAt = scheduler.now();
      },
      close: (code, reason) => {
        socketClosed = true;
        if (state.name === 'failing') return fail(serviceErrorFrom(state.error, state.traceId));
        if (state.name === 'done') return;
        const why = `code ${code}${reason === '' ? '' : `: ${reason}`}`;
        fail(
          new SisConnectionError(`connection closed ${socketOpen ? position() : 'while connecting'} (${why})`, {
            closeCode: code,
            closeReason: reason,
            traceId: traceIdNow(),
          }),
        );
      },
      error: (failure) => {
        if (state.name === 'failing' && failure.kind === 'network') return fail(serviceErrorFrom(state.error, state.traceId));
        failTransport(failure);
      },
    };

    const setPaused = (value: boolean): void => {
      if (value === paused) return;
      paused = value;
      if (paused) {
        socket?.pause?.();
        stopTimer('firstAudio');
        stopTimer('idle');
        return;
      }
      socket?.resume?.();
      lastFrameAt = scheduler.now();
      if (state.name === 'awaiting-start' || (state.name === 'streaming' && chunks === 0)) {
        startTimer('firstAudio', timeouts.firstAudio, timeout('firstAudio'));
      } else if (state.name === 'streaming') startIdleTimer();
    };

    const connect = (authHeaders: Record<string, string>): void => {
      try {
        socket = config.webSocketFactory(
          {
            url: config.url,
            headers: { ...config.extraHeaders, ...authHeaders },
            maxPayload: config.maxPayload,
            // A backstop only: the session's connect timer fires first.
            handshakeTimeoutMs: timeouts.connect === Infinity ? 0 : timeouts.connect + 1_000,
            rejectUnauthorized: config.rejectUnauthorized,
          },
          listener,
        );
        if (paused) socket.pause?.();
      } catch (cause) {
        fail(new SisConnectionError('could not open a socket (the webSocketFactory threw)', { cause }));
      }
    };

    const requestCredentials = (): void => {
      resources.add(
        authHeaders$(config.auth, config.url).subscribe({
          next: connect,
          error: (error: unknown) =>
            fail(error instanceof SisError ? error : new SisAuthError('could not get credentials (see error.cause)', { cause: error })),
        }),
      );
    };

    startTimer('total', timeouts.total, timeout('total'));
    startTimer('connect', timeouts.connect, timeout('connect'));
    if (call.paused$ !== undefined) resources.add(call.paused$.subscribe({ next: setPaused, error: () => setPaused(false) }));
    requestCredentials();

    return () => {
      state = DONE;
      resources.unsubscribe();
      for (const timer of timers.values()) timer.unsubscribe();
      timers.clear();
      if (socket === undefined || socketClosed) return;
      if (socketOpen) socket.close(1000);
      else socket.terminate();
    };
  });
