/**
 * One relayed session, top to bottom: the browser's command → checked with the protocol's own rules
 * → its characters counted against the user's budget → the upstream socket opened with the relay's
 * credentials (the library's SocketOpener: warm sockets, token refresh on 401) → frames forwarded both
 * ways, unchanged → both sides closed together.
 *
 *   awaiting-start ──START checked, counted──▶ connecting ──upstream open──▶ relaying
 *         │                                        │                            │
 *         │ invalid, over budget, no START         │ upstream failed            │ either side closes, or a
 *         ▼ in time: ERROR frame                   ▼ ERROR frame                ▼ later command is refused
 *      closing ◀───────────────────────────────────┴────────────────────────────┘
 *         │ both sides closed: the browser's socket's 'close'
 *         ▼
 *      closed ── teardown: timers, the upstream socket, the opener, the limit slots (once)
 *
 * The browser's socket is paused while a command is being checked and while the upstream socket
 * opens, so its commands never pile up here; the upstream socket is paused while the browser's
 * socket has more than {@link RELAY_HIGH_WATER_MARK} bytes waiting, so audio never piles up either.
 * `teardown()`, run by the browser socket's 'close', is the single place resources are released.
 */
import { Subscription } from 'rxjs';
import type { RawData, WebSocket } from 'ws';
import { checkStart, ORDER_ERRORS, type ServiceError } from '../protocol/start-check.js';
import { pieceProblem, readCommand, startProblem } from '../protocol/streaming-commands.js';
import { SisConnectionError, SisTimeoutError, type SisError } from '../errors.js';
import { parseJson } from '../protocol/json.js';
import { codePointLength } from '../protocol/rules.js';
import { STREAMING_PIECE_LIMIT } from '../protocol/streaming.js';
import { StartResponse } from '../protocol/wire.js';
import type { SessionConfig } from '../session/options.js';
import { SocketOpener, type OpeningSession } from '../session/socket-opener.js';
import type { TransportFailure } from '../transport/websocket-like.js';
import { textOf } from '../transport/ws-data.js';
import { publish, type RefusalReason, type RelayApi } from './events.js';
import { MAX_QUEUED_COMMANDS, RELAY_ERROR_CODES, RELAY_HIGH_WATER_MARK, START_TIMEOUT_MS } from './rules.js';
import type { RelayLimitStore } from './store.js';

/** The window of `charactersPerMinute`. */
const MINUTE_MS = 60_000;

type State = 'awaiting-start' | 'connecting' | 'relaying' | 'closing' | 'closed';

/** What a command is, once checked: its characters, and whether it is a START. */
type Checked =
  | { readonly ok: true; readonly characters: number; readonly start: boolean }
  | { readonly ok: false; readonly errorCode: string; readonly errorMsg: string };

const refusedCommand = ({ errorCode, errorMsg }: ServiceError): Checked => ({ ok: false, errorCode, errorMsg });

/** A close code one side may pass on to the other (RFC 6455 §7.4: not 1004-1006, 1015, or unassigned). */
export const passableCloseCode = (code: number): number =>
  (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999) ? code : 1000;

/** A close reason fits in 123 bytes of UTF-8. */
const shortReason = (reason: string): string =>
  Buffer.byteLength(reason) <= 123
    ? reason
    : Buffer.from(reason)
        .subarray(0, 120)
        .toString('utf8')
        .replace(/\uFFFD$/, '');

/** What a session needs from its relay. */
export interface RelaySessionDeps {
  readonly id: number;
  readonly userId: string;
  readonly api: RelayApi;
  readonly config: SessionConfig;
  /** The service's URL of the API, with the relay's project id. */
  readonly upstreamUrl: string;
  readonly store: RelayLimitStore;
  /** The user's character budget: its store key and its maximum per minute (`Infinity`: not counted). */
  readonly budget: { readonly key: string; readonly max: number };
  /** A command was refused after the upgrade (for `stats().refused`). */
  readonly refused: (reason: RefusalReason) => void;
  /** The service could not be reached or was lost (for `stats().upstreamFailures`). */
  readonly upstreamFailed: () => void;
  /** Both sides are closed: the relay frees the session's limit slots. Called exactly once. */
  readonly ended: (session: RelaySession) => void;
}

/**
 * One browser ⇄ service pair. A class: a relay runs thousands, and it is the upstream socket's
 * listener (through the opener) and the browser socket's, so the data path reads top to bottom.
 */
export class RelaySession implements OpeningSession {
  private state: State = 'awaiting-start';
  private readonly opener: SocketOpener;
  private readonly resources = new Subscription();
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  /** Commands received, not yet checked (one is checked at a time). */
  private readonly queue: string[] = [];
  private checking = false;
  /** Commands checked while the upstream socket opens: sent on open. */
  private pending: string[] = [];
  /** Commands sent on a warm socket before its first frame: sent again if it turns out dead. */
  private unconfirmed: string[] = [];
  private startSeen = false;
  private upstreamOpen = false;
  private upstreamClosed = false;
  /** The service sent a frame: the socket is alive, a reconnect would lose what it did. */
  private answered = false;
  private browserPaused = false;
  private upstreamPaused = false;
  private trace: string | undefined;
  private closedBy: 'browser' | 'upstream' | 'relay' | undefined;
  private characters = 0;
  private framesToBrowser = 0;
  private bytesToBrowser = 0;

  constructor(
    private readonly browser: WebSocket,
    private readonly deps: RelaySessionDeps,
  ) {
    this.opener = new SocketOpener(deps.config, deps.upstreamUrl, this, this.resources);
    browser.on('message', this.onBrowserMessage);
    browser.on('close', this.onBrowserClose);
    // Socket errors (a reset by the browser, …) end in 'close'; without a listener they would crash the process.
    browser.on('error', ignore);
    this.arm(START_TIMEOUT_MS, () =>
      this.refuse(undefined, RELAY_ERROR_CODES.startTimeout, `no START command came within ${START_TIMEOUT_MS / 1000} s of the connection`, 1008),
    );
    publish(() => ({ type: 'session', phase: 'accepted', sessionId: deps.id, userId: deps.userId, api: deps.api, traceId: undefined }));
  }

  /** Bytes waiting to be written to the browser. */
  get bufferedAmount(): number {
    return this.browser.bufferedAmount;
  }

  // ---- the browser's commands: checked, counted, forwarded -----------------------------------------

  private readonly onBrowserMessage = (data: RawData, isBinary: boolean): void => {
    if (this.state === 'closing' || this.state === 'closed') return;
    if (isBinary) return this.refuse('invalid', ORDER_ERRORS.binary.errorCode, ORDER_ERRORS.binary.errorMsg, 1003);
    if (this.queue.length >= MAX_QUEUED_COMMANDS) {
      return this.refuse('limited', RELAY_ERROR_CODES.flood, `more than ${MAX_QUEUED_COMMANDS} commands arrived at once: send them as they are written`, 1008);
    }
    this.queue.push(textOf(data));
    this.next();
  };

  /** Checks the queued commands in order; one waiting for the store holds the rest (and the browser). */
  private next(): void {
    while (!this.checking && this.queue.length > 0 && (this.state === 'awaiting-start' || this.state === 'connecting' || this.state === 'relaying')) {
      const text = this.queue.shift() ?? '';
      const checked = this.check(text);
      if (!checked.ok) return this.refuse('invalid', checked.errorCode, checked.errorMsg, 1008);
      if (checked.characters === 0 || this.deps.budget.max === Number.POSITIVE_INFINITY) {
        this.characters += checked.characters;
        this.forward(text, checked.start);
        continue;
      }
      this.checking = true;
      this.syncBrowserPause();
      const { key, max } = this.deps.budget;
      this.deps.store.consume(key, checked.characters, max, MINUTE_MS).then(
        (within) => this.counted(text, checked.start, checked.characters, within),
        (error: unknown) => this.storeFailed(error),
      );
      return;
    }
  }

  private counted(text: string, start: boolean, characters: number, within: boolean): void {
    this.checking = false;
    if (this.state === 'closing' || this.state === 'closed') return;
    if (!within) {
      return this.refuse(
        'limited',
        RELAY_ERROR_CODES.overBudget,
        `over the budget of ${this.deps.budget.max} characters per minute: wait a minute, then try again`,
        1008,
      );
    }
    this.characters += characters;
    this.forward(text, start);
    this.syncBrowserPause();
    this.next();
  }

  private storeFailed(error: unknown): void {
    this.checking = false;
    const detail = `the limit store failed: ${error instanceof Error ? `${error.name}: ${error.message}` : typeof error}`;
    publish(() => ({ type: 'refused', reason: 'limited', status: undefined, api: this.deps.api, userId: this.deps.userId, sessionId: this.deps.id, detail }));
    this.refuse(undefined, RELAY_ERROR_CODES.unavailable, 'the relay cannot check its limits now: try again later', 1011);
  }

  /** A command checked with the protocol's own rules, as the service would answer it. */
  private check(text: string): Checked {
    const { config, api } = this.deps;
    if (api === 'realtime') {
      if (this.startSeen) return refusedCommand(ORDER_ERRORS.secondStart);
      const checked = checkStart(text, { textLimit: config.limits.maxTextLength, voices: 'any' });
      if (!checked.ok) return refusedCommand(checked);
      return { ok: true, characters: codePointLength(checked.command.text), start: true };
    }
    const read = readCommand(text);
    if (!read.ok) return refusedCommand(read);
    const { command } = read;
    const limits = { streamingPieceLimit: STREAMING_PIECE_LIMIT, voices: 'any' } as const;
    if (command.command === 'START') {
      const problem = startProblem(command, limits);
      if (problem !== undefined) return refusedCommand(problem);
      return { ok: true, characters: Math.max(1, codePointLength(command.text ?? '')), start: true };
    }
    if (!this.startSeen) return refusedCommand(ORDER_ERRORS.notStarted);
    if (command.command === 'END') return { ok: true, characters: 0, start: false };
    const problem = pieceProblem(command.text, limits);
    if (problem !== undefined) return refusedCommand(problem);
    return { ok: true, characters: Math.max(1, codePointLength(command.text)), start: false };
  }

  private forward(text: string, start: boolean): void {
    if (this.state === 'awaiting-start') {
      this.startSeen = true;
      this.state = 'connecting';
      // Before open(): a warm socket opens at once, and sends what is pending.
      this.pending.push(text);
      this.armConnectTimer();
      this.syncBrowserPause();
      this.opener.open();
      return;
    }
    if (start) this.startSeen = true;
    if (this.state === 'relaying') return this.sendUpstream(text);
    if (this.state !== 'connecting') return;
    // The browser is paused meanwhile, but what it had sent in the same TCP read still comes.
    if (this.pending.length >= MAX_QUEUED_COMMANDS) {
      return this.refuse('limited', RELAY_ERROR_CODES.flood, `more than ${MAX_QUEUED_COMMANDS} commands arrived at once: send them as they are written`, 1008);
    }
    this.pending.push(text);
  }

  private sendUpstream(text: string): void {
    const socket = this.opener.socket;
    if (socket === undefined) return;
    try {
      socket.send(text);
    } catch (cause) {
      return this.fail(new SisConnectionError('could not send a command to the service', { cause }));
    }
    if (!this.answered && this.opener.canReconnect()) this.unconfirmed.push(text);
  }

  /** The browser is not read while a command is checked or the upstream socket opens. */
  private syncBrowserPause(): void {
    const paused = this.checking || this.state === 'connecting';
    if (paused === this.browserPaused || this.state === 'closing' || this.state === 'closed') return;
    this.browserPaused = paused;
    if (paused) this.browser.pause();
    else this.browser.resume();
  }

  // ---- OpeningSession: the upstream socket's reports -----------------------------------------------

  isPaused(): boolean {
    return this.upstreamPaused;
  }

  isOpen(): boolean {
    return this.upstreamOpen;
  }

  position(): string {
    return this.answered ? `while relaying (trace ${this.trace ?? 'unknown'})` : 'before the service answered';
  }

  traceId(): string | undefined {
    return this.trace;
  }

  onOpen(): void {
    if (this.state !== 'connecting') return;
    this.upstreamOpen = true;
    this.disarm();
    this.state = 'relaying';
    const pending = this.pending;
    this.pending = [];
    for (const text of pending) {
      if (this.state !== 'relaying') return;
      this.sendUpstream(text);
    }
    this.syncBrowserPause();
  }

  onMessage(data: string | Uint8Array): void {
    if (this.state !== 'relaying') return;
    if (!this.answered) {
      this.answered = true;
      this.unconfirmed = [];
    }
    if (typeof data === 'string' && this.trace === undefined) this.noteStart(data);
    this.framesToBrowser += 1;
    this.bytesToBrowser += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    this.browser.send(data, { binary: typeof data !== 'string' }, this.onSentToBrowser);
    if (!this.upstreamPaused && this.browser.bufferedAmount > RELAY_HIGH_WATER_MARK) {
      this.upstreamPaused = true;
      this.opener.socket?.pause?.();
    }
  }

  /** The service's START response: its trace id, and the warm pool may refill. */
  private noteStart(text: string): void {
    const frame = parseJson(text);
    if (!StartResponse.is(frame)) return;
    this.trace = frame.trace_id;
    this.opener.started();
    const { id, userId, api } = this.deps;
    publish(() => ({ type: 'session', phase: 'started', sessionId: id, userId, api, traceId: frame.trace_id }));
  }

  private readonly onSentToBrowser = (): void => {
    if (!this.upstreamPaused || this.browser.bufferedAmount > RELAY_HIGH_WATER_MARK / 2) return;
    this.upstreamPaused = false;
    if (this.state === 'relaying') this.opener.socket?.resume?.();
  };

  onActivity(): void {}

  onClose(code: number, reason: string): void {
    this.upstreamOpen = false;
    if (this.reconnected()) return;
    this.upstreamClosed = true;
    if (this.state === 'connecting') return this.fail(this.opener.closed(code, reason));
    if (this.state !== 'relaying') return;
    this.closedBy ??= 'upstream';
    this.closeBoth(passableCloseCode(code), reason);
  }

  onError(failure: TransportFailure): void {
    if (failure.kind === 'network' && this.reconnected()) return;
    const error = this.opener.failure(failure);
    // undefined: a stale token was dropped and a fresh connect is under way.
    if (error === undefined) return;
    this.upstreamOpen = false;
    this.upstreamClosed = true;
    this.fail(error);
  }

  /**
   * A warm socket lost before the service answered: it never got the commands, so they go again on a
   * fresh socket, once (as a client session does). True if it did.
   */
  private reconnected(): boolean {
    if (this.answered || (this.state !== 'connecting' && this.state !== 'relaying') || !this.opener.canReconnect()) return false;
    this.state = 'connecting';
    this.upstreamOpen = false;
    this.pending = [...this.unconfirmed, ...this.pending];
    this.unconfirmed = [];
    this.armConnectTimer();
    this.syncBrowserPause();
    this.opener.reconnect();
    return true;
  }

  /** The service could not be reached (credentials, handshake, network, timeout) or was lost. */
  fail(error: SisError): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const { id, userId, api } = this.deps;
    this.deps.upstreamFailed();
    publish(() => ({ type: 'upstream-failure', sessionId: id, userId, api, traceId: this.trace, code: error.code, message: error.message }));
    const what = this.answered ? 'the connection to the speech service was lost' : 'the relay could not reach the speech service';
    this.refuse(undefined, RELAY_ERROR_CODES.upstream, `${what} (${error.code}): try again later`, 1011);
  }

  // ---- endings -------------------------------------------------------------------------------------

  /** The relay is shutting down: the browser is told so, and both sides are closed. */
  shutdown(): void {
    this.refuse(undefined, RELAY_ERROR_CODES.unavailable, 'the relay is shutting down: connect again', 1001);
  }

  /** An ERROR frame in the service's shape, then both sides closed. `reason` counts it in the relay's stats. */
  private refuse(reason: RefusalReason | undefined, errorCode: string, errorMsg: string, closeCode: number): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const { id, userId, api } = this.deps;
    if (reason !== undefined) {
      this.deps.refused(reason);
      publish(() => ({ type: 'refused', reason, status: undefined, api, userId, sessionId: id, detail: `${errorCode} ${errorMsg}` }));
    }
    this.closedBy ??= 'relay';
    if (this.browser.readyState === this.browser.OPEN) {
      const frame = { resp_type: 'ERROR', ...(this.trace === undefined ? {} : { trace_id: this.trace }), error_code: errorCode, error_msg: errorMsg };
      this.browser.send(JSON.stringify(frame));
    }
    this.closeBoth(closeCode, '');
  }

  /** Closes both sides; the browser socket's 'close' then tears the session down. */
  private closeBoth(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closing';
    this.disarm();
    this.closeUpstream(code, reason);
    if (this.browser.readyState !== this.browser.OPEN) return;
    // A paused socket could not read the browser's close reply.
    if (this.browserPaused) this.browser.resume();
    this.browserPaused = false;
    this.browser.close(code, shortReason(reason));
  }

  private closeUpstream(code: number, reason = ''): void {
    const socket = this.opener.socket;
    // Credentials still on their way must open nothing any more.
    this.resources.unsubscribe();
    this.opener.release();
    if (socket === undefined || this.upstreamClosed) return;
    this.upstreamClosed = true;
    if (this.upstreamOpen) socket.close(code, shortReason(reason));
    else socket.terminate();
    this.upstreamOpen = false;
  }

  private readonly onBrowserClose = (code: number, reason: Buffer): void => {
    this.closedBy ??= 'browser';
    this.closeUpstream(passableCloseCode(code), reason.toString('utf8'));
    this.teardown(code);
  };

  /** The single place where resources are released, however the session ended. */
  private teardown(code: number): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.disarm();
    this.queue.length = 0;
    this.pending = [];
    this.unconfirmed = [];
    this.closeUpstream(1000);
    this.browser.off('message', this.onBrowserMessage);
    this.browser.off('close', this.onBrowserClose);
    const { id, userId, api } = this.deps;
    this.deps.ended(this);
    publish(() => ({
      type: 'session',
      phase: 'ended',
      sessionId: id,
      userId,
      api,
      traceId: this.trace,
      closedBy: this.closedBy,
      code,
      characters: this.characters,
      framesToBrowser: this.framesToBrowser,
      bytesToBrowser: this.bytesToBrowser,
      durationMs: Date.now() - this.startedAt,
    }));
  }

  // ---- the one timer: START in time, then the upstream connect -------------------------------------

  private arm(ms: number, run: () => void): void {
    this.disarm();
    if (Number.isFinite(ms)) this.timer = setTimeout(run, ms);
  }

  private armConnectTimer(): void {
    const ms = this.deps.config.timeouts.connect;
    this.arm(ms, () => this.fail(new SisTimeoutError('connect', ms)));
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

const ignore = (): void => undefined;
