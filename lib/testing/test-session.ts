/**
 * One socket of the testing client, seen from the test: what the client asked for, and the service's
 * side of the conversation, answered by marbles ({@link TestSession.respond}) or by imperative helpers.
 *
 *   connecting ──open (scheduled, or the first answer)──▶ unanswered ──first frame──▶ answering ──END / FATAL_ERROR / ERROR / drop──▶ ended
 *        │                                                    │                           │
 *        └── reject() ──▶ ended                               └──── the client closes ────┴──▶ cancelled        (ended, then closed: closed)
 *
 * It is the socket the real session state machine talks to: it only delivers frames, the client does
 * everything else (validation, timeouts, errors, teardown). Like a real socket it can be paused by the
 * client (flow control, `paused$`): the frames the service sends meanwhile wait, and come in order after
 * the client resumes it.
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { StartCommand } from '../protocol/wire.js';
import type { StreamingStartCommand } from '../protocol/streaming.js';
import type { ConnectRequest, SocketListener, WebSocketLike } from '../transport/websocket-like.js';
import { close, deliverAction, endFrame, errorFrame, fail, fatalFrame, open, startFrame, text, TRACE, type ServerAction } from './fake-sockets.js';

/** What the service receives first: the real-time START command, or the streaming API's. */
export type TestRequest = StartCommand | StreamingStartCommand;

/**
 * Where a session is: `connecting` (handshake pending), `unanswered` (open, the service said nothing yet),
 * `answering`, `ended` (the service ended it: END, FATAL_ERROR, ERROR, a drop or a rejected handshake),
 * `closed` (the client closed it after it ended) or `cancelled` (the client closed it before it ended).
 */
export type TestSessionState = 'connecting' | 'unanswered' | 'answering' | 'ended' | 'closed' | 'cancelled';

/**
 * A value of a {@link TestSession.respond} letter: a frame object (sent as JSON text), a string (sent as
 * text, as it is), a `Uint8Array` (a binary frame: audio) or a {@link ServerAction} such as `close(1011)`.
 */
export type ResponseValue = ServerAction | Uint8Array | string | { readonly [key: string]: unknown };

/** The bytes of the audio frame of letter `a` and of `audio(count)`. */
export const AUDIO_FRAME: readonly number[] = [1, 2, 3, 4];

/**
 * The default letters of {@link TestSession.respond}, every frame with this trace id (a session's own,
 * {@link TestSession.traceId}): `s` START response, `a` an audio frame of 4 bytes, `r` a RESULT (one
 * subtitle word, `"word"`), `e` END/NORMAL, `x` END/ERROR, `E` an ERROR frame (`SIS.0401`) alone, as on
 * the wire, `F` FATAL_ERROR (`SIS.0304`). Besides, `#` drops the connection (close 1006) and `|` closes it
 * normally (1000).
 *
 * The service fails a session with ERROR then END/ERROR: write `Ex` (or `(Ex)`, one frame), and the
 * client fails at once. `E` alone fails only after `timeouts.errorGrace` (1 s), the client's wait for
 * the END that should follow.
 * @example defaultResponses('trace-0').s // the START response with trace id 'trace-0'
 */
export const defaultResponses = (traceId: string): Readonly<Record<string, ResponseValue>> =>
  Object.freeze({
    s: startFrame(traceId),
    a: { kind: 'binary', data: Uint8Array.from(AUDIO_FRAME) },
    r: text({ resp_type: 'RESULT', trace_id: traceId, result: [{ text: 'word', start_time: 0, end_time: 100, word_index: 0 }] }),
    e: endFrame('NORMAL', traceId),
    x: endFrame('ERROR', traceId),
    E: errorFrame('SIS.0401', 'synthesis error', traceId),
    F: fatalFrame('SIS.0304', 'wait voice timeout', traceId),
  });

/**
 * The default letters with the trace id {@link TRACE}: {@link defaultResponses}`(TRACE)`. A session's
 * `respond` uses its own trace id instead.
 */
export const DEFAULT_RESPONSES: Readonly<Record<string, ResponseValue>> = defaultResponses(TRACE);

/** One pause of a session's socket by the client, in the scheduler's time (the virtual frame inside `TestScheduler.run`). */
export interface TestPause {
  /** When the client paused the socket. */
  readonly pausedAt: number;
  /** When it resumed it, or undefined while it is paused (or if it closed the socket paused). */
  readonly resumedAt: number | undefined;
}

/** One session of the testing client (one socket): what the client sent, and the service's answers. */
export interface TestSession {
  /** 0-based, in the order the client opened its sockets. */
  readonly index: number;
  /**
   * The trace id of every frame the kit makes up for this session (the letters of {@link respond} and
   * every helper), so that an error reports it: `trace-<index>` by default. Set it before answering to
   * choose another one; `start(traceId)` sets it too.
   * @example session.traceId = 'the-trace'; session.respond('-s-Ex') // a SisServiceError with traceId 'the-trace'
   */
  traceId: string;
  /** Which API the socket is for, from its URL: `speak$` with `api: 'streaming'` uses the streaming API. */
  readonly api: 'realtime' | 'streaming';
  /** The handshake as the client asked for it: URL and headers (a fake token). */
  readonly handshake: ConnectRequest;
  /**
   * Exactly what the service received first: the resolved START command, as JSON, e.g.
   * `{ command: 'START', text, config: { audio_format, sample_rate: '8000', property, speed, pitch, volume } }`.
   * @throws {Error} if the client has not sent START yet (the handshake is pending, or a socket opened ahead waits for its sentence).
   */
  readonly request: TestRequest;
  /** Every command the client sent, as JSON: START, and in streaming mode MSG… and END. */
  readonly commands: readonly unknown[];
  /** The text pieces: the MSG texts so far (streaming), or the START text alone (real-time). */
  readonly texts: readonly string[];
  /** {@link texts} joined: the whole text sent so far. */
  readonly text: string;
  /** The voice asked for (`property` in real time, `voice_name` in streaming), if START was sent. */
  readonly voice: string | undefined;
  /** Where the session is; see {@link TestSessionState}. */
  readonly state: TestSessionState;
  /** The client closed (or aborted) the socket. */
  readonly closed: boolean;
  /** The client closed the socket before the session ended: it unsubscribed, timed out or gave up. */
  readonly cancelled: boolean;
  /** The close code the client sent (1000), or undefined if it did not close, or aborted a handshake. */
  readonly closeCode: number | undefined;
  /**
   * When the client asked for the socket: `scheduler.now()`, the virtual frame inside `TestScheduler.run`
   * (`Date.now()` on the default scheduler). The handshake completes in the same frame unless the test holds it.
   */
  readonly openedAt: number;
  /** When the service ended the session (END, FATAL_ERROR, ERROR, a drop or a rejection), or undefined. */
  readonly endedAt: number | undefined;
  /**
   * When the client closed (or aborted) the socket, or undefined while it is open: with {@link cancelled},
   * when the client gave up (unsubscribed, timed out).
   * @example expect(session).to.include({ cancelled: true, closedAt: 500 }) // the client's firstAudio timeout of 500 ms
   */
  readonly closedAt: number | undefined;
  /**
   * The client has paused the socket (flow control: `paused$` emitted `true`). While it is paused, the
   * frames the service sends — due by {@link respond}, or sent by a helper — wait; once the client
   * resumes it they come, in order, on the scheduler (in the same virtual frame). The handshake
   * (open, `reject`) is never held.
   */
  readonly paused: boolean;
  /** Every pause of the socket by the client, in order (see {@link TestPause}). */
  readonly pauses: readonly TestPause[];
  /**
   * Answers by marbles, from now on the client's scheduler (one frame = 1 ms of virtual time inside
   * `TestScheduler.run`): each letter is one frame of {@link defaultResponses} or of `values`, `#` drops
   * the connection (1006), `|` closes it (1000). The default letters carry the session's {@link traceId}
   * as it is when `respond` is called (`E` is an ERROR frame alone: write `Ex` for the service's failure). Frames due after the client closed are not delivered; frames due
   * while it is paused wait for it to resume (see {@link paused}).
   * @throws {Error} on a letter with no value, or if the session is over.
   * @example session.respond('-s-a-a-e') // START, two audio frames, END/NORMAL
   * @example session.respond('-s-Ex') // the service fails it: ERROR then END/ERROR, a SisServiceError at 4
   */
  respond(marbles: string, values?: Readonly<Record<string, ResponseValue>>): this;
  /**
   * Sends the START response now (completing the handshake first if it is still pending), with this
   * trace id, which becomes the session's {@link traceId} (default: the session's trace id as it is).
   */
  start(traceId?: string): this;
  /** Sends one audio frame of these bytes, or `count` frames of 4 bytes (default 1). */
  audio(bytesOrCount?: Uint8Array | number): this;
  /** Sends a RESULT frame with these words, 100 ms each. */
  subtitle(words: string | readonly string[]): this;
  /** Sends END/NORMAL: the session completes. */
  end(): this;
  /** Sends ERROR with this code, then END/ERROR, as the service does: the client fails with a `SisServiceError`. */
  fail(errorCode: string, message?: string): this;
  /** Sends FATAL_ERROR (default `SIS.0304`): the client fails at once with a fatal `SisServiceError`. */
  fatal(errorCode?: string, message?: string): this;
  /** The connection drops: the socket closes with `code` (default 1006), a `SisConnectionError`. */
  drop(code?: number): this;
  /** Sends a streaming EVENT notice (e.g. `VCS_END`). */
  event(name: string): this;
  /**
   * Sends any frame or action (see {@link ResponseValue}) now. Like every helper above, it delivers
   * synchronously, unless the client has paused the socket: then the frames wait (see {@link paused}).
   */
  send(value: ResponseValue): this;
  /**
   * Rejects the handshake with this HTTP status (a `SisHandshakeError`, or `SisAuthError` for 401/403).
   * Only while `connecting`: take the session with `expectOne()` (no argument) right after subscribing.
   * @throws {Error} if the handshake is over.
   */
  reject(status: number, body?: string): this;
}

const ENDING_RESPONSES = new Set(['END', 'FATAL_ERROR', 'ERROR']);

const respType = (frame: string): unknown => {
  try {
    return (JSON.parse(frame) as { resp_type?: unknown } | null)?.resp_type;
  } catch {
    return undefined;
  }
};

const ACTION_KINDS = new Set<string>(['open', 'text', 'binary', 'activity', 'close', 'fail']);
const isServerAction = (value: object): value is ServerAction =>
  'kind' in value && typeof value.kind === 'string' && ACTION_KINDS.has(value.kind) && !('resp_type' in value);

const actionOf = (value: ResponseValue): ServerAction => {
  if (value instanceof Uint8Array) return { kind: 'binary', data: value };
  if (typeof value === 'string') return text(value);
  return isServerAction(value) ? value : text(value);
};

const quoted = (value: string): string => JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);

/** What the controller needs of a session besides its public face. */
export interface SessionHooks {
  /** The client sent its first command (START): the request is known. */
  onRequest(session: FakeSession): void;
}

/** One session: its {@link socket} is what the client talks to, the rest is the {@link TestSession} the test drives. */
export class FakeSession implements TestSession {
  readonly api: 'realtime' | 'streaming';
  /** The socket the factory returns to the client. */
  readonly socket: WebSocketLike = {
    send: (command) => this.received(command),
    close: (code) => this.endByClient(code),
    terminate: () => this.endByClient(undefined),
    pause: () => this.pauseByClient(),
    resume: () => this.resumeByClient(),
  };
  /** Taken by `expectOne`/`match`. */
  matched = false;
  /** Handed to `autoRespond`. */
  autoAnswered = false;
  traceId: string;
  readonly openedAt: number;
  endedAt: number | undefined;
  closedAt: number | undefined;
  private readonly pauseHistory: { pausedAt: number; resumedAt: number | undefined }[] = [];
  /** Frames the service sent while the client had paused the socket (or before those were delivered), in order. */
  private readonly held: ServerAction[] = [];
  private readonly sent: string[] = [];
  private opened = false;
  private answered = false;
  /** The service ended the session (see {@link TestSessionState}). */
  private serviceEnded = false;
  /** The connection is gone from the service's side (close or failure delivered): nothing more can reach the client. */
  private gone = false;
  private closedBy: { readonly code: number | undefined; readonly cancelled: boolean } | undefined;
  private readonly scheduled: Subscription[] = [];

  constructor(
    readonly index: number,
    readonly handshake: ConnectRequest,
    private readonly listener: SocketListener,
    private readonly scheduler: SchedulerLike,
    private readonly hooks: SessionHooks,
  ) {
    this.api = new URL(handshake.url).pathname.endsWith('/rtts') ? 'realtime' : 'streaming';
    this.traceId = `trace-${index}`;
    this.openedAt = scheduler.now();
    // The contract: no callback before the factory has returned; the handshake succeeds by default.
    this.scheduled.push(scheduler.schedule(() => this.openNow()));
  }

  // ---- WebSocketLike: what the client does ----------------------------------------------------------

  private received(command: string): void {
    if (this.closedBy !== undefined || this.gone) throw new Error(`${this.label()}: the client sent a command on a closed socket`);
    this.sent.push(command);
    if (this.sent.length === 1) this.hooks.onRequest(this);
  }

  private endByClient(code: number | undefined): void {
    if (this.closedBy !== undefined) return;
    this.closedBy = { code, cancelled: !this.serviceEnded };
    this.closedAt = this.scheduler.now();
    this.held.length = 0;
    for (const subscription of this.scheduled.splice(0)) subscription.unsubscribe();
  }

  private pauseByClient(): void {
    if (this.paused) return;
    this.pauseHistory.push({ pausedAt: this.scheduler.now(), resumedAt: undefined });
  }

  private resumeByClient(): void {
    const last = this.pauseHistory.at(-1);
    if (last === undefined || last.resumedAt !== undefined) return;
    last.resumedAt = this.scheduler.now();
    // As a real socket does, never from inside the client's resume(): the frames waiting come right after.
    this.scheduled.push(this.scheduler.schedule(() => this.deliverHeld()));
  }

  private deliverHeld(): void {
    while (!this.paused && this.closedBy === undefined && !this.gone) {
      const action = this.held.shift();
      if (action === undefined) return;
      this.deliver(action);
    }
  }

  // ---- what the test reads ------------------------------------------------------------------------

  get hasRequest(): boolean {
    return this.sent.length > 0;
  }

  get request(): TestRequest {
    const [first] = this.sent;
    if (first === undefined) {
      throw new Error(`${this.label()} has not sent START yet (${this.state}${this.opened ? ': a socket opened ahead, waiting for its sentence' : ''})`);
    }
    return JSON.parse(first) as TestRequest;
  }

  get commands(): readonly unknown[] {
    return this.sent.map((command) => JSON.parse(command) as unknown);
  }

  get texts(): readonly string[] {
    const commands = this.commands as { command?: unknown; text?: unknown }[];
    const texts = this.api === 'realtime' ? commands.slice(0, 1) : commands.filter((command) => command.command === 'MSG');
    return texts.map((command) => (typeof command.text === 'string' ? command.text : ''));
  }

  get text(): string {
    return this.texts.join('');
  }

  get voice(): string | undefined {
    if (!this.hasRequest) return undefined;
    const { config } = this.request;
    return 'property' in config ? config.property : config.voice_name;
  }

  get state(): TestSessionState {
    if (this.closedBy !== undefined) return this.closedBy.cancelled ? 'cancelled' : 'closed';
    if (this.serviceEnded) return 'ended';
    if (!this.opened) return 'connecting';
    return this.answered ? 'answering' : 'unanswered';
  }

  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  get cancelled(): boolean {
    return this.closedBy?.cancelled ?? false;
  }

  get closeCode(): number | undefined {
    return this.closedBy?.code;
  }

  get paused(): boolean {
    const last = this.pauseHistory.at(-1);
    return last !== undefined && last.resumedAt === undefined;
  }

  get pauses(): readonly TestPause[] {
    return this.pauseHistory.map((pause) => ({ ...pause }));
  }

  /** `#0 realtime "text" (voice …, state)`: how the controller's messages list a session. */
  describe(): string {
    if (!this.hasRequest) return `${this.label()} (no START sent yet, ${this.state})`;
    const pieces = this.api === 'streaming' ? ` in ${this.texts.length} piece${this.texts.length === 1 ? '' : 's'}` : '';
    return `${this.label()} ${quoted(this.text)}${pieces} (voice ${this.voice ?? '?'}, ${this.state})`;
  }

  private label(): string {
    return `session #${this.index} (${this.api})`;
  }

  // ---- what the service answers ---------------------------------------------------------------------

  respond(marbles: string, values: Readonly<Record<string, ResponseValue>> = {}): this {
    this.checkOpenFor('respond');
    const letters = { ...defaultResponses(this.traceId), ...values };
    const byFrame = new Map<number, ServerAction[]>();
    // Parsed without values, each value is its letter.
    for (const { frame, notification } of TestScheduler.parseMarbles(marbles, undefined, undefined, false, true)) {
      let action: ServerAction;
      if (notification.kind === 'E') action = close(1006);
      else if (notification.kind === 'C') action = close(1000);
      else {
        const letter = String(notification.value);
        const value = Object.hasOwn(letters, letter) ? letters[letter] : undefined;
        if (value === undefined) {
          throw new Error(
            `respond('${marbles}'): no value for '${letter}'; the letters are ${Object.keys(letters).join(', ')}, # and | (give others in values)`,
          );
        }
        action = actionOf(value);
      }
      byFrame.set(frame, [...(byFrame.get(frame) ?? []), action]);
    }
    for (const [frame, actions] of byFrame) {
      this.scheduled.push(
        this.scheduler.schedule(() => {
          for (const action of actions) if (this.closedBy === undefined && !this.gone) this.deliverOrHold(action);
        }, frame),
      );
    }
    return this;
  }

  start(traceId = this.traceId): this {
    this.traceId = traceId;
    return this.now('start()', startFrame(traceId));
  }

  audio(bytesOrCount: Uint8Array | number = 1): this {
    if (bytesOrCount instanceof Uint8Array) return this.now('audio()', { kind: 'binary', data: bytesOrCount });
    if (!Number.isInteger(bytesOrCount) || bytesOrCount < 1) {
      throw new Error(`${this.label()}: audio(${String(bytesOrCount)}): give the bytes of a frame, or a count of frames (a positive integer)`);
    }
    return this.now('audio()', ...Array.from({ length: bytesOrCount }, (): ServerAction => ({ kind: 'binary', data: Uint8Array.from(AUDIO_FRAME) })));
  }

  subtitle(words: string | readonly string[]): this {
    const list = typeof words === 'string' ? [words] : words;
    const result = list.map((word, i) => ({ text: word, start_time: i * 100, end_time: (i + 1) * 100, word_index: i }));
    return this.now('subtitle()', text({ resp_type: 'RESULT', trace_id: this.traceId, result }));
  }

  end(): this {
    return this.now('end()', endFrame('NORMAL', this.traceId));
  }

  fail(errorCode: string, message = 'synthesis error'): this {
    return this.now('fail()', errorFrame(errorCode, message, this.traceId), endFrame('ERROR', this.traceId));
  }

  fatal(errorCode = 'SIS.0304', message = 'wait voice timeout'): this {
    return this.now('fatal()', fatalFrame(errorCode, message, this.traceId));
  }

  drop(code = 1006): this {
    return this.now('drop()', close(code));
  }

  event(name: string): this {
    return this.now('event()', text({ resp_type: 'EVENT', trace_id: this.traceId, event: name }));
  }

  send(value: ResponseValue): this {
    return this.now('send()', actionOf(value));
  }

  reject(status: number, body = ''): this {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new Error(`${this.label()}: reject(${String(status)}): a rejected handshake is an HTTP error status, 400 to 599`);
    }
    if (this.state !== 'connecting') {
      throw new Error(`${this.label()}: reject(${status}) is only possible while the handshake is pending, and it is ${this.state}`);
    }
    this.deliver(fail({ kind: 'handshake-rejected', status, body }));
    return this;
  }

  /** Completes a pending handshake now (the controller reads requests, a helper answers). */
  openNow(): void {
    if (this.opened || this.gone || this.closedBy !== undefined) return;
    this.deliver(open);
  }

  /** Delivers actions now, in order, each only while the client still listens. */
  private now(what: string, ...actions: ServerAction[]): this {
    this.checkOpenFor(what);
    for (const action of actions) {
      if (this.closedBy !== undefined || this.gone) break;
      if (action.kind !== 'fail') this.openNow();
      this.deliverOrHold(action);
    }
    return this;
  }

  /** The handshake's outcome goes through; frames wait while the client has paused the socket, or while others wait. */
  private deliverOrHold(action: ServerAction): void {
    if (action.kind !== 'open' && action.kind !== 'fail' && (this.paused || this.held.length > 0)) this.held.push(action);
    else this.deliver(action);
  }

  private checkOpenFor(what: string): void {
    if (this.closedBy !== undefined) {
      throw new Error(`${this.label()}: cannot ${what}: the client ${this.closedBy.cancelled ? 'cancelled' : 'closed'} the session already`);
    }
    if (this.gone) throw new Error(`${this.label()}: cannot ${what}: the connection is gone already (dropped, closed or rejected)`);
  }

  private deliver(action: ServerAction): void {
    switch (action.kind) {
      case 'open':
        if (this.opened) return;
        this.opened = true;
        break;
      case 'text':
        this.answered = true;
        if (ENDING_RESPONSES.has(respType(action.text) as string)) this.serviceEnded = true;
        break;
      case 'binary':
        this.answered = true;
        break;
      case 'close':
      case 'fail':
        this.gone = true;
        this.serviceEnded = true;
        break;
      case 'activity':
        break;
    }
    if (this.serviceEnded) this.endedAt ??= this.scheduler.now();
    deliverAction(this.listener, action);
  }
}
