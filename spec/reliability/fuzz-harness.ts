/**
 * Fuzzing a session over a fake socket in virtual time: fast-check generates what the server does
 * (frames valid and broken, closes, transport failures, silence) and what the subscriber does
 * (pausing, unsubscribing); `runScenario` plays it into one session and checks, after every step,
 * what must hold whatever the input.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { BehaviorSubject, Subject, VirtualTimeScheduler, type Subscription } from 'rxjs';
import {
  SisConnectionError,
  SisError,
  SisHandshakeError,
  SisProtocolError,
  SisServiceError,
  SisTimeoutError,
  createSisClient,
  type SisEvent,
} from '../../lib/index.js';
import { decodeServerFrame } from '../../lib/protocol/decode.js';
import type { Timeouts } from '../../lib/session/options.js';
import type { TransportFailure } from '../../lib/transport/websocket-like.js';
import { TRACE, binary, endFrame, errorFrame, fakeSockets, open, startFrame, type ServerAction } from '../helpers/fake-socket.js';
import { StrayNotifications } from './support.js';

export const TOKEN = 'fuzz-token-never-shown';
const MAX_PAYLOAD = 4096;

/** What the server does (delivered through the fake socket), or what time and the subscriber do. */
export type Action =
  | ServerAction
  /** Virtual milliseconds pass. */
  | { readonly kind: 'wait'; readonly ms: number }
  /** The subscriber's flow control (`paused$`). */
  | { readonly kind: 'pause'; readonly paused: boolean }
  | { readonly kind: 'unsubscribe' };

export interface Scenario {
  readonly timeouts: Timeouts;
  readonly flowControl: boolean;
  /** The socket's send() throws (a socket that died between open and START). */
  readonly sendThrows: boolean;
  /**
   * A socket that breaks its contract: it delivers frames before open, and keeps delivering after a
   * close, an error, or the session's own close(). The session must stay correct even then.
   */
  readonly leaky: boolean;
  /** The subscriber unsubscribes from inside its `next`, at the nth (0-based) event of a type, if set. */
  readonly leaveOn: { readonly type: Exclude<SisEvent['type'], 'unknown'>; readonly nth: number } | null;
  readonly actions: readonly Action[];
}

// ---- server frames -------------------------------------------------------------------------------

const traceId = fc.oneof({ arbitrary: fc.constant(TRACE), weight: 4 }, fc.uuid(), fc.string({ maxLength: 8 }));
const errorCode = fc.oneof(fc.constantFrom('SIS.0401', 'SIS.0032', 'SIS.0312', 'SIS.0413'), fc.string({ maxLength: 10 }));
const subtitleItem = fc.record(
  { start_time: fc.nat(10_000), end_time: fc.nat(10_000), text: fc.string({ maxLength: 4 }), word_index: fc.nat(50) },
  { requiredKeys: ['start_time', 'end_time', 'text'] },
);

/** Well-formed frames of every known type, as objects (so they can also be broken on purpose). */
const validFrame: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { arbitrary: fc.record({ resp_type: fc.constant('START'), trace_id: traceId }), weight: 4 },
  { arbitrary: fc.record({ resp_type: fc.constant('END'), trace_id: traceId, reason: fc.constant('NORMAL') }), weight: 3 },
  { arbitrary: fc.record({ resp_type: fc.constant('END'), trace_id: traceId, reason: fc.constant('ERROR') }), weight: 1 },
  {
    arbitrary: fc.record(
      { resp_type: fc.constant('ERROR'), trace_id: traceId, error_code: errorCode, error_msg: fc.string({ maxLength: 12 }) },
      { requiredKeys: ['resp_type', 'error_code', 'error_msg'] },
    ),
    weight: 1,
  },
  {
    arbitrary: fc.record({ resp_type: fc.constant('FATAL_ERROR'), trace_id: traceId, error_code: errorCode, error_msg: fc.string({ maxLength: 12 }) }),
    weight: 1,
  },
  { arbitrary: fc.record({ resp_type: fc.constant('RESULT'), trace_id: traceId, result: fc.array(subtitleItem, { maxLength: 3 }) }), weight: 2 },
);

const KNOWN = new Set(['START', 'END', 'ERROR', 'FATAL_ERROR', 'RESULT']);

/** A known frame with one field replaced by any JSON value (wrong type, missing, …). */
const wrongTypes = fc.tuple(validFrame, fc.nat(), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined))).map(([frame, i, value]) => {
  const keys = Object.keys(frame);
  const key = keys[i % keys.length] ?? 'resp_type';
  return JSON.stringify({ ...frame, [key]: value });
});

const unknownType = fc
  .tuple(
    fc.string({ maxLength: 12 }).filter((type) => !KNOWN.has(type)),
    fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  )
  .map(([type, extra]) => JSON.stringify({ ...extra, resp_type: type }));

export const textFrame: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: validFrame.map((frame) => JSON.stringify(frame)), weight: 10 },
  { arbitrary: unknownType, weight: 3 },
  { arbitrary: wrongTypes, weight: 3 },
  // truncated JSON
  {
    arbitrary: fc.tuple(validFrame, fc.nat()).map(([frame, n]) => {
      const json = JSON.stringify(frame);
      return json.slice(0, n % json.length);
    }),
    weight: 2,
  },
  // any JSON at all: numbers, arrays, null, strings…
  { arbitrary: fc.json({ maxDepth: 2 }), weight: 1 },
  // not JSON
  { arbitrary: fc.string({ unit: 'binary', maxLength: 30 }), weight: 1 },
);

// ---- actions -------------------------------------------------------------------------------------

const failure: fc.Arbitrary<TransportFailure> = fc.oneof(
  fc.record({
    kind: fc.constant('network' as const),
    message: fc.constantFrom('read ECONNRESET', 'socket hang up', 'Invalid WebSocket frame: invalid opcode 7'),
  }),
  fc.constant({ kind: 'frame-too-large' as const, limit: MAX_PAYLOAD }),
  fc.record({
    kind: fc.constant('handshake-rejected' as const),
    status: fc.integer({ min: 100, max: 599 }),
    body: fc.oneof(fc.string({ maxLength: 20 }), fc.json({ maxDepth: 1 })),
  }),
);

export const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'open' as const }), weight: 4 },
  { arbitrary: textFrame.map((text) => ({ kind: 'text' as const, text })), weight: 30 },
  { arbitrary: fc.uint8Array({ maxLength: 8 }).map((data) => ({ kind: 'binary' as const, data })), weight: 15 },
  { arbitrary: fc.constant({ kind: 'activity' as const }), weight: 5 },
  { arbitrary: fc.integer({ min: 0, max: 400 }).map((ms) => ({ kind: 'wait' as const, ms })), weight: 10 },
  {
    arbitrary: fc.record({
      kind: fc.constant('close' as const),
      code: fc.oneof(fc.constantFrom(1000, 1001, 1005, 1006, 1011, 4000), fc.integer({ min: 0, max: 65_535 })),
      reason: fc.string({ maxLength: 10 }),
    }),
    weight: 2,
  },
  { arbitrary: failure.map((f) => ({ kind: 'fail' as const, failure: f })), weight: 2 },
  { arbitrary: fc.boolean().map((paused) => ({ kind: 'pause' as const, paused })), weight: 3 },
  { arbitrary: fc.constant({ kind: 'unsubscribe' as const }), weight: 1 },
);

const start = startFrame();
const audio = binary(1, 2, 3);
const end = endFrame();
const error = errorFrame();

/** Most runs begin like a real session, so that every state (failing after an ERROR too) is reached often. */
const prefix = fc.constantFrom<readonly Action[]>(
  [],
  [open],
  [open, start],
  [open, start, audio, audio],
  [open, start, audio, error],
  [open, start, audio, end],
);

const ms = (max: number): fc.Arbitrary<number> =>
  fc.oneof({ arbitrary: fc.integer({ min: 1, max }), weight: 5 }, { arbitrary: fc.constant(Infinity), weight: 1 });

export const timeouts: fc.Arbitrary<Timeouts> = fc.record({
  connect: ms(300),
  firstAudio: ms(300),
  idle: ms(300),
  total: fc.oneof({ arbitrary: fc.constant(Infinity), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 1_000 }), weight: 1 }),
  errorGrace: fc.integer({ min: 1, max: 200 }),
});

export const scenario = (actions: fc.Arbitrary<readonly Action[]> = fc.array(action, { maxLength: 40 })): fc.Arbitrary<Scenario> =>
  fc.record({
    timeouts,
    flowControl: fc.boolean(),
    sendThrows: fc.oneof({ arbitrary: fc.constant(false), weight: 19 }, { arbitrary: fc.constant(true), weight: 1 }),
    leaky: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
    leaveOn: fc.oneof(
      { arbitrary: fc.constant(null), weight: 2 },
      { arbitrary: fc.record({ type: fc.constantFrom('open' as const, 'start' as const, 'subtitle' as const), nth: fc.constant(0) }), weight: 1 },
      { arbitrary: fc.record({ type: fc.constant('audio' as const), nth: fc.nat(3) }), weight: 1 },
      // Leaving on the end event, just before the complete that follows it.
      { arbitrary: fc.constant({ type: 'end' as const, nth: 0 }), weight: 1 },
    ),
    actions: fc.tuple(prefix, actions).map(([first, rest]) => [...first, ...rest]),
  });

// ---- playing a scenario --------------------------------------------------------------------------

type Cause = Action['kind'] | 'end of script';

export interface Outcome {
  readonly events: SisEvent[];
  readonly terminal: { readonly kind: 'complete' } | { readonly kind: 'error'; readonly error: SisError } | { readonly kind: 'unsubscribed' } | undefined;
  /** What the server did when the session ended. */
  readonly cause: Cause | undefined;
}

const isErrorFrame = (text: string): boolean => {
  const decoded = decodeServerFrame(text);
  return decoded._tag === 'Right' && decoded.right.known && decoded.right.response.resp_type === 'ERROR';
};

/** Plays a scenario into one session, checking the invariants after every step; returns what happened. */
export const runScenario = (scenario: Scenario): Outcome => {
  const scheduler = new VirtualTimeScheduler();
  const advance = (ms: number): void => {
    const target = scheduler.frame + ms;
    scheduler.maxFrames = target;
    scheduler.flush();
    scheduler.frame = target;
  };

  // The socket, as the session sees it: what the server does goes through `server`, step by step.
  const server = new Subject<ServerAction>();
  const fake = fakeSockets(scheduler, () => server, { sendThrows: scenario.sendThrows, leaky: scenario.leaky });
  let openDelivered = false;
  let serverEnded = false;
  let step = -1;

  const strays = new StrayNotifications();
  try {
    const client = createSisClient({
      endpoint: 'ws://127.0.0.1:9',
      projectId: 'p',
      auth: { token: TOKEN },
      timeouts: scenario.timeouts,
      maxPayload: MAX_PAYLOAD,
      webSocketFactory: fake.factory,
      scheduler,
    });
    const paused$ = new BehaviorSubject(false);
    const events: SisEvent[] = [];
    let terminal: Outcome['terminal'];
    let terminals = 0;
    let cause: Cause | undefined;
    let errorFrameSeen = false;
    let closeSeenBeforeEnd = false;
    const current = (): Cause => scenario.actions[step]?.kind ?? 'end of script';
    const ended = (): boolean => terminal !== undefined;

    let subscription: Subscription | undefined;
    const leave = (): void => {
      if (!ended()) terminal = { kind: 'unsubscribed' };
      cause ??= 'unsubscribe';
      subscription?.unsubscribe();
    };
    subscription = client.events$({ text: '你好' }, scenario.flowControl ? { paused$ } : {}).subscribe({
      next: (event) => {
        events.push(event);
        const { leaveOn } = scenario;
        if (leaveOn !== null && event.type === leaveOn.type && events.filter((e) => e.type === leaveOn.type).length === leaveOn.nth + 1) leave();
      },
      error: (error: unknown) => {
        terminals++;
        expect(error, 'every error is a SisError').to.be.instanceOf(SisError);
        if (error instanceof SisError) terminal = { kind: 'error', error };
        cause = current();
      },
      complete: () => {
        terminals++;
        terminal = { kind: 'complete' };
        cause = current();
      },
    });
    expect(fake.sockets, 'one socket per subscription, opened at once').to.have.length(1);
    const [socket] = fake.sockets;
    if (socket === undefined) throw new Error('no socket');
    expect(socket.request.maxPayload).to.equal(MAX_PAYLOAD);
    /** The session's close() and terminate() calls, with the virtual time of each. */
    const endCalls = socket.endedBy;
    // The fake socket takes its script once the factory has returned, at time 0: before the first step.
    advance(0);

    /** What must hold after every step. */
    const invariants = (): void => {
      expect(terminals, 'terminal notifications').to.be.at.most(1);
      expect(strays.late, 'notifications after the end').to.deep.equal([]);
      expect(strays.unhandled, 'unhandled errors').to.deep.equal([]);
      expect(endCalls.length, 'close()/terminate() calls').to.be.at.most(1);
      if (!ended()) {
        expect(endCalls, 'the socket is left alone while the session runs').to.deep.equal([]);
        return;
      }
      expect(scheduler.actions, 'timers left after the end').to.have.length(0);
      expect(paused$.observed, 'paused$ still subscribed after the end').to.equal(false);
      if (closeSeenBeforeEnd) {
        expect(endCalls, 'a socket the server closed is not closed again').to.deep.equal([]);
      } else {
        expect(endCalls, 'the socket is closed exactly once, when the session ends').to.have.length(1);
      }
    };

    /** A well-behaved socket delivers nothing before open, and nothing after a close, an error or the session's close(). */
    const deliver = (act: Action): void => {
      const live = !serverEnded && endCalls.length === 0;
      const mayDeliver = scenario.leaky || (live && (openDelivered || act.kind === 'close' || act.kind === 'fail'));
      switch (act.kind) {
        case 'open':
          if (!scenario.leaky && (openDelivered || !live)) return;
          openDelivered = true;
          return server.next(act);
        case 'text':
          if (!mayDeliver) return;
          if (!ended() && isErrorFrame(act.text)) errorFrameSeen = true;
          return server.next(act);
        case 'binary':
        case 'activity':
          if (!mayDeliver) return;
          return server.next(act);
        case 'close':
          if (!mayDeliver) return;
          serverEnded = true;
          if (!ended()) closeSeenBeforeEnd = true;
          return server.next(act);
        case 'fail':
          if (!mayDeliver) return;
          serverEnded = true;
          return server.next(act);
        case 'wait':
          return advance(act.ms);
        case 'pause':
          return paused$.next(act.paused);
        case 'unsubscribe':
          return leave();
      }
    };

    for (step = 0; step < scenario.actions.length; step++) {
      const act = scenario.actions[step];
      if (act === undefined) break;
      const before = terminals;
      const endedBefore = endCalls.length;
      deliver(act);
      invariants();
      // Every close()/terminate() so far came in this step.
      if (terminals > before && terminal?.kind !== 'unsubscribed')
        expect(endedBefore === 0 || closeSeenBeforeEnd, 'closed at the moment it ended').to.equal(true);
    }
    // The script is over: let every timer run.
    step = scenario.actions.length;
    advance(1_000_000);
    invariants();
    if (!ended()) {
      // Still running: only if nothing can end it (a timeout disabled, or paused with no total limit).
      const { connect, firstAudio, idle, errorGrace, total } = scenario.timeouts;
      const canHang = total === Infinity && (paused$.value || [connect, firstAudio, idle, errorGrace].includes(Infinity));
      expect(canHang, 'a session with every timeout finite never hangs').to.equal(true);
      leave();
      invariants();
    }

    checkEvents(events, terminal);
    if (terminal?.kind === 'error')
      checkError(terminal.error, cause, {
        errorFrameSeen,
        sendThrows: scenario.sendThrows,
        timeouts: scenario.timeouts,
        actions: scenario.actions,
        step: Math.min(step, scenario.actions.length),
      });
    if (terminal?.kind === 'complete') expect(cause, 'completes only on a text frame (END)').to.equal('text');
    const call = endCalls[0];
    if (call !== undefined) {
      const opened = events.some((e) => e.type === 'open') || (cause === 'open' && scenario.sendThrows);
      expect(call, 'close(1000) once open, terminate() while connecting').to.deep.equal(
        opened ? { how: 'close', code: 1000, at: call.at } : { how: 'terminate', at: call.at },
      );
    }
    return { events, terminal, cause };
  } finally {
    strays.restore();
  }
};

/** The events tell a possible story: open, start, audio/subtitle/unknown…, end. */
const checkEvents = (events: readonly SisEvent[], terminal: Outcome['terminal']): void => {
  const types = events.map((e) => e.type);
  expect(
    types.filter((t) => t === 'open'),
    'open events',
  ).to.have.length.at.most(1);
  expect(
    types.filter((t) => t === 'start'),
    'start events',
  ).to.have.length.at.most(1);
  const openAt = types.indexOf('open');
  const startAt = types.indexOf('start');
  if (startAt >= 0) expect(openAt, 'open before start').to.be.within(0, startAt);
  const audio = events.flatMap((e) => (e.type === 'audio' ? [e.chunk] : []));
  if (audio.length > 0) expect(types.indexOf('audio'), 'audio after start').to.be.above(startAt).and.above(-1);
  let offset = 0;
  audio.forEach((chunk, index) => {
    expect(chunk).to.include({ index, offset });
    offset += chunk.data.byteLength;
  });
  const endAt = types.indexOf('end');
  if (endAt >= 0) {
    expect(endAt, 'end is the last event').to.equal(types.length - 1);
    expect(terminal?.kind === 'complete' || terminal?.kind === 'unsubscribed', 'complete after end').to.equal(true);
    const end = events[endAt];
    if (end?.type === 'end') expect(end).to.include({ chunks: audio.length, bytes: offset });
  }
  if (terminal?.kind === 'complete') expect(endAt, 'completes only after an end event').to.be.above(-1);
};

interface ErrorContext {
  readonly errorFrameSeen: boolean;
  readonly sendThrows: boolean;
  readonly timeouts: Timeouts;
  readonly actions: readonly Action[];
  readonly step: number;
}

/** The error fits what the server did at that moment, with the right class and fields. */
const checkError = (error: SisError, cause: Cause | undefined, context: ErrorContext): void => {
  const json = JSON.stringify(error);
  expect(`${error.message} ${json} ${String(error)}`, 'no secret in an error').not.to.include(TOKEN);
  expect(error.retryable).to.be.a('boolean');
  const act = context.actions[context.step];
  const oneOf = (...classes: (abstract new (...args: never[]) => SisError)[]): void => {
    expect(
      classes.some((c) => error instanceof c),
      `${error.name} (${error.message}) on ${String(cause)}`,
    ).to.equal(true);
  };
  // After an ERROR frame the session is lost: whatever ends it, the service's error is the one reported.
  if (context.errorFrameSeen) return oneOf(SisServiceError);
  switch (cause) {
    case 'text':
      return oneOf(SisProtocolError, SisServiceError); // FATAL_ERROR and END/ERROR are service errors
    case 'binary':
      return oneOf(SisProtocolError);
    case 'open':
      expect(context.sendThrows, 'open ends a session only when START cannot be sent').to.equal(true);
      return oneOf(SisConnectionError);
    case 'close':
      oneOf(SisConnectionError);
      if (error instanceof SisConnectionError && act?.kind === 'close') expect(error).to.include({ closeCode: act.code, closeReason: act.reason });
      return;
    case 'fail':
      if (act?.kind !== 'fail') return;
      if (act.failure.kind === 'network') return oneOf(SisConnectionError);
      if (act.failure.kind === 'frame-too-large') {
        oneOf(SisProtocolError);
        return void (error instanceof SisProtocolError && expect(error.message).to.include(`maxPayload (${MAX_PAYLOAD} bytes)`));
      }
      if (act.failure.kind === 'invalid-frame') return oneOf(SisProtocolError);
      oneOf(SisHandshakeError);
      return void expect(error).to.include({ status: act.failure.status });
    case 'wait':
    case 'end of script':
      oneOf(SisTimeoutError);
      if (error instanceof SisTimeoutError && error.phase !== 'text') expect(error.timeoutMs).to.equal(context.timeouts[error.phase]);
      return;
    default:
      expect.fail(`${error.name} on ${String(cause)}: activity, pause and unsubscribe never end a session with an error`);
  }
};
