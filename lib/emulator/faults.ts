/**
 * Fault injection: what the emulator can do wrong on purpose. Every fault is an io-ts codec, so the
 * types come from the codecs and the options can be validated with the same definitions.
 * To add a fault: add its codec to `sessionFaultCodecs` (or `handshakeFaultCodecs`), its behaviour to
 * `script.ts` and a line to the docs of `SessionFault` (or `HandshakeFault`), which are what users read;
 * the compiler then points at every place that must handle it.
 */
import * as t from 'io-ts';
import { intIn, refined } from '../protocol/rules.js';
import type { StreamingStartCommand } from '../protocol/streaming.js';
import type { StartCommand } from '../protocol/wire.js';

/** Close codes a server may send (RFC 6455 §7.4, as `ws` accepts them). */
const CloseCode = refined(
  'a close code 1000..1014 (not 1004-1006) or 3000..4999',
  (u): u is number => typeof u === 'number' && Number.isInteger(u) && ((u >= 1000 && u <= 1014 && ![1004, 1005, 1006].includes(u)) || (u >= 3000 && u <= 4999)),
);

/** A close reason fits in a control frame: at most 123 bytes of UTF-8. */
const CloseReason = refined('a string of at most 123 bytes', (u): u is string => typeof u === 'string' && Buffer.byteLength(u) <= 123);

/**
 * Where in a session a fault strikes:
 * - `'before-start'`: the START command arrived (and was valid), the START response is not sent;
 * - `'after-start'`: after the START response, before any audio;
 * - `{ afterFrames: n }`: after n binary audio frames (past the last frame it means `'before-end'`);
 * - `{ afterPieces: n }` (streaming): after the n-th accepted MSG arrived, before any of its text is
 *   synthesised; 0 means `'after-start'`, and past the last piece (or on a real-time session, which has
 *   no pieces) it means `'before-end'`;
 * - `'before-end'`: after all audio, instead of END;
 * - `'after-end'`: after END (the client should be closing by then: whatever comes must change nothing).
 *
 * On a streaming session the audio, and so the points, come as the text does: a point strikes when the
 * session reaches it, after whatever was already queued before it.
 */
export type FaultPoint = 'before-start' | 'after-start' | { readonly afterFrames: number } | { readonly afterPieces: number } | 'before-end' | 'after-end';

const isCount = (value: unknown, key: 'afterFrames' | 'afterPieces'): boolean =>
  typeof value === 'object' &&
  value !== null &&
  Object.keys(value).length === 1 &&
  intIn(0, Number.MAX_SAFE_INTEGER).is((value as Record<string, unknown>)[key]);

// One codec rather than a union, so a bad point is one problem and not one per alternative.
/** @hidden The codec; the emulator's entry point exports only the type. */
export const FaultPoint = refined<FaultPoint>(
  "'before-start', 'after-start', { afterFrames: n >= 0 }, { afterPieces: n >= 0 }, 'before-end' or 'after-end'",
  (u): u is FaultPoint =>
    u === 'before-start' || u === 'after-start' || u === 'before-end' || u === 'after-end' || isCount(u, 'afterFrames') || isCount(u, 'afterPieces'),
);

const serviceError = t.partial({ errorCode: t.string, errorMsg: t.string });

/** Faults decided at the WebSocket handshake. */
export const handshakeFaultCodecs = {
  /** Answer the upgrade with an HTTP error and an API gateway JSON body. */
  'reject-handshake': t.intersection([t.type({ kind: t.literal('reject-handshake'), status: intIn(400, 599) }), serviceError]),
  /** Accept the handshake, then never send anything (not even the idle-timeout FATAL_ERROR). */
  silent: t.type({ kind: t.literal('silent') }),
};

/** Faults that change what a session sends after the START command arrived. */
export const sessionFaultCodecs = {
  /**
   * An ERROR frame (default SIS.0401), then END with reason ERROR unless `errorThenEnd` is false. On a
   * streaming session, ERROR alone: the text not yet synthesised is dropped and the session is back in
   * its initial state (as after any streaming ERROR).
   */
  error: t.intersection([t.type({ kind: t.literal('error'), at: FaultPoint }), serviceError]),
  /** A FATAL_ERROR frame (default SIS.0413), then the server closes the connection. */
  fatal: t.intersection([t.type({ kind: t.literal('fatal'), at: FaultPoint }), serviceError]),
  /** END with reason ERROR and no ERROR frame before it. */
  'end-error': t.type({ kind: t.literal('end-error'), at: FaultPoint }),
  /** A close frame (default code 1011), or with `how: 'reset'` the TCP connection is destroyed. */
  drop: t.intersection([
    t.type({ kind: t.literal('drop'), at: FaultPoint }),
    t.partial({ how: t.keyof({ close: null, reset: null }), closeCode: CloseCode, closeReason: CloseReason }),
  ]),
  /** A text frame that is not JSON (default `{"resp_type":`), then nothing more. */
  malformed: t.intersection([t.type({ kind: t.literal('malformed'), at: FaultPoint }), t.partial({ payload: t.string })]),
  /** A well-formed frame with an unknown resp_type (default `EVENT` on real-time, `NOTICE` on streaming, where EVENT is known); the session goes on. */
  'unknown-type': t.intersection([t.type({ kind: t.literal('unknown-type'), at: FaultPoint }), t.partial({ respType: t.string })]),
  /** Stop sending; keep the socket open until the client closes it. */
  stall: t.type({ kind: t.literal('stall'), at: FaultPoint }),
  /**
   * The frame due at the point (the START response, an audio frame, END …) is written to the TCP socket
   * `bytesPerTick` bytes (default 1) every `intervalMs` (default 1,000): bytes flow, no whole frame arrives
   * for a long time. Then the session goes on. Nothing happens where no frame is due (`'after-end'`).
   */
  trickle: t.intersection([
    t.type({ kind: t.literal('trickle'), at: FaultPoint }),
    t.partial({ intervalMs: intIn(1, 60_000), bytesPerTick: intIn(1, 64 * 1024 * 1024) }),
  ]),
  /**
   * One binary frame of `bytes` bytes (default 100 MiB) of silence, streamed from a small buffer as the
   * socket drains, so the emulator's memory stays flat whatever the size; then the session goes on.
   */
  oversized: t.intersection([t.type({ kind: t.literal('oversized'), at: FaultPoint }), t.partial({ bytes: intIn(1, 2 ** 40) })]),
  /**
   * `frames` extra binary frames (default 10,000) of `bytes` bytes each (default `frameBytes`), sent as
   * fast as the socket drains (the high-water mark still applies), then the rest of the session.
   */
  flood: t.intersection([
    t.type({ kind: t.literal('flood'), at: FaultPoint }),
    t.partial({ frames: intIn(1, Number.MAX_SAFE_INTEGER), bytes: intIn(1, 64 * 1024 * 1024) }),
  ]),
  /**
   * One frame out of place before the START response, then the normal session. On a streaming session,
   * where no audio exists yet, the out-of-place audio is a frame of silence and the RESULT an empty one.
   */
  'out-of-order': t.type({
    kind: t.literal('out-of-order'),
    what: t.keyof({ 'audio-before-start': null, 'duplicate-start': null, 'end-before-start': null, 'result-before-start': null }),
  }),
};

type Codecs<C> = { [K in keyof C]: C[K] extends t.Mixed ? t.TypeOf<C[K]> : never };
/**
 * A fault in what a session sends after its START command arrived, striking at the {@link FaultPoint} `at`
 * (every kind but `'out-of-order'`):
 * - `{ kind: 'error', errorCode?, errorMsg? }`: an ERROR frame (default SIS.0401), then END with reason ERROR
 *   unless the option `errorThenEnd` is false; on a streaming session ERROR alone, and the text not yet
 *   synthesised is dropped;
 * - `{ kind: 'fatal', errorCode?, errorMsg? }`: a FATAL_ERROR frame (default SIS.0413), then the server closes;
 * - `{ kind: 'end-error' }`: END with reason ERROR, no ERROR frame before it;
 * - `{ kind: 'drop', how?, closeCode?, closeReason? }`: a close frame (default code 1011; 1000..1014 but not
 *   1004..1006, or 3000..4999; a reason of at most 123 bytes), or with `how: 'reset'` the TCP connection is destroyed;
 * - `{ kind: 'malformed', payload? }`: a text frame that is not JSON (default `{"resp_type":`), then nothing more;
 * - `{ kind: 'unknown-type', respType? }`: a well-formed frame of an unknown `resp_type` (default `EVENT` on
 *   real-time, `NOTICE` on streaming); the session goes on;
 * - `{ kind: 'stall' }`: nothing more is sent; the socket stays open until the client closes it;
 * - `{ kind: 'trickle', intervalMs?, bytesPerTick? }`: the frame due at the point is written `bytesPerTick`
 *   bytes (default 1) every `intervalMs` (default 1,000), then the session goes on;
 * - `{ kind: 'oversized', bytes? }`: one binary frame of `bytes` (default 100 MiB) of silence, then the session goes on;
 * - `{ kind: 'flood', frames?, bytes? }`: `frames` extra binary frames (default 10,000) of `bytes` each
 *   (default the option `frameBytes`) as fast as the socket drains, then the rest of the session;
 * - `{ kind: 'out-of-order', what }`: one frame out of place before the START response (`what`:
 *   `'audio-before-start'`, `'duplicate-start'`, `'end-before-start'` or `'result-before-start'`), then the normal session.
 */
export type SessionFault = Codecs<typeof sessionFaultCodecs>[keyof typeof sessionFaultCodecs];
/**
 * A fault decided at the WebSocket handshake:
 * - `{ kind: 'reject-handshake', status, errorCode?, errorMsg? }`: the upgrade is answered with HTTP `status`
 *   (400..599) and an API gateway JSON body;
 * - `{ kind: 'silent' }`: the handshake is accepted, then nothing is ever sent (not even the idle-timeout FATAL_ERROR).
 */
export type HandshakeFault = Codecs<typeof handshakeFaultCodecs>[keyof typeof handshakeFaultCodecs];
/** Something the emulator does wrong on purpose; `kind` tells which. */
export type Fault = HandshakeFault | SessionFault;
/** A session fault that strikes at a {@link FaultPoint}. */
export type PointFault = Extract<SessionFault, { at: FaultPoint }>;

export const faultCodecs: { readonly [K in Fault['kind']]: t.Type<Extract<Fault, { kind: K }>, unknown, unknown> } = {
  ...handshakeFaultCodecs,
  ...sessionFaultCodecs,
};

export const isSessionFault = (fault: Fault): fault is SessionFault => Object.hasOwn(sessionFaultCodecs, fault.kind);

/** Redacted request headers: credentials are replaced by `'<redacted>'`. */
export type RedactedHeaders = Readonly<Record<string, string | readonly string[]>>;

/** The API a connection's path asks for: real-time synthesis (`/rtts`) or streaming synthesis (`/vcs/voices/clone`). */
export type EmulatedApi = 'realtime' | 'streaming';

/** What a fault function knows about the connection. */
export interface FaultContext {
  /** 1-based number of the connection (handshake) since the emulator started. */
  readonly connection: number;
  readonly path: string;
  /** The API the path asks for. */
  readonly api: EmulatedApi;
  readonly headers: RedactedHeaders;
}

/** Chooses a fault per connection at the handshake, or none. */
export type FaultChooser = (context: FaultContext) => Fault | undefined;
/** Chooses a fault when a real-time START command arrives, e.g. by its text; handshake faults make no sense here. */
export type StartFaultChooser = (command: StartCommand, context: FaultContext) => SessionFault | undefined;
/**
 * Chooses a fault when a streaming START command is accepted (asked again at each START on the
 * connection until one is chosen), e.g. by its voice or `config`; a MULTI START carries no text.
 */
export type StreamingStartFaultChooser = (command: StreamingStartCommand, context: FaultContext) => SessionFault | undefined;

/**
 * A fault for the sessions whose text matches (option `faultsByText`): a real-time START's text, or a
 * streaming START's with `text_pieces: 'ONLY'` (a MULTI START carries no text).
 */
export interface TextFaultRule {
  /** A substring of the text, or a regular expression written `/source/flags` (e.g. `/^retry/i`). */
  readonly match: string;
  readonly fault: SessionFault;
  /** How many sessions get the fault, then the rule is spent; default every one that matches. */
  readonly times?: number | undefined;
}

/** `/source/flags` as a RegExp; undefined when `match` is a plain substring. Throws SyntaxError on a bad expression. */
export const regexOf = (match: string): RegExp | undefined => {
  const literal = /^\/(.+)\/([a-z]*)$/s.exec(match);
  return literal === null ? undefined : new RegExp(literal[1] ?? '', literal[2]);
};

/** The chooser of `faultsByText`: the first rule that matches the text and is not spent. The rules are checked already. */
export const textFaultChooser = (rules: readonly TextFaultRule[]): ((text: string | undefined) => SessionFault | undefined) => {
  const compiled = rules.map((rule) => {
    const regex = regexOf(rule.match);
    // Without g and y: those would carry lastIndex from one text to the next.
    const pattern = regex === undefined ? undefined : new RegExp(regex.source, regex.flags.replace(/[gy]/g, ''));
    return { fault: rule.fault, left: rule.times, test: (text: string): boolean => (pattern === undefined ? text.includes(rule.match) : pattern.test(text)) };
  });
  return (text) => {
    if (text === undefined) return undefined;
    const rule = compiled.find((r) => (r.left === undefined || r.left > 0) && r.test(text));
    if (rule === undefined) return undefined;
    if (rule.left !== undefined) rule.left--;
    return rule.fault;
  };
};
