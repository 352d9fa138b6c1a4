/**
 * A scheduler-driven fake socket (the rxjs-websockets idea): each socket replays a marble-defined
 * server script into the session, and records what the session did to it. Closing the socket
 * unsubscribes from the script, so `expectSubscriptions(script.subscriptions)` shows teardown time.
 * This is the socket level; most tests want {@link createTestingClient} instead.
 */
import type { Observable, SchedulerLike, Subscription } from 'rxjs';
import type { ConnectRequest, SocketListener, TransportFailure, WebSocketFactory } from '../transport/websocket-like.js';

/** One thing the fake server does to a socket: what a {@link SocketListener} is told. */
export type ServerAction =
  | { readonly kind: 'open' }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'binary'; readonly data: Uint8Array }
  | { readonly kind: 'activity' }
  | { readonly kind: 'close'; readonly code: number; readonly reason: string }
  | { readonly kind: 'fail'; readonly failure: TransportFailure };

/** What a fake socket saw of the session: the handshake, the commands sent, how it was ended. */
export interface FakeSocketRecord {
  /** The handshake as the session asked for it (URL, headers, limits). */
  readonly request: ConnectRequest;
  /** Every text the session sent (JSON commands), in order. */
  readonly sent: string[];
  /** What the session did to end the socket, with the virtual time. */
  readonly endedBy: { how: 'close' | 'terminate'; code?: number; at: number }[];
  /** Flow-control calls, with the virtual time. */
  readonly flow: { call: 'pause' | 'resume'; at: number }[];
}

/** The factory to pass as the client's `webSocketFactory`, and the records of the sockets it opened. */
export interface FakeSockets {
  /** Pass it as the client's `webSocketFactory` option. */
  readonly factory: WebSocketFactory;
  /** One record per socket opened, in order. */
  readonly sockets: FakeSocketRecord[];
}

/** Sockets that misbehave (the fuzz harness): the session must stay correct even then. */
export interface FakeSocketOptions {
  /** `send()` throws (after recording the text), as a socket that died between open and START does. */
  readonly sendThrows?: boolean;
  /**
   * The socket breaks its contract: it goes on delivering its script after the session's own close() or
   * terminate(). (A script is never filtered, so frames it puts before open or after a close reach the session anyway.)
   */
  readonly leaky?: boolean;
}

/**
 * Sockets driven by scripts. `script(socket)` is called once per socket (usually returning the same cold
 * Observable) and subscribed on `scheduler` once the factory has returned; `socket` is its 0-based index
 * in `sockets`, for a speech whose sentences each get a script of their own. A script is delivered as it
 * is: begin it with {@link open}.
 * @example
 * testScheduler.run(({ cold, expectObservable }) => {
 *   const fake = fakeSockets(testScheduler, () => cold('-o-s-a-e', { o: open, s: startFrame(), a: binary(1, 2), e: endFrame() }));
 *   const client = createSisClient({ endpoint: 'ws://127.0.0.1:9', projectId: 'p', auth: { token: 't' }, webSocketFactory: fake.factory, scheduler: testScheduler });
 *   expectObservable(client.synthesize$({ text: 'hi' }).pipe(map((chunk) => chunk.data.byteLength))).toBe('-----a-|', { a: 2 });
 * });
 */
export const fakeSockets = (scheduler: SchedulerLike, script: (socket: number) => Observable<ServerAction>, options: FakeSocketOptions = {}): FakeSockets => {
  const sockets: FakeSocketRecord[] = [];
  const factory: WebSocketFactory = (request: ConnectRequest, listener: SocketListener) => {
    const record: FakeSocketRecord = { request, sent: [], endedBy: [], flow: [] };
    const index = sockets.length;
    sockets.push(record);
    let subscription: Subscription | undefined;
    let ended = false;
    const deliver = (action: ServerAction): void => {
      ended ||= action.kind === 'close' || action.kind === 'fail';
      deliverAction(listener, action);
    };
    // The contract: no callback before the factory has returned.
    const starting = scheduler.schedule(() => {
      subscription = script(index).subscribe(deliver);
    });
    const end = (how: 'close' | 'terminate', code?: number): void => {
      record.endedBy.push({ how, ...(code === undefined ? {} : { code }), at: scheduler.now() });
      if (ended || options.leaky === true) return;
      ended = true;
      starting.unsubscribe();
      subscription?.unsubscribe();
    };
    return {
      send: (text) => {
        record.sent.push(text);
        if (options.sendThrows === true) throw new Error('This socket is not open');
      },
      close: (code) => end('close', code),
      terminate: () => end('terminate'),
      pause: () => {
        record.flow.push({ call: 'pause', at: scheduler.now() });
      },
      resume: () => {
        record.flow.push({ call: 'resume', at: scheduler.now() });
      },
    };
  };
  return { factory, sockets };
};

/** Tells a listener what the server did. */
export const deliverAction = (listener: SocketListener, action: ServerAction): void => {
  switch (action.kind) {
    case 'open':
      return listener.onOpen();
    case 'text':
      return listener.onMessage(action.text);
    case 'binary':
      return listener.onMessage(action.data);
    case 'activity':
      return listener.onActivity();
    case 'close':
      return listener.onClose(action.code, action.reason);
    case 'fail':
      return listener.onError(action.failure);
  }
};

// ---- building blocks for scripts ---------------------------------------------------------------

/** The default trace id of the frame builders below (and of `DEFAULT_RESPONSES`); a `TestSession` uses its own, `trace-<index>`. */
export const TRACE = '567e8537-a89c-13c3-a882-826321939651';
/** The handshake succeeded. */
export const open: ServerAction = { kind: 'open' };
/** A text frame: a string as it is, anything else as JSON. */
export const text = (frame: unknown): ServerAction => ({ kind: 'text', text: typeof frame === 'string' ? frame : JSON.stringify(frame) });
/** A binary frame (audio) of these bytes. */
export const binary = (...bytes: number[]): ServerAction => ({ kind: 'binary', data: Uint8Array.from(bytes) });
/** Bytes of a frame still arriving. */
export const activity: ServerAction = { kind: 'activity' };
/** The server closes the socket (1006: the connection dropped). */
export const close = (code: number, reason = ''): ServerAction => ({ kind: 'close', code, reason });
/** The socket fails: handshake rejected, network, protocol. */
export const fail = (failure: TransportFailure): ServerAction => ({ kind: 'fail', failure });
/** The START response. */
export const startFrame = (traceId = TRACE): ServerAction => text({ resp_type: 'START', trace_id: traceId });
/** The END frame, NORMAL or ERROR. */
export const endFrame = (reason: 'NORMAL' | 'ERROR' = 'NORMAL', traceId = TRACE): ServerAction => text({ resp_type: 'END', trace_id: traceId, reason });
/** An ERROR frame (in real-time synthesis an END/ERROR follows it). */
export const errorFrame = (code = 'SIS.0401', msg = 'synthesis error', traceId = TRACE): ServerAction =>
  text({ resp_type: 'ERROR', trace_id: traceId, error_code: code, error_msg: msg });
/** A FATAL_ERROR frame: the service gives up the session at once. */
export const fatalFrame = (code = 'SIS.0304', msg = 'wait voice timeout', traceId = TRACE): ServerAction =>
  text({ resp_type: 'FATAL_ERROR', trace_id: traceId, error_code: code, error_msg: msg });
