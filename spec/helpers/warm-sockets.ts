/**
 * Fake sockets that answer like the service, for the warm-connection specs: socket n replays its
 * `before` marbles from its creation (the handshake, then whatever happens while it waits: nothing,
 * the server's idle close, a stray frame) and, once START is sent on it, its `reply` marbles. A pool
 * socket can wait any time before a session takes it, so its reply cannot be written at a fixed frame.
 * Like a real socket, a script says nothing more after a close or a failure.
 */
import { type Observable, NEVER, Subject, merge, switchMap, take, takeWhile } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { createSisClient, type SisConnectionOptions, type WarmStats } from '../../lib/index.js';
import type { WebSocketFactory } from '../../lib/transport/websocket-like.js';
import { type FakeSocketRecord, type ServerAction, binary, close, endFrame, fail, fakeSockets, fatalFrame, open, startFrame } from './fake-socket.js';

export interface ServerScripts {
  /** Marbles of socket n from its creation until START is sent on it. */
  readonly before: (socket: number) => string;
  /** Marbles of socket n from the moment START is sent on it. */
  readonly reply: (socket: number) => string;
}

export interface ServerSockets {
  readonly factory: WebSocketFactory;
  readonly sockets: FakeSocketRecord[];
  /** The virtual time each socket was created at. */
  readonly createdAt: number[];
  /** Each socket's unref() and ref() calls (see WebSocketLike), with the virtual time. */
  readonly holds: { call: 'unref' | 'ref'; at: number }[][];
}

const isStart = (text: string): boolean => (JSON.parse(text) as { command?: unknown }).command === 'START';

/** Use inside `scheduler.run()`: the marbles are read in run mode (1 ms per frame, time progression allowed). */
export const serverSockets = (scheduler: TestScheduler, scripts: ServerScripts, values: Record<string, ServerAction>): ServerSockets => {
  const starts: Subject<void>[] = [];
  const createdAt: number[] = [];
  const holds: { call: 'unref' | 'ref'; at: number }[][] = [];
  const script = (socket: number): Observable<ServerAction> => {
    const started: Observable<void> = starts[socket] ?? NEVER;
    const reply = started.pipe(
      take(1),
      switchMap(() => scheduler.createColdObservable<ServerAction>(scripts.reply(socket), values)),
    );
    const before = scheduler.createColdObservable<ServerAction>(scripts.before(socket), values);
    // The reply first: a START sent in the same frame as the open must find it listening.
    return merge(reply, before).pipe(takeWhile((action) => action.kind !== 'close' && action.kind !== 'fail', true));
  };
  const fake = fakeSockets(scheduler, script);
  const factory: WebSocketFactory = (request, listener) => {
    const started = new Subject<void>();
    const held: { call: 'unref' | 'ref'; at: number }[] = [];
    starts.push(started);
    createdAt.push(scheduler.now());
    holds.push(held);
    const socket = fake.factory(request, listener);
    return {
      ...socket,
      send: (text) => {
        socket.send(text);
        if (isStart(text)) started.next();
      },
      unref: () => {
        held.push({ call: 'unref', at: scheduler.now() });
      },
      ref: () => {
        held.push({ call: 'ref', at: scheduler.now() });
      },
    };
  };
  return { factory, sockets: fake.sockets, createdAt, holds };
};

export const REALTIME_URL = 'ws://127.0.0.1:9/v1/project-1/rtts';
export const STREAMING_URL = 'ws://127.0.0.1:9/v1/project-1/vcs/voices/clone';
export const TOKEN = 'token-for-warm-marble-tests';

/** The values of the scripts' marbles. */
export const v = {
  o: open,
  s: startFrame(),
  a: binary(1, 2),
  e: endFrame(),
  c: close(1000),
  f: fatalFrame('SIS.0304', 'wait voice timeout'),
  x: fatalFrame('SIS.0401', 'synthesis error'),
  n: fail({ kind: 'network', message: 'read ECONNRESET' }),
  t: fail({ kind: 'frame-too-large', limit: 1024 }),
  r: fail({ kind: 'handshake-rejected', status: 503, body: '' }),
  u: fail({ kind: 'handshake-rejected', status: 401, body: '{"error_code":"APIG.0301","error_msg":"Incorrect IAM authentication information"}' }),
};

/** A socket's handshake: open at HANDSHAKE_MS. */
export const HANDSHAKE = '---o';
export const HANDSHAKE_MS = HANDSHAKE.indexOf('o');
/** What a socket answers to START: the START response, one audio frame, END. */
export const REPLY = '-s-a-e';
export const START_MS = REPLY.indexOf('s');
export const AUDIO_MS = REPLY.indexOf('a');
export const END_MS = REPLY.indexOf('e');

export const SIZE = 2;
export const MAX_IDLE_MS = 100;
/** A warm socket's life: opened at HANDSHAKE_MS after its creation, closed MAX_IDLE_MS later. */
export const LIFE_MS = HANDSHAKE_MS + MAX_IDLE_MS;
/** The pool refills for ever: every test stops there at the latest. */
export const HORIZON = 100 * LIFE_MS;

/** A client with a warm pool (SIZE, MAX_IDLE_MS) over server sockets; use inside `scheduler.run()`. */
export const warmSetup = (scheduler: TestScheduler, scripts: Partial<ServerScripts> = {}, options: Partial<SisConnectionOptions> = {}) => {
  const server = serverSockets(scheduler, { before: () => HANDSHAKE, reply: () => REPLY, ...scripts }, v);
  const client = createSisClient({
    endpoint: 'ws://127.0.0.1:9',
    projectId: 'project-1',
    auth: { token: TOKEN },
    timeouts: { connect: 50, firstAudio: 50, idle: 50, errorGrace: 20 },
    webSocketFactory: server.factory,
    scheduler,
    warm: { size: SIZE, maxIdleMs: MAX_IDLE_MS },
    ...options,
  });
  scheduler.maxFrames = HORIZON;
  /** Runs `work` at `frame`. */
  const at = (frame: number, work: () => void): void => {
    scheduler.schedule(work, frame - scheduler.now());
  };
  /** Runs `work` at `frame`, after whatever else was scheduled for that frame before `from`. */
  const lateAt = (from: number, frame: number, work: () => void): void => at(from, () => at(frame, work));
  /** Runs `work` at the end of `frame`, once what was due then has happened. */
  const atEnd = (frame: number, work: () => void): void => at(frame, () => at(frame, work));
  /** The STARTs sent on each socket. */
  const starts = (): number[] => server.sockets.map((socket) => socket.sent.filter((text) => text.includes('"START"')).length);
  return { client, ...server, at, lateAt, atEnd, starts };
};

/** What a subscription saw, each with its frame: values, and how it ended. */
export const watch = <T>(scheduler: TestScheduler) => {
  const values: { at: number; value: T }[] = [];
  const ended: { at: number; how: 'complete' | 'error'; error?: unknown }[] = [];
  const observer = {
    next: (value: T) => values.push({ at: scheduler.now(), value }),
    complete: () => ended.push({ at: scheduler.now(), how: 'complete' as const }),
    error: (error: unknown) => ended.push({ at: scheduler.now(), how: 'error' as const, error }),
  };
  return { values, ended, observer };
};

/** Stats, zero where not given. */
export const stats = (partial: Partial<WarmStats>): WarmStats => ({
  warm: 0,
  connecting: 0,
  hits: 0,
  misses: 0,
  expired: 0,
  lost: 0,
  failed: 0,
  backoffMs: 0,
  ...partial,
});

/**
 * A marble diagram (run mode) with each value at its frame, frames given in ascending order: the
 * frames are computed from the scripts, not counted in dashes. A value may be a group such as `(e|)`.
 */
export const timeline = (...values: readonly (readonly [frame: number, value: string])[]): string => {
  let next = 0;
  let diagram = '';
  for (const [frame, value] of values) {
    if (frame > next) diagram += ` ${frame - next}ms `;
    diagram += value;
    // A value, group or not, moves the clock by its length.
    next = frame + value.length;
  }
  return diagram;
};
