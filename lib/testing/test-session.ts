/**
 * One socket of the testing client, seen from the test: what the client asked for, and the service's
 * side of the conversation, answered by marbles ({@link TestSession.respond}) or by imperative helpers.
 *
 *   connecting ──open (scheduled, or the first answer)──▶ unanswered ──first frame──▶ answering ──END / FATAL_ERROR / ERROR / drop──▶ ended
 *        │                                                    │                           │
 *        └── reject() ──▶ ended                               └──── the client closes ────┴──▶ cancelled        (ended, then closed: closed)
 *
 * It is the socket the real session state machine talks to: it only delivers frames, the client does
 * everything else (validation, timeouts, errors, teardown).
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
 * The default letters of {@link TestSession.respond}: `s` START response, `a` an audio frame of 4 bytes,
 * `r` a RESULT (one subtitle word, `"word"`), `e` END/NORMAL, `x` END/ERROR, `E` ERROR (`SIS.0401`),
 * `F` FATAL_ERROR (`SIS.0304`), every frame with the trace id {@link TRACE}. Besides, `#` drops the
 * connection (close 1006) and `|` closes it normally (1000).
 */
export const DEFAULT_RESPONSES: Readonly<Record<string, ResponseValue>> = Object.freeze({
  s: startFrame(),
  a: { kind: 'binary', data: Uint8Array.from(AUDIO_FRAME) },
  r: text({ resp_type: 'RESULT', trace_id: TRACE, result: [{ text: 'word', start_time: 0, end_time: 100, word_index: 0 }] }),
  e: endFrame(),
  x: endFrame('ERROR'),
  E: errorFrame(),
  F: fatalFrame(),
});

/** One session of the testing client (one socket): what the client sent, and the service's answers. */
export interface TestSession {
  /** 0-based, in the order the client opened its sockets. */
  readonly index: number;
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
   * Answers by marbles, from now on the client's scheduler (one frame = 1 ms of virtual time inside
   * `TestScheduler.run`): each letter is one frame of {@link DEFAULT_RESPONSES} or of `values`, `#` drops
   * the connection (1006), `|` closes it (1000). Frames due after the client closed are not delivered.
   * @throws {Error} on a letter with no value, or if the session is over.
   * @example session.respond('-s-a-a-e') // START, two audio frames, END/NORMAL
   */
  respond(marbles: string, values?: Readonly<Record<string, ResponseValue>>): this;
  /** Sends the START response now (completing the handshake first if it is still pending). */
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
  /** Sends any frame or action (see {@link ResponseValue}) now. */
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
  };
  /** Taken by `expectOne`/`match`. */
  matched = false;
  /** Handed to `autoRespond`. */
  autoAnswered = false;
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
    for (const subscription of this.scheduled.splice(0)) subscription.unsubscribe();
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
    const letters = { ...DEFAULT_RESPONSES, ...values };
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
          for (const action of actions) if (this.closedBy === undefined && !this.gone) this.deliver(action);
        }, frame),
      );
    }
    return this;
  }

  start(traceId = TRACE): this {
    return this.now('start()', startFrame(traceId));
  }

  audio(bytesOrCount: Uint8Array | number = 1): this {
    if (bytesOrCount instanceof Uint8Array) return this.now('audio()', { kind: 'binary', data: bytesOrCount });
    return this.now('audio()', ...Array.from({ length: bytesOrCount }, (): ServerAction => ({ kind: 'binary', data: Uint8Array.from(AUDIO_FRAME) })));
  }

  subtitle(words: string | readonly string[]): this {
    const list = typeof words === 'string' ? [words] : words;
    const result = list.map((word, i) => ({ text: word, start_time: i * 100, end_time: (i + 1) * 100, word_index: i }));
    return this.now('subtitle()', text({ resp_type: 'RESULT', trace_id: TRACE, result }));
  }

  end(): this {
    return this.now('end()', endFrame());
  }

  fail(errorCode: string, message = 'synthesis error'): this {
    return this.now('fail()', errorFrame(errorCode, message), endFrame('ERROR'));
  }

  fatal(errorCode = 'SIS.0304', message = 'wait voice timeout'): this {
    return this.now('fatal()', fatalFrame(errorCode, message));
  }

  drop(code = 1006): this {
    return this.now('drop()', close(code));
  }

  event(name: string): this {
    return this.now('event()', text({ resp_type: 'EVENT', trace_id: TRACE, event: name }));
  }

  send(value: ResponseValue): this {
    return this.now('send()', actionOf(value));
  }

  reject(status: number, body = ''): this {
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
      this.deliver(action);
    }
    return this;
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
    deliverAction(this.listener, action);
  }
}
