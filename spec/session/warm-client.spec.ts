/**
 * Warm connections from the client's side: the `warm` option, `prewarm`'s arguments, `close()`,
 * cancelling a session on a warm socket, and the one transparent reconnect of a session whose warm
 * socket is lost between START and its response (real-time and streaming). Virtual time, fake sockets
 * that answer like the service (spec/helpers/warm-sockets.ts).
 */
import { expect } from 'chai';
import { type Observable, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  SisClosedError,
  SisConfigError,
  SisConnectionError,
  SisProtocolError,
  SisServiceError,
  createSisClient,
  events$ as oneShotEvents$,
  synthesize$ as oneShotSynthesize$,
  type SisClientOptions,
  type SisEvent,
  type SpeechChunk,
} from '../../lib/index.js';
import { errorOf } from '../helpers/errors.js';
import { createTestScheduler } from '../helpers/marbles.js';
import { TRACE } from '../helpers/fake-socket.js';
import {
  AUDIO_MS,
  END_MS,
  HANDSHAKE,
  HANDSHAKE_MS,
  LIFE_MS,
  MAX_IDLE_MS,
  REPLY,
  SIZE,
  START_MS,
  STREAMING_URL,
  TOKEN,
  stats,
  timeline,
  warmSetup,
  watch,
} from '../helpers/warm-sockets.js';

const OPTIONS: SisClientOptions = { endpoint: 'ws://127.0.0.1:9', projectId: 'project-1', auth: { token: TOKEN } };

/** The problems of the SisConfigError that creating a client with `warm` throws; [] if it does not throw. */
const warmProblems = (warm: unknown): unknown => {
  try {
    // A client that is made starts warming at once: closed here, so that no test leaves sockets connecting.
    void createSisClient({ ...OPTIONS, warm } as SisClientOptions).close();
    return [];
  } catch (error) {
    expect(error).to.be.instanceOf(SisConfigError);
    return (error as SisConfigError).problems;
  }
};

/** What the client sent on a socket, parsed. */
const commands = (sent: readonly string[]): unknown[] => sent.map((frame) => JSON.parse(frame) as unknown);

describe('warm connections: the client (marble tests over fake sockets)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  describe('the warm option', () => {
    it('is refused by the one-shot synthesize$ and events$, whose client would never be closed', () => {
      const factory: SisClientOptions['webSocketFactory'] = () => {
        throw new Error('no socket may be opened');
      };
      const options = { endpoint: 'ws://127.0.0.1:9', projectId: 'p', auth: { token: 't' }, warm: { size: 2 }, webSocketFactory: factory } as const;
      const calls: [string, Observable<unknown>][] = [
        ['synthesize$', oneShotSynthesize$({ text: 'x' }, options)],
        ['events$', oneShotEvents$({ text: 'x' }, options)],
      ];
      for (const [what, call$] of calls) {
        let error: unknown;
        call$.subscribe({ error: (e: unknown) => (error = e) });
        expect(error, what).to.be.instanceOf(SisConfigError);
        expect((error as SisConfigError).problems.map((p) => p.path)).to.deep.equal(['warm']);
        expect((error as SisConfigError).message).to.include(`a one-shot ${what} keeps no warm sockets`);
      }
    });

    it('accepts a size from 1 to 64 and a positive maxIdleMs (default 15 s)', () => {
      for (const warm of [{ size: 1 }, { size: 64, maxIdleMs: 1 }, { size: 2, maxIdleMs: 15_000 }, { size: 3, maxIdleMs: undefined }, undefined]) {
        expect(warmProblems(warm), JSON.stringify(warm)).to.deep.equal([]);
      }
    });

    it('refuses a size outside 1..64 or not an integer, naming warm.size', () => {
      for (const size of [0, 65, 1.5, -1, '2', undefined, Number.NaN]) {
        const got = typeof size === 'string' ? `"${size}"` : size === undefined ? 'nothing' : String(size);
        expect(warmProblems({ size }), String(size)).to.deep.equal([{ path: 'warm.size', message: `must be an integer from 1 to 64, got ${got}` }]);
      }
    });

    it('refuses a maxIdleMs that is not a positive finite number, naming warm.maxIdleMs', () => {
      for (const maxIdleMs of [0, -5, Number.POSITIVE_INFINITY, Number.NaN, '100']) {
        const got = typeof maxIdleMs === 'string' ? `"${maxIdleMs}"` : String(maxIdleMs);
        expect(warmProblems({ size: 2, maxIdleMs }), String(maxIdleMs)).to.deep.equal([
          { path: 'warm.maxIdleMs', message: `must be a positive number of ms, got ${got}` },
        ]);
      }
    });

    it('names unknown keys, suggesting the intended one, and lists every problem at once', () => {
      expect(warmProblems({ size: 2, maxIdle: 100 })).to.deep.equal([{ path: 'warm.maxIdle', message: "unknown field (did you mean 'maxIdleMs'?)" }]);
      expect(warmProblems({ size: 2, ttl: 100 })).to.deep.equal([{ path: 'warm.ttl', message: 'unknown field' }]);
      expect(warmProblems({ sise: 2, maxIdleMs: 0 })).to.deep.equal([
        { path: 'warm.sise', message: "unknown field (did you mean 'size'?)" },
        { path: 'warm.size', message: 'must be an integer from 1 to 64, got nothing' },
        { path: 'warm.maxIdleMs', message: 'must be a positive number of ms, got 0' },
      ]);
    });

    it('refuses a warm that is not an object', () => {
      for (const [warm, kind] of [
        [2, 'a number'],
        [null, 'null'],
        [[2], 'an array'],
        ['big', 'a string'],
      ] as const) {
        expect(warmProblems(warm)).to.deep.equal([{ path: 'warm', message: `must be an object like { size: 2, maxIdleMs: 15000 }, got ${kind}` }]);
      }
    });
  });

  describe('prewarm arguments', () => {
    it('rejects with SisConfigError when the client keeps no warm sockets, opening nothing', async () => {
      let opened = 0;
      const client = createSisClient({
        ...OPTIONS,
        webSocketFactory: () => {
          opened++;
          throw new Error('no socket expected');
        },
      });
      const error = await errorOf(client.prewarm());
      expect(error).to.be.instanceOf(SisConfigError);
      expect((error as SisConfigError).problems).to.deep.equal([
        { path: 'warm', message: 'is not set: create the client with warm: { size } to keep sockets warm' },
      ]);
      expect(opened).to.equal(0);
    });

    it('rejects with SisConfigError a count outside 1..size or an unknown api, and opens no streaming socket for it', async () => {
      const rejections: Promise<SisConfigError>[] = [];
      const urls: string[] = [];
      scheduler.run(({ flush }) => {
        const { client, sockets } = warmSetup(scheduler);
        const problem = async (count: unknown, api?: unknown) => (await errorOf(client.prewarm(count as number, { api: api as 'realtime' }))) as SisConfigError;
        for (const count of [0, SIZE + 1, 1.5, '1']) rejections.push(problem(count, 'streaming'));
        rejections.push(problem(1, 'rest'));
        flush();
        urls.push(...sockets.map((socket) => socket.request.url));
      });
      const errors = await Promise.all(rejections);
      for (const error of errors) expect(error).to.be.instanceOf(SisConfigError);
      expect(errors.map((error) => error.problems)).to.deep.equal([
        ...[0, SIZE + 1, 1.5, '"1"'].map((got) => [{ path: 'count', message: `must be an integer from 1 to ${SIZE}, got ${got}` }]),
        [{ path: 'options.api', message: 'must be "realtime" or "streaming", got "rest"' }],
      ]);
      expect(urls).to.not.include(STREAMING_URL);
    });
  });

  describe('close()', () => {
    it('closes the warm sockets (1000), terminates those still connecting, and refills no more', () => {
      scheduler.run(({ flush }) => {
        // Socket 1 is still connecting when the client closes.
        const closeAt = HANDSHAKE_MS + 5;
        const opening = [HANDSHAKE, timeline([closeAt + 5, 'o'])];
        const { client, sockets, at } = warmSetup(scheduler, { before: (socket) => opening[socket] ?? HANDSHAKE });
        at(closeAt, () => void client.close());
        flush();
        expect(sockets.map((socket) => socket.endedBy)).to.deep.equal([[{ how: 'close', code: 1000, at: closeAt }], [{ how: 'terminate', at: closeAt }]]);
        expect(sockets).to.have.length(SIZE);
        expect(client.stats()).to.deep.equal(stats({}));
      });
    });

    it('lets the sessions in flight finish normally: on a warm socket, on a fresh one, and reconnecting fresh', () => {
      scheduler.run(({ flush }) => {
        const take = HANDSHAKE_MS + 1;
        // The pool's sockets 0 and 1; socket 0 is lost between START and its response.
        const lostAt = take + 1;
        const { client, sockets, createdAt, at, starts } = warmSetup(
          scheduler,
          {
            before: (socket) => (socket === 0 ? timeline([HANDSHAKE_MS, 'o'], [lostAt, 'c']) : HANDSHAKE),
            reply: (socket) => (socket === 0 ? '' : REPLY),
          },
          { warm: { size: 2, maxIdleMs: MAX_IDLE_MS } },
        );
        // a takes socket 1 (the youngest), b socket 0, c misses; each hit makes a refill (sockets 2, 3), c connects socket 4.
        const [a, b, c] = [watch<unknown>(scheduler), watch<unknown>(scheduler), watch<unknown>(scheduler)];
        for (const session of [a, b, c]) at(take, () => client.synthesize$({ text: 'x' }).subscribe(session.observer));
        at(take, () => void client.close());
        flush();
        // b's reconnect is socket 5: sessions in flight still connect.
        expect(createdAt).to.deep.equal([0, 0, take, take, take, lostAt]);
        expect(starts()).to.deep.equal([1, 1, 0, 0, 1, 1]);
        expect(sockets.map((socket) => socket.endedBy)).to.deep.equal([
          [],
          [{ how: 'close', code: 1000, at: take + END_MS }],
          [{ how: 'terminate', at: take }],
          [{ how: 'terminate', at: take }],
          [{ how: 'close', code: 1000, at: take + HANDSHAKE_MS + END_MS }],
          [{ how: 'close', code: 1000, at: lostAt + HANDSHAKE_MS + END_MS }],
        ]);
        expect([a, b, c].map((session) => session.ended)).to.deep.equal([
          [{ at: take + END_MS, how: 'complete' }],
          [{ at: lostAt + HANDSHAKE_MS + END_MS, how: 'complete' }],
          [{ at: take + HANDSHAKE_MS + END_MS, how: 'complete' }],
        ]);
        expect([a, b, c].map((session) => session.values.length)).to.deep.equal([1, 1, 1]);
        expect(client.stats()).to.deep.equal(stats({ hits: 2, misses: 1 }));
      });
    });

    it('fails synthesize$, events$, speak$, speakEvents$ (even one made before) and prewarm afterwards with SisClosedError, opening nothing', async () => {
      let prewarm: Promise<number> | undefined;
      const failed: { what: string; at: number; error: unknown }[] = [];
      let opened = 0;
      const closeAt = HANDSHAKE_MS + 1;
      const after = closeAt + 1;
      scheduler.run(({ flush }) => {
        const { client, sockets, at } = warmSetup(scheduler);
        const madeBefore = client.synthesize$({ text: 'x' });
        at(closeAt, () => void client.close());
        const calls: Record<string, () => Observable<unknown>> = {
          synthesize$: () => madeBefore,
          events$: () => client.events$({ text: 'x' }),
          speak$: () => client.speak$(of('你好。'), { api: 'streaming' }),
          speakEvents$: () => client.speakEvents$(of('你好。')),
        };
        for (const [what, call] of Object.entries(calls)) {
          at(after, () => call().subscribe({ error: (error: unknown) => failed.push({ what, at: scheduler.now(), error }) }));
        }
        at(after, () => {
          prewarm = client.prewarm();
        });
        flush();
        opened = sockets.length;
      });
      expect(failed.map(({ what, at }) => ({ what, at }))).to.deep.equal(
        ['synthesize$', 'events$', 'speak$', 'speakEvents$'].map((what) => ({ what, at: after })),
      );
      for (const { error } of [...failed, { error: await errorOf(prewarm ?? Promise.resolve()) }]) {
        expect(error).to.be.instanceOf(SisClosedError);
        expect(error).to.include({ code: 'CLIENT_CLOSED', retryable: false });
        expect((error as SisClosedError).message).to.include('the client was closed');
      }
      expect(opened).to.equal(SIZE);
    });

    it('fails new sessions with SisClosedError in a client without warm sockets too', () => {
      scheduler.run(({ expectObservable, flush }) => {
        const { client, sockets } = warmSetup(scheduler, {}, { warm: undefined });
        void client.close();
        expectObservable(client.synthesize$({ text: 'x' })).toBe('#', undefined, new SisClosedError('synthesize$'));
        flush();
        expect(sockets).to.have.length(0);
      });
    });

    it('is idempotent, and Symbol.asyncDispose closes the same way', async () => {
      const closings: Promise<void>[] = [];
      const ended: unknown[] = [];
      scheduler.run(({ flush }) => {
        const closeAt = HANDSHAKE_MS + 1;
        const first = warmSetup(scheduler);
        const second = warmSetup(scheduler);
        first.at(closeAt, () => closings.push(first.client.close(), first.client.close(), first.client[Symbol.asyncDispose]()));
        second.at(closeAt, () => closings.push(second.client[Symbol.asyncDispose]()));
        flush();
        const closedOnce = Array.from({ length: SIZE }, () => [{ how: 'close', code: 1000, at: closeAt }]);
        expect(first.sockets.map((socket) => socket.endedBy)).to.deep.equal(closedOnce);
        expect(second.sockets.map((socket) => socket.endedBy)).to.deep.equal(closedOnce);
        second.client.synthesize$({ text: 'x' }).subscribe({ error: (error: unknown) => ended.push(error) });
      });
      expect(await Promise.all(closings)).to.deep.equal([undefined, undefined, undefined, undefined]);
      expect(ended).to.have.length(1);
      expect(ended[0]).to.be.instanceOf(SisClosedError);
    });
  });

  describe('cancelling', () => {
    it('closes (1000) the warm socket a cancelled session took, and nothing else; the socket is not given out again', () => {
      scheduler.run(({ flush }) => {
        const take = HANDSHAKE_MS + 1;
        const cancelAt = take + 1;
        const { client, sockets, createdAt, at, starts } = warmSetup(scheduler, { reply: () => timeline([cancelAt - take + 5, 's']) });
        at(take, () => {
          const subscription = client.synthesize$({ text: 'x' }).subscribe();
          at(cancelAt, () => subscription.unsubscribe());
        });
        // A later session takes another socket, never the cancelled one.
        const later = cancelAt + HANDSHAKE_MS;
        at(later, () => client.synthesize$({ text: 'y' }).subscribe());
        scheduler.maxFrames = later;
        flush();
        const taken = SIZE - 1;
        expect(sockets[taken]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: cancelAt }]);
        expect(sockets.filter((_, i) => i !== taken).map((socket) => socket.endedBy)).to.deep.equal(sockets.slice(1).map(() => []));
        expect(starts()[taken]).to.equal(1);
        expect(starts().reduce((sum, n) => sum + n, 0)).to.equal(2);
        // The cancelled session's socket is replaced when it ends; the later one's once its START is answered (after the last frame run).
        expect(createdAt).to.deep.equal([...Array.from({ length: SIZE }, () => 0), cancelAt]);
        expect(client.stats()).to.deep.include({ hits: 2, misses: 0 });
      });
    });

    it('closes (1000) the warm socket of a session cancelled in the frame it took it', () => {
      scheduler.run(({ flush }) => {
        const take = HANDSHAKE_MS + 1;
        const { client, sockets, at } = warmSetup(scheduler);
        at(take, () => client.synthesize$({ text: 'x' }).subscribe().unsubscribe());
        scheduler.maxFrames = take + HANDSHAKE_MS;
        flush();
        expect(sockets[SIZE - 1]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: take }]);
        expect(client.stats()).to.deep.equal(stats({ warm: SIZE, hits: 1 }));
      });
    });
  });

  describe('the transparent reconnect', () => {
    // A session takes the pool's only socket at TAKE; it is lost at LOST, after START, before the START response.
    const TAKE = HANDSHAKE_MS + 1;
    const LOST = TAKE + 1;
    const losing = (value: string) => (socket: number) => (socket === 0 ? timeline([HANDSHAKE_MS, 'o'], [LOST, value]) : HANDSHAKE);
    const SILENT = () => '';
    const ONE = { warm: { size: 1, maxIdleMs: MAX_IDLE_MS } };

    // How the warm socket is lost at LOST, and how it ends: by the server, or closed by the client when the idle close crossed START.
    for (const [what, value, closedByClient] of [
      ['closes', 'c', false],
      ['fails with a network error', 'n', false],
      ["meets the server's idle close (FATAL_ERROR SIS.0304, then close)", 'fc', true],
    ] as const) {
      it(`connects once more, fresh, when the warm socket ${what} before the START response: START again, the audio, one open event`, () => {
        scheduler.run(({ flush }) => {
          const { client, sockets, createdAt, holds, at } = warmSetup(
            scheduler,
            { before: losing(value), reply: (socket) => (socket === 0 ? '' : REPLY) },
            ONE,
          );
          const session = watch<SisEvent>(scheduler);
          at(TAKE, () => client.events$({ text: '你好' }).subscribe(session.observer));
          scheduler.maxFrames = LIFE_MS - 1;
          flush();
          // The pool's socket, the reconnect, and the refill once the reconnected session's START is answered.
          expect(createdAt).to.deep.equal([0, LOST, LOST + HANDSHAKE_MS + START_MS]);
          expect(commands(sockets[1]?.sent ?? [])).to.deep.equal(commands(sockets[0]?.sent ?? []));
          expect(commands(sockets[0]?.sent ?? [])).to.have.length(1);
          expect(sockets[0]?.endedBy).to.deep.equal(closedByClient ? [{ how: 'close', code: 1000, at: LOST }] : []);
          const done = LOST + HANDSHAKE_MS + END_MS;
          expect(session.values.map(({ at: frame, value: event }) => [frame, event.type])).to.deep.equal([
            [TAKE, 'open'],
            [LOST + HANDSHAKE_MS + START_MS, 'start'],
            [LOST + HANDSHAKE_MS + AUDIO_MS, 'audio'],
            [done, 'end'],
          ]);
          expect(session.ended).to.deep.equal([{ at: done, how: 'complete' }]);
          expect(sockets[1]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: done }]);
          // The session's own socket: never let go of.
          expect(holds[1]).to.deep.equal([]);
          expect(client.stats()).to.deep.include({ hits: 1, misses: 0, lost: 0 });
        });
      });
    }

    it('reconnects on a fresh socket even when another warm one is ready (warm sockets may go stale together)', () => {
      scheduler.run(({ flush }) => {
        // The session takes socket 1 (the youngest) and loses it; socket 0 stays warm.
        const { client, sockets, createdAt, at, starts } = warmSetup(scheduler, {
          before: (socket) => (socket === 1 ? timeline([HANDSHAKE_MS, 'o'], [LOST, 'c']) : HANDSHAKE),
          reply: (socket) => (socket === 1 ? '' : REPLY),
        });
        at(TAKE, () => client.synthesize$({ text: 'x' }).subscribe());
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        expect(createdAt).to.deep.equal([0, 0, LOST, LOST + HANDSHAKE_MS + START_MS]);
        expect(starts()).to.deep.equal([0, 1, 1, 0]);
        expect(client.stats()).to.deep.include({ warm: SIZE, hits: 1 });
        expect(sockets[0]?.endedBy).to.deep.equal([]);
      });
    });

    it('fails with SisConnectionError when the fresh socket is lost the same way: one reconnect only', () => {
      scheduler.run(({ expectObservable, flush }) => {
        const reconnect = 1;
        const reconnectLost = LOST + HANDSHAKE_MS + 1;
        const { client, sockets } = warmSetup(
          scheduler,
          { before: (socket) => (socket === reconnect ? timeline([HANDSHAKE_MS, 'o'], [reconnectLost - LOST, 'c']) : losing('c')(socket)), reply: SILENT },
          ONE,
        );
        expectObservable(client.synthesize$({ text: 'x' }), timeline([TAKE, '^'])).toBe(
          timeline([reconnectLost, '#']),
          undefined,
          new SisConnectionError('connection closed before the START response (0 frames received) (code 1000)', { closeCode: 1000, closeReason: '' }),
        );
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        // The pool's socket, the reconnect, and the refill once the session is over.
        expect(sockets).to.have.length(reconnect + 2);
        expect(sockets.map((socket) => commands(socket.sent).length)).to.deep.equal([1, 1, 0]);
      });
    });

    it('fails at once, without reconnecting, when the warm socket is lost after the START response', () => {
      scheduler.run(({ expectObservable, flush }) => {
        const { client, sockets } = warmSetup(
          scheduler,
          { before: (socket) => (socket === 0 ? timeline([HANDSHAKE_MS, 'o'], [LOST + START_MS, 'c']) : HANDSHAKE) },
          ONE,
        );
        expectObservable(client.synthesize$({ text: 'x' }), timeline([TAKE, '^'])).toBe(
          timeline([LOST + START_MS, '#']),
          undefined,
          new SisConnectionError('connection closed after START and 0 audio frames (1 frame received) (code 1000)', {
            closeCode: 1000,
            closeReason: '',
            traceId: TRACE,
          }),
        );
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        // The pool's socket and its refill: no reconnect.
        expect(sockets).to.have.length(2);
      });
    });

    it('fails at once, without reconnecting, on a FATAL_ERROR other than the idle close', () => {
      scheduler.run(({ expectObservable, flush }) => {
        const { client, sockets } = warmSetup(scheduler, { before: losing('x'), reply: SILENT }, ONE);
        expectObservable(client.synthesize$({ text: 'x' }), timeline([TAKE, '^'])).toBe(
          timeline([LOST, '#']),
          undefined,
          new SisServiceError({ traceId: TRACE, errorCode: 'SIS.0401', errorMsg: 'synthesis error', fatal: true }),
        );
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        expect(sockets).to.have.length(2);
      });
    });

    it('fails at once, without reconnecting, on a failure that is not the network (a frame too large)', () => {
      scheduler.run(({ expectObservable, flush }) => {
        const { client, sockets } = warmSetup(scheduler, { before: losing('t'), reply: SILENT }, ONE);
        expectObservable(client.synthesize$({ text: 'x' }), timeline([TAKE, '^'])).toBe(
          timeline([LOST, '#']),
          undefined,
          new SisProtocolError('a frame larger than maxPayload (1024 bytes)', { at: 'before the START response (0 frames received)', traceId: undefined }),
        );
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        expect(sockets).to.have.length(2);
      });
    });

    for (const [what, options] of [
      ['without a pool', { warm: undefined }],
      ['on a miss', { warm: { size: 1, maxIdleMs: MAX_IDLE_MS } }],
    ] as const) {
      it(`does not reconnect a socket that was not warm (${what}): its loss before the START response is an error`, () => {
        scheduler.run(({ expectObservable, flush }) => {
          // With a pool, socket 0 is the pool's (it fails, backing off), socket 1 the session's own; without, socket 0 is the session's.
          const own = options.warm === undefined ? 0 : 1;
          const subscribeAt = HANDSHAKE_MS;
          const lostAt = subscribeAt + HANDSHAKE_MS + 1;
          const { client, createdAt } = warmSetup(
            scheduler,
            {
              before: (socket) => (socket === own ? timeline([HANDSHAKE_MS, 'o'], [lostAt - subscribeAt, 'c']) : '-r'),
              reply: SILENT,
            },
            options,
          );
          expectObservable(client.synthesize$({ text: 'x' }), timeline([subscribeAt, '^'])).toBe(
            timeline([lostAt, '#']),
            undefined,
            new SisConnectionError('connection closed before the START response (0 frames received) (code 1000)', { closeCode: 1000, closeReason: '' }),
          );
          scheduler.maxFrames = LIFE_MS - 1;
          flush();
          expect(createdAt.slice(own)).to.deep.equal([subscribeAt]);
          expect(client.stats().misses).to.equal(own);
        });
      });
    }

    for (const [what, value] of [
      ['closes', 'c'],
      ["meets the server's idle close", 'fc'],
    ] as const) {
      it(`does the same for speak$ with api 'streaming' when the warm socket ${what}: START and the pieces sent before the START response go again on the fresh socket`, () => {
        scheduler.run(({ cold, expectObservable, flush }) => {
          // Socket 0 is the real-time pool's, 1 the streaming pool's (prewarmed), 2 the reconnect, 3 the refill once START is answered.
          const warmStreaming = 1;
          const reconnect = 2;
          const take = HANDSHAKE_MS + 1;
          // Pieces: a assembled at take + 3 (when b begins), b at take + 6 (when text$ completes); the socket is lost between.
          const text$ = cold('-a-b--|', { a: '你好。', b: '世界！' });
          const lostAt = take + 4;
          const { client, sockets, createdAt } = warmSetup(
            scheduler,
            {
              before: (socket) => (socket === warmStreaming ? timeline([HANDSHAKE_MS, 'o'], [lostAt, value]) : HANDSHAKE),
              reply: (socket) => (socket === warmStreaming ? '' : REPLY),
            },
            ONE,
          );
          void client.prewarm(1, { api: 'streaming' });
          const done = lostAt + HANDSHAKE_MS + END_MS;
          const chunk: SpeechChunk = { data: Uint8Array.from([1, 2]), index: 0, offset: 0, traceId: TRACE, sentence: undefined };
          expectObservable(client.speak$(text$, { api: 'streaming' }), timeline([take, '^'])).toBe(
            timeline([lostAt + HANDSHAKE_MS + AUDIO_MS, 'a'], [done, '|']),
            { a: chunk },
          );
          scheduler.maxFrames = LIFE_MS - 1;
          flush();
          expect(createdAt).to.deep.equal([0, 0, lostAt, lostAt + HANDSHAKE_MS + START_MS]);
          expect(sockets.map((socket) => socket.request.url).slice(warmStreaming)).to.deep.equal([STREAMING_URL, STREAMING_URL, STREAMING_URL]);
          const start = commands(sockets[warmStreaming]?.sent ?? [])[0];
          expect(commands(sockets[warmStreaming]?.sent ?? [])).to.deep.equal([start, { command: 'MSG', text: '你好。' }]);
          expect(commands(sockets[reconnect]?.sent ?? [])).to.deep.equal([
            start,
            { command: 'MSG', text: '你好。' },
            { command: 'MSG', text: '世界！' },
            { command: 'END' },
          ]);
          expect(client.stats()).to.deep.include({ hits: 1, lost: 0 });
        });
      });
    }

    it("sends END again too when it went out on the lost socket (speak$ with api 'streaming', text complete at once)", () => {
      scheduler.run(({ expectObservable, flush }) => {
        const warmStreaming = 1;
        const reconnect = 2;
        const take = HANDSHAKE_MS + 1;
        const lostAt = take + 1;
        const { client, sockets } = warmSetup(
          scheduler,
          {
            before: (socket) => (socket === warmStreaming ? timeline([HANDSHAKE_MS, 'o'], [lostAt, 'c']) : HANDSHAKE),
            reply: (socket) => (socket === warmStreaming ? '' : REPLY),
          },
          ONE,
        );
        void client.prewarm(1, { api: 'streaming' });
        const chunk: SpeechChunk = { data: Uint8Array.from([1, 2]), index: 0, offset: 0, traceId: TRACE, sentence: undefined };
        expectObservable(client.speak$(of('你好。'), { api: 'streaming' }), timeline([take, '^'])).toBe(
          timeline([lostAt + HANDSHAKE_MS + AUDIO_MS, 'a'], [lostAt + HANDSHAKE_MS + END_MS, '|']),
          { a: chunk },
        );
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        const sent = commands(sockets[warmStreaming]?.sent ?? []);
        expect(sent.slice(1)).to.deep.equal([{ command: 'MSG', text: '你好。' }, { command: 'END' }]);
        expect(commands(sockets[reconnect]?.sent ?? [])).to.deep.equal(sent);
      });
    });

    it("fails speak$ with api 'streaming' with SisConnectionError on a second loss", () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const warmStreaming = 1;
        const reconnect = 2;
        const take = HANDSHAKE_MS + 1;
        const lostAt = take + 1;
        const reconnectLost = lostAt + HANDSHAKE_MS + 1;
        const scripts: Record<number, string> = {
          [warmStreaming]: timeline([HANDSHAKE_MS, 'o'], [lostAt, 'c']),
          [reconnect]: timeline([HANDSHAKE_MS, 'o'], [reconnectLost - lostAt, 'c']),
        };
        const { client, sockets } = warmSetup(scheduler, { before: (socket) => scripts[socket] ?? HANDSHAKE, reply: SILENT }, ONE);
        void client.prewarm(1, { api: 'streaming' });
        expectObservable(client.speak$(cold('-a|', { a: '你好。' }), { api: 'streaming' }), timeline([take, '^'])).toBe(
          timeline([reconnectLost, '#']),
          undefined,
          new SisConnectionError('connection closed before the START response, 1 piece of text, END sent (0 frames received) (code 1000)', {
            closeCode: 1000,
            closeReason: '',
          }),
        );
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        // The refill once the speech is over.
        expect(sockets).to.have.length(reconnect + 2);
      });
    });
  });

  describe("on a page's timers", () => {
    it('keeps sockets warm where setTimeout returns a number (no unref): the default scheduler, a browser-like host', async () => {
      const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
      // A page's timers: ids, not Node's Timeout objects.
      const handles = new Map<number, ReturnType<typeof setTimeout>>();
      let next = 0;
      const pageSetTimeout = (run: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): number => {
        const id = ++next;
        handles.set(id, real.setTimeout(run, ms, ...args));
        return id;
      };
      const pageClearTimeout = (id?: number): void => {
        if (id !== undefined) real.clearTimeout(handles.get(id));
        handles.delete(id ?? 0);
      };
      const opened: (() => void)[] = [];
      Object.assign(globalThis, { setTimeout: pageSetTimeout, clearTimeout: pageClearTimeout });
      try {
        const client = createSisClient({
          endpoint: 'ws://127.0.0.1:9',
          projectId: 'p',
          auth: 'relay',
          warm: { size: 1 },
          webSocketFactory: (_request, listener) => {
            opened.push(() => listener.onOpen());
            queueMicrotask(() => listener.onOpen());
            return { send: () => undefined, close: () => undefined, terminate: () => undefined };
          },
        });
        expect(await client.prewarm(1)).to.equal(1);
        expect(client.stats()).to.include({ warm: 1, failed: 0 });
        // The warm socket's expiry timer is a page timer, cleared by close().
        expect(handles.size).to.equal(1);
        await client.close();
        expect(handles.size).to.equal(0);
      } finally {
        Object.assign(globalThis, real);
      }
      expect(opened).to.have.length(1);
    });
  });
});
