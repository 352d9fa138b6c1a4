/**
 * A scheduler-driven fake socket (the rxjs-websockets idea): each socket replays a marble-defined
 * server script into the session, and records what the session did to it. Closing the socket
 * unsubscribes from the script, so `expectSubscriptions(script.subscriptions)` shows teardown time.
 */
import type { Observable, SchedulerLike, Subscription } from 'rxjs';
import type { ConnectRequest, SocketListener, TransportFailure, WebSocketFactory } from '../../lib/transport/websocket-like.js';

export type ServerAction =
  | { readonly kind: 'open' }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'binary'; readonly data: Uint8Array }
  | { readonly kind: 'activity' }
  | { readonly kind: 'close'; readonly code: number; readonly reason: string }
  | { readonly kind: 'fail'; readonly failure: TransportFailure };

export interface FakeSocketRecord {
  readonly request: ConnectRequest;
  readonly sent: string[];
  /** What the session did to end the socket, with the virtual time. */
  readonly endedBy: { how: 'close' | 'terminate'; code?: number; at: number }[];
  /** Flow-control calls, with the virtual time. */
  readonly flow: { call: 'pause' | 'resume'; at: number }[];
}

export interface FakeSockets {
  readonly factory: WebSocketFactory;
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
 * `script(socket)` is called once per socket (usually returning the same cold Observable); `socket` is
 * its 0-based index in `sockets`, for a speech whose sentences each get a script of their own.
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
          ended = true;
          return listener.onClose(action.code, action.reason);
        case 'fail':
          ended = true;
          return listener.onError(action.failure);
      }
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

// ---- building blocks for scripts ---------------------------------------------------------------

export const TRACE = '567e8537-a89c-13c3-a882-826321939651';
export const open: ServerAction = { kind: 'open' };
export const text = (frame: unknown): ServerAction => ({ kind: 'text', text: typeof frame === 'string' ? frame : JSON.stringify(frame) });
export const binary = (...bytes: number[]): ServerAction => ({ kind: 'binary', data: Uint8Array.from(bytes) });
/** Bytes of a frame still arriving. */
export const activity: ServerAction = { kind: 'activity' };
export const close = (code: number, reason = ''): ServerAction => ({ kind: 'close', code, reason });
export const fail = (failure: TransportFailure): ServerAction => ({ kind: 'fail', failure });
export const startFrame = (traceId = TRACE): ServerAction => text({ resp_type: 'START', trace_id: traceId });
export const endFrame = (reason: 'NORMAL' | 'ERROR' = 'NORMAL', traceId = TRACE): ServerAction => text({ resp_type: 'END', trace_id: traceId, reason });
export const errorFrame = (code = 'SIS.0401', msg = 'synthesis error', traceId = TRACE): ServerAction =>
  text({ resp_type: 'ERROR', trace_id: traceId, error_code: code, error_msg: msg });
export const fatalFrame = (code = 'SIS.0304', msg = 'wait voice timeout', traceId = TRACE): ServerAction =>
  text({ resp_type: 'FATAL_ERROR', trace_id: traceId, error_code: code, error_msg: msg });
