/**
 * Warm connections in virtual time: the pool fills, hands out each socket once, expires and replaces
 * them, drops the ones the server closes, backs off after failed connects, and prewarms. Every socket
 * is a fake that answers like the service (spec/helpers/warm-sockets.ts); times are read off its scripts.
 */
import { expect } from 'chai';
import { of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import type { SisEvent, WarmStats } from '../../lib/index.js';
import { audioChunk } from '../helpers/chunks.js';
import { TRACE } from '../helpers/fake-socket.js';
import { createTestScheduler } from '../helpers/marbles.js';
import {
  AUDIO_MS,
  END_MS,
  HANDSHAKE,
  HANDSHAKE_MS,
  LIFE_MS,
  MAX_IDLE_MS,
  REALTIME_URL,
  SIZE,
  START_MS,
  STREAMING_URL,
  TOKEN,
  stats,
  timeline,
  warmSetup,
  watch,
} from '../helpers/warm-sockets.js';
import { refreshable } from '../helpers/refreshable-token.js';

/** A connect the server refuses (503) at FAILED_MS. */
const FAILED = '--r';
const FAILED_MS = FAILED.indexOf('r');
/** The documented waits after 1, 2, 3 … failed connects in a row. */
const BACKOFF_MS = [250, 500, 1000, 2000];
const BACKOFF_MAX_MS = 30_000;

describe('warm connections: the pool (marble tests over fake sockets)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  describe('filling', () => {
    it('fills the real-time pool to size at creation, asking for credentials per connect, and opens nothing for the streaming path', () => {
      scheduler.run(({ flush }) => {
        let asked = 0;
        const { client, sockets, createdAt, atEnd } = warmSetup(scheduler, {}, { auth: { token: () => `${TOKEN}-${++asked}` } });
        const seen: WarmStats[] = [client.stats()];
        for (const frame of [HANDSHAKE_MS - 1, HANDSHAKE_MS, LIFE_MS - 1]) atEnd(frame, () => seen.push(client.stats()));
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        expect(seen).to.deep.equal([stats({ connecting: SIZE }), stats({ connecting: SIZE }), stats({ warm: SIZE }), stats({ warm: SIZE })]);
        expect(createdAt).to.deep.equal(Array.from({ length: SIZE }, () => 0));
        expect(sockets.map((socket) => socket.request.url)).to.deep.equal(Array.from({ length: SIZE }, () => REALTIME_URL));
        expect(sockets.map((socket) => socket.request.headers['X-Auth-Token'])).to.deep.equal(Array.from({ length: SIZE }, (_, i) => `${TOKEN}-${i + 1}`));
        expect(sockets.map((socket) => socket.sent)).to.deep.equal(Array.from({ length: SIZE }, () => []));
      });
    });

    it('keeps nothing warm without the warm option, and stats() is all zero', () => {
      scheduler.run(({ flush }) => {
        const { client, sockets } = warmSetup(scheduler, {}, { warm: undefined });
        flush();
        expect(sockets).to.have.length(0);
        expect(client.stats()).to.deep.equal(stats({}));
      });
    });

    it('fills the streaming pool on the first streaming speech (a miss, connecting fresh) and the next one takes a warm socket', () => {
      scheduler.run(({ flush }) => {
        const { client, sockets, createdAt, at, atEnd, starts } = warmSetup(scheduler);
        const first = HANDSHAKE_MS + 1;
        const second = first + HANDSHAKE_MS + END_MS;
        const done: number[] = [];
        const speak = () => client.speak$(of('你好。'), { api: 'streaming' }).subscribe({ complete: () => done.push(scheduler.now()) });
        const seen: WarmStats[] = [];
        at(first, speak);
        atEnd(first, () => seen.push(client.stats()));
        at(second, speak);
        atEnd(second + START_MS, () => seen.push(client.stats()));
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        const streaming = sockets.flatMap((socket, i) => (socket.request.url === STREAMING_URL ? [i] : []));
        // At the first speech: the pool's SIZE, then the speech's own; at the second, once START is answered, the refill.
        expect(streaming).to.deep.equal(Array.from({ length: SIZE + 2 }, (_, i) => SIZE + i));
        expect(streaming.map((i) => createdAt[i])).to.deep.equal([...Array.from({ length: SIZE + 1 }, () => first), second + START_MS]);
        // The fresh socket and the youngest warm one (the last of the pool's) carried a speech each.
        expect(streaming.map((i) => starts()[i])).to.deep.equal([...Array.from({ length: SIZE - 1 }, () => 0), 1, 1, 0]);
        expect(seen).to.deep.equal([stats({ warm: SIZE, connecting: SIZE, misses: 1 }), stats({ warm: 2 * SIZE - 1, connecting: 1, misses: 1, hits: 1 })]);
        expect(done).to.deep.equal([first + HANDSHAKE_MS + END_MS, second + END_MS]);
      });
    });

    it("fills the streaming pool on prewarm(n, { api: 'streaming' }), resolving with the count warm", async () => {
      let ready: Promise<number> | undefined;
      let seen: { streaming: number[]; stats: WarmStats } | undefined;
      scheduler.run(({ flush }) => {
        const { client, sockets, createdAt } = warmSetup(scheduler);
        ready = client.prewarm(SIZE, { api: 'streaming' });
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        seen = {
          streaming: sockets.flatMap((socket, i) => (socket.request.url === STREAMING_URL ? [createdAt[i] ?? -1] : [])),
          stats: client.stats(),
        };
      });
      expect(await ready).to.equal(SIZE);
      expect(seen).to.deep.equal({ streaming: Array.from({ length: SIZE }, () => 0), stats: stats({ warm: 2 * SIZE }) });
    });
  });

  describe('taking', () => {
    it('gives a session a warm socket: no new socket for it, START at once, the open event with connectMs 0, a hit, and a refill in the background once START is answered', () => {
      scheduler.run(({ expectObservable, flush }) => {
        const { client, sockets, createdAt, atEnd, starts } = warmSetup(scheduler);
        const take = HANDSHAKE_MS + 10;
        expectObservable(client.events$({ text: '你好' }), timeline([take, '^'])).toBe(
          timeline([take, 'o'], [take + START_MS, 's'], [take + AUDIO_MS, 'a'], [take + END_MS, '(e|)']),
          {
            o: { type: 'open', url: REALTIME_URL, connectMs: 0 },
            s: { type: 'start', traceId: TRACE, elapsedMs: START_MS },
            a: { type: 'audio', chunk: audioChunk([1, 2]) },
            e: { type: 'end', traceId: TRACE, reason: 'NORMAL', chunks: 1, bytes: 2, timings: { connectMs: 0, firstAudioMs: AUDIO_MS, totalMs: END_MS } },
          } satisfies Record<string, SisEvent>,
        );
        const seen: { at: number; stats: WarmStats; sent: number[] }[] = [];
        const refill = take + START_MS;
        for (const frame of [take, refill, refill + HANDSHAKE_MS]) atEnd(frame, () => seen.push({ at: frame, stats: client.stats(), sent: starts() }));
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        // The youngest of the sockets warmed together is the last one opened.
        const taken = SIZE - 1;
        const idle = Array.from({ length: taken }, () => 0);
        // The replacement is asked for once START is answered, not while START is on its way.
        expect(seen).to.deep.equal([
          { at: take, stats: stats({ warm: SIZE - 1, hits: 1 }), sent: [...idle, 1] },
          { at: refill, stats: stats({ warm: SIZE - 1, connecting: 1, hits: 1 }), sent: [...idle, 1, 0] },
          { at: refill + HANDSHAKE_MS, stats: stats({ warm: SIZE, hits: 1 }), sent: [...idle, 1, 0] },
        ]);
        expect(createdAt).to.deep.equal([...Array.from({ length: SIZE }, () => 0), refill]);
        expect(sockets[taken]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: take + END_MS }]);
      });
    });

    it('lets a warm socket not keep the process alive (unref when warm), and holds it again when a session takes it (ref)', () => {
      scheduler.run(({ flush }) => {
        const { client, holds, at } = warmSetup(scheduler);
        const take = HANDSHAKE_MS + 1;
        at(take, () => client.synthesize$({ text: 'x' }).subscribe());
        scheduler.maxFrames = take + START_MS + HANDSHAKE_MS;
        flush();
        const taken = SIZE - 1;
        expect(holds).to.deep.equal([
          ...Array.from({ length: SIZE }, (_, i) => [{ call: 'unref', at: HANDSHAKE_MS }, ...(i === taken ? [{ call: 'ref', at: take }] : [])]),
          [{ call: 'unref', at: take + START_MS + HANDSHAKE_MS }],
        ]);
      });
    });

    it('gives the youngest warm socket first', () => {
      scheduler.run(({ flush }) => {
        // Socket 1 opens after socket 0: the youngest.
        const { client, sockets, at } = warmSetup(scheduler, { before: (socket) => (socket === 1 ? timeline([HANDSHAKE_MS + 5, 'o']) : HANDSHAKE) });
        const take = HANDSHAKE_MS + 10;
        at(take, () => client.synthesize$({ text: 'first' }).subscribe());
        at(take + 1, () => client.synthesize$({ text: 'second' }).subscribe());
        scheduler.maxFrames = take + 1;
        flush();
        const texts = sockets.map((socket) => socket.sent.map((frame) => (JSON.parse(frame) as { text: string }).text));
        expect(texts.slice(0, SIZE)).to.deep.equal([['second'], ['first']]);
      });
    });
  });

  describe('expiry', () => {
    it('closes a warm socket with 1000 maxIdleMs after it opened, counts it expired, and replaces it at once', () => {
      scheduler.run(({ flush }) => {
        const { client, sockets, createdAt, atEnd } = warmSetup(scheduler);
        const seen: { at: number; stats: WarmStats }[] = [];
        for (const frame of [LIFE_MS - 1, LIFE_MS, LIFE_MS + HANDSHAKE_MS, 2 * LIFE_MS]) atEnd(frame, () => seen.push({ at: frame, stats: client.stats() }));
        scheduler.maxFrames = 2 * LIFE_MS;
        flush();
        const generation = <T>(value: T): T[] => Array.from({ length: SIZE }, () => value);
        expect(createdAt).to.deep.equal([...generation(0), ...generation(LIFE_MS), ...generation(2 * LIFE_MS)]);
        expect(sockets.map((socket) => socket.endedBy)).to.deep.equal([
          ...generation([{ how: 'close', code: 1000, at: LIFE_MS }]),
          ...generation([{ how: 'close', code: 1000, at: 2 * LIFE_MS }]),
          ...generation([]),
        ]);
        expect(seen).to.deep.equal([
          { at: LIFE_MS - 1, stats: stats({ warm: SIZE }) },
          { at: LIFE_MS, stats: stats({ connecting: SIZE, expired: SIZE }) },
          { at: LIFE_MS + HANDSHAKE_MS, stats: stats({ warm: SIZE, expired: SIZE }) },
          { at: 2 * LIFE_MS, stats: stats({ connecting: SIZE, expired: 2 * SIZE }) },
        ]);
        expect(sockets.flatMap((socket) => socket.sent)).to.deep.equal([]);
      });
    });

    it("expires after 15 s by default, below the service's 20 s", () => {
      scheduler.run(({ flush }) => {
        const DEFAULT_MAX_IDLE_MS = 15_000;
        const { sockets } = warmSetup(scheduler, {}, { warm: { size: 1 } });
        scheduler.maxFrames = HANDSHAKE_MS + DEFAULT_MAX_IDLE_MS;
        flush();
        expect(sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: HANDSHAKE_MS + DEFAULT_MAX_IDLE_MS }]);
      });
    });
  });

  describe('the server closing a warm socket', () => {
    const DROPPED_AT = HANDSHAKE_MS + 20;
    for (const [what, value] of [
      ['closes it', 'c'],
      ['fails it (network)', 'n'],
    ] as const) {
      it(`drops a warm socket at once when the server ${what}, counts it lost and replaces it; sessions get the replacement`, () => {
        scheduler.run(({ flush }) => {
          const { client, sockets, createdAt, at, atEnd, starts } = warmSetup(scheduler, {
            before: (socket) => (socket === 0 ? timeline([HANDSHAKE_MS, 'o'], [DROPPED_AT, value]) : HANDSHAKE),
          });
          const seen: WarmStats[] = [];
          atEnd(DROPPED_AT, () => seen.push(client.stats()));
          // Once the replacement is open.
          const later = DROPPED_AT + HANDSHAKE_MS + 1;
          const sessions = Array.from({ length: SIZE }, () => watch<unknown>(scheduler));
          for (const session of sessions) at(later, () => client.synthesize$({ text: 'x' }).subscribe(session.observer));
          atEnd(later + START_MS, () => seen.push(client.stats()));
          scheduler.maxFrames = LIFE_MS - 1;
          flush();
          expect(seen).to.deep.equal([
            stats({ warm: SIZE - 1, connecting: 1, lost: 1 }),
            // Both sessions hit: the replacement was warm again in time; both are replaced once START is answered.
            stats({ connecting: SIZE, lost: 1, hits: SIZE }),
          ]);
          expect(createdAt.slice(0, SIZE + 1)).to.deep.equal([...Array.from({ length: SIZE }, () => 0), DROPPED_AT]);
          expect(starts()[0]).to.equal(0);
          expect(sockets[0]?.endedBy).to.deep.equal([]);
          expect(sessions.map((session) => session.ended)).to.deep.equal(sessions.map(() => [{ at: later + END_MS, how: 'complete' }]));
        });
      });
    }

    it("closes (1000) a warm socket on which a frame arrives while idle (the idle close's FATAL_ERROR), counting it lost once, and replaces it", () => {
      scheduler.run(({ flush }) => {
        const { client, sockets, createdAt, atEnd } = warmSetup(scheduler, {
          before: (socket) => (socket === 0 ? timeline([HANDSHAKE_MS, 'o'], [DROPPED_AT, 'f'], [DROPPED_AT + 1, 'c']) : HANDSHAKE),
        });
        const seen: WarmStats[] = [];
        for (const frame of [DROPPED_AT, DROPPED_AT + 1]) atEnd(frame, () => seen.push(client.stats()));
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        expect(sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: DROPPED_AT }]);
        expect(seen).to.deep.equal([stats({ warm: SIZE - 1, connecting: 1, lost: 1 }), stats({ warm: SIZE - 1, connecting: 1, lost: 1 })]);
        expect(createdAt[SIZE]).to.equal(DROPPED_AT);
      });
    });
  });

  describe('a burst larger than the pool', () => {
    it('gives the first SIZE sessions a warm socket, connects the rest fresh, fails none, and hands out no socket twice', () => {
      scheduler.run(({ flush }) => {
        const { client, sockets, createdAt, at, atEnd, starts } = warmSetup(scheduler);
        const burst = 2 * SIZE + 1;
        const at0 = HANDSHAKE_MS + 1;
        const sessions = Array.from({ length: burst }, () => watch<unknown>(scheduler));
        for (const [i, session] of sessions.entries()) at(at0, () => client.synthesize$({ text: `session ${i}` }).subscribe(session.observer));
        const seen: WarmStats[] = [];
        for (const frame of [at0, at0 + HANDSHAKE_MS]) atEnd(frame, () => seen.push(client.stats()));
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        expect(seen).to.deep.equal([stats({ connecting: SIZE, hits: SIZE, misses: burst - SIZE }), stats({ warm: SIZE, hits: SIZE, misses: burst - SIZE })]);
        // The pool's SIZE, a refill per hit, a fresh socket per miss: nothing more.
        expect(createdAt).to.deep.equal([...Array.from({ length: SIZE }, () => 0), ...Array.from({ length: burst }, () => at0)]);
        expect(sessions.map((session) => session.ended)).to.deep.equal(
          sessions.map((_, i) => [{ at: at0 + (i < SIZE ? 0 : HANDSHAKE_MS) + END_MS, how: 'complete' }]),
        );
        expect(sessions.map((session) => session.values.length)).to.deep.equal(sessions.map(() => 1));
        // Each session's START went out on exactly one socket, and no socket carried two.
        const texts = sockets.map((socket) => socket.sent.map((frame) => (JSON.parse(frame) as { text: string }).text));
        expect(starts().every((count) => count <= 1)).to.equal(true);
        expect(texts.flat().sort()).to.deep.equal(sessions.map((_, i) => `session ${i}`).sort());
        // The hits took the pool's sockets; the refills made at the burst carried nothing.
        expect(starts()).to.deep.equal([
          ...Array.from({ length: SIZE }, () => 1),
          ...Array.from({ length: SIZE }, () => 0),
          ...Array.from({ length: burst - SIZE }, () => 1),
        ]);
      });
    });
  });

  describe('races', () => {
    const TAKE = HANDSHAKE_MS + 10;
    const closingAtTake = (socket: number): string => (socket === 0 ? timeline([HANDSHAKE_MS, 'o'], [TAKE, 'c']) : HANDSHAKE);

    it('a warm socket closed in the frame a session comes, before it: never handed out, the session connects fresh', () => {
      scheduler.run(({ flush }) => {
        const { client, sockets, createdAt, lateAt, starts } = warmSetup(scheduler, { before: closingAtTake }, { warm: { size: 1, maxIdleMs: MAX_IDLE_MS } });
        const session = watch<SisEvent>(scheduler);
        // Scheduled after the script's close: the close is first in that frame.
        lateAt(1, TAKE, () => client.events$({ text: 'x' }).subscribe(session.observer));
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        expect(client.stats()).to.deep.include({ hits: 0, misses: 1, lost: 1 });
        // The pool's socket, its replacement, the session's own.
        expect(createdAt).to.deep.equal([0, TAKE, TAKE]);
        expect(starts()).to.deep.equal([0, 0, 1]);
        expect(session.ended).to.deep.equal([{ at: TAKE + HANDSHAKE_MS + END_MS, how: 'complete' }]);
        expect(sockets[2]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: TAKE + HANDSHAKE_MS + END_MS }]);
      });
    });

    it('a warm socket closed in the frame a session took it, after START: the session reconnects once, fresh, and completes', () => {
      scheduler.run(({ flush }) => {
        const { client, sockets, createdAt, at, starts } = warmSetup(scheduler, { before: closingAtTake }, { warm: { size: 1, maxIdleMs: MAX_IDLE_MS } });
        const session = watch<SisEvent>(scheduler);
        // Scheduled before the script's close: the session is first in that frame.
        at(TAKE, () => client.events$({ text: 'x' }).subscribe(session.observer));
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        expect(client.stats()).to.deep.include({ hits: 1, misses: 0, lost: 0 });
        // The pool's socket (taken), the session's reconnect, the refill once its START is answered.
        expect(createdAt).to.deep.equal([0, TAKE, TAKE + HANDSHAKE_MS + START_MS]);
        expect(starts()).to.deep.equal([1, 1, 0]);
        expect(sockets[1]?.sent).to.deep.equal(sockets[0]?.sent);
        expect(session.values.map(({ at: frame, value }) => [frame, value.type])).to.deep.equal([
          [TAKE, 'open'],
          [TAKE + HANDSHAKE_MS + START_MS, 'start'],
          [TAKE + HANDSHAKE_MS + AUDIO_MS, 'audio'],
          [TAKE + HANDSHAKE_MS + END_MS, 'end'],
        ]);
        expect(session.ended).to.deep.equal([{ at: TAKE + HANDSHAKE_MS + END_MS, how: 'complete' }]);
      });
    });

    for (const [order, schedule] of [
      ['before the expiry timer', 'early'],
      ['after the expiry timer', 'late'],
    ] as const) {
      it(`a session in the frame a warm socket reaches maxIdleMs, ${order}: the socket is expired, not handed out; the session connects fresh`, () => {
        scheduler.run(({ flush }) => {
          const { client, sockets, createdAt, at, lateAt, starts } = warmSetup(scheduler, {}, { warm: { size: 1, maxIdleMs: MAX_IDLE_MS } });
          const session = watch<unknown>(scheduler);
          const subscribe = () => client.synthesize$({ text: 'x' }).subscribe(session.observer);
          // The expiry timer is scheduled when the socket opens.
          if (schedule === 'early') at(LIFE_MS, subscribe);
          else lateAt(HANDSHAKE_MS + 1, LIFE_MS, subscribe);
          scheduler.maxFrames = LIFE_MS + HANDSHAKE_MS + END_MS;
          flush();
          expect(client.stats()).to.deep.include({ hits: 0, misses: 1, expired: 1 });
          expect(sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: LIFE_MS }]);
          expect(createdAt).to.deep.equal([0, LIFE_MS, LIFE_MS]);
          expect(starts()).to.deep.equal([0, 0, 1]);
          expect(session.ended).to.deep.equal([{ at: LIFE_MS + HANDSHAKE_MS + END_MS, how: 'complete' }]);
        });
      });
    }

    it('a session one frame before a warm socket reaches maxIdleMs takes it', () => {
      scheduler.run(({ flush }) => {
        const { client, sockets, at, starts } = warmSetup(scheduler, {}, { warm: { size: 1, maxIdleMs: MAX_IDLE_MS } });
        const session = watch<unknown>(scheduler);
        at(LIFE_MS - 1, () => client.synthesize$({ text: 'x' }).subscribe(session.observer));
        scheduler.maxFrames = LIFE_MS + END_MS;
        flush();
        expect(client.stats()).to.deep.include({ hits: 1, misses: 0, expired: 0 });
        expect(starts()[0]).to.equal(1);
        // Closed by its session when done, not by the expiry.
        expect(sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: LIFE_MS - 1 + END_MS }]);
        expect(session.ended).to.deep.equal([{ at: LIFE_MS - 1 + END_MS, how: 'complete' }]);
      });
    });
  });

  describe('refill back-off', () => {
    it('waits 250, 500, 1000 ms after failed connects in a row, says so in stats(), and starts again from 250 after a success', () => {
      scheduler.run(({ flush }) => {
        // Sockets 0-2 fail, 3 opens and is lost a little later, 4 fails, 5 opens.
        const LOST_AFTER = HANDSHAKE_MS + 10;
        const scripts = [FAILED, FAILED, FAILED, timeline([HANDSHAKE_MS, 'o'], [LOST_AFTER, 'c']), FAILED, HANDSHAKE];
        const { client, createdAt, atEnd } = warmSetup(
          scheduler,
          { before: (socket) => scripts[socket] ?? HANDSHAKE },
          { warm: { size: 1, maxIdleMs: MAX_IDLE_MS } },
        );
        const [first = 0, second = 0, third = 0] = BACKOFF_MS;
        // When each socket is made: after each failure its wait; the lost one replaced at once; then a failure waits `first` again.
        const retry1 = FAILED_MS + first;
        const retry2 = retry1 + FAILED_MS + second;
        const success = retry2 + FAILED_MS + third;
        const replaced = success + LOST_AFTER;
        const retry3 = replaced + FAILED_MS + first;
        const seen: { at: number; stats: WarmStats }[] = [];
        const sample = (frame: number) => atEnd(frame, () => seen.push({ at: frame, stats: client.stats() }));
        for (const frame of [FAILED_MS, retry1 + FAILED_MS, retry2 + FAILED_MS, success + HANDSHAKE_MS, replaced + FAILED_MS]) sample(frame);
        scheduler.maxFrames = retry3 + HANDSHAKE_MS;
        flush();
        expect(createdAt).to.deep.equal([0, retry1, retry2, success, replaced, retry3]);
        expect(seen).to.deep.equal([
          { at: FAILED_MS, stats: stats({ failed: 1, backoffMs: first }) },
          { at: retry1 + FAILED_MS, stats: stats({ failed: 2, backoffMs: second }) },
          { at: retry2 + FAILED_MS, stats: stats({ failed: 3, backoffMs: third }) },
          { at: success + HANDSHAKE_MS, stats: stats({ warm: 1, failed: 3 }) },
          { at: replaced + FAILED_MS, stats: stats({ lost: 1, failed: 4, backoffMs: first }) },
        ]);
        expect(client.stats()).to.deep.equal(stats({ warm: 1, lost: 1, failed: 4 }));
      });
    });

    it('counts the connects that fail together as one round: a whole pool failing at once waits 250 ms, then 500', () => {
      scheduler.run(({ flush }) => {
        const { client, createdAt, atEnd } = warmSetup(scheduler, { before: () => FAILED });
        const [first = 0, second = 0] = BACKOFF_MS;
        const round2 = FAILED_MS + first;
        const round3 = round2 + FAILED_MS + second;
        const seen: WarmStats[] = [];
        atEnd(FAILED_MS, () => seen.push(client.stats()));
        atEnd(round2 + FAILED_MS, () => seen.push(client.stats()));
        scheduler.maxFrames = round3;
        flush();
        const round = (at: number) => Array.from({ length: SIZE }, () => at);
        expect(createdAt).to.deep.equal([...round(0), ...round(round2), ...round(round3)]);
        expect(seen).to.deep.equal([stats({ failed: SIZE, backoffMs: first }), stats({ failed: 2 * SIZE, backoffMs: second })]);
      });
    });

    it('never waits more than 30 s', () => {
      scheduler.run(({ flush }) => {
        const { client, createdAt } = warmSetup(scheduler, { before: () => FAILED }, { warm: { size: 1, maxIdleMs: MAX_IDLE_MS } });
        // Enough failures for 250 ms doubled to pass 30 s, twice.
        const failures = Math.ceil(Math.log2(BACKOFF_MAX_MS / (BACKOFF_MS[0] ?? 1))) + 3;
        scheduler.maxFrames = failures * (BACKOFF_MAX_MS + FAILED_MS);
        flush();
        const waits = createdAt.slice(1).map((created, i) => created - (createdAt[i] ?? 0) - FAILED_MS);
        expect(waits.slice(0, BACKOFF_MS.length)).to.deep.equal(BACKOFF_MS);
        expect(Math.max(...waits)).to.equal(BACKOFF_MAX_MS);
        expect(waits.slice(-2)).to.deep.equal([BACKOFF_MAX_MS, BACKOFF_MAX_MS]);
        expect(client.stats().backoffMs).to.equal(BACKOFF_MAX_MS);
      });
    });

    it('counts a connect closed before it opened, and a network failure while connecting, as failed', () => {
      scheduler.run(({ flush }) => {
        const scripts = ['--c', '--n'];
        const { client, createdAt } = warmSetup(scheduler, { before: (socket) => scripts[socket] ?? HANDSHAKE }, { warm: { size: 1, maxIdleMs: MAX_IDLE_MS } });
        const closedMs = 2;
        const expected = [0, closedMs + (BACKOFF_MS[0] ?? 0), 2 * closedMs + (BACKOFF_MS[0] ?? 0) + (BACKOFF_MS[1] ?? 0)];
        scheduler.maxFrames = (expected.at(-1) ?? 0) + HANDSHAKE_MS;
        flush();
        expect(createdAt).to.deep.equal(expected);
        expect(client.stats()).to.deep.equal(stats({ warm: 1, failed: 2 }));
      });
    });

    it('lets a session that misses during the back-off connect fresh, without cutting the back-off short', () => {
      scheduler.run(({ flush }) => {
        const scripts = [FAILED];
        const { client, createdAt, at, starts } = warmSetup(
          scheduler,
          { before: (socket) => scripts[socket] ?? HANDSHAKE },
          { warm: { size: 1, maxIdleMs: MAX_IDLE_MS } },
        );
        const during = FAILED_MS + 1;
        const session = watch<unknown>(scheduler);
        at(during, () => client.synthesize$({ text: 'x' }).subscribe(session.observer));
        scheduler.maxFrames = FAILED_MS + (BACKOFF_MS[0] ?? 0) + HANDSHAKE_MS;
        flush();
        expect(createdAt).to.deep.equal([0, during, FAILED_MS + (BACKOFF_MS[0] ?? 0)]);
        expect(starts()).to.deep.equal([0, 1, 0]);
        expect(session.ended).to.deep.equal([{ at: during + HANDSHAKE_MS + END_MS, how: 'complete' }]);
        expect(client.stats()).to.deep.equal(stats({ warm: 1, misses: 1, failed: 1 }));
      });
    });
  });

  describe('credentials', () => {
    const REJECTED = '--u';
    const REJECTED_MS = REJECTED.indexOf('u');

    it('after a 401 while warming with a refreshable token, invalidates it once and connects again with the fresh one', () => {
      scheduler.run(({ flush }) => {
        const { source, calls } = refreshable('stale-token', 'fresh-token');
        const scripts = [REJECTED];
        const { client, sockets, createdAt } = warmSetup(
          scheduler,
          { before: (socket) => scripts[socket] ?? HANDSHAKE },
          { auth: { token: source }, warm: { size: 1, maxIdleMs: MAX_IDLE_MS } },
        );
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        expect(sockets.map((socket) => socket.request.headers['X-Auth-Token'])).to.deep.equal(['stale-token', 'fresh-token']);
        expect(createdAt).to.deep.equal([0, REJECTED_MS]);
        expect(calls).to.deep.equal({ asked: 2, invalidated: 1 });
        expect(sockets[0]?.endedBy).to.deep.equal([{ how: 'terminate', at: REJECTED_MS }]);
        expect(client.stats()).to.deep.equal(stats({ warm: 1 }));
      });
    });

    it('counts a second 401 in a row as a failed connect and backs off, without invalidating again', () => {
      scheduler.run(({ flush }) => {
        const { source, calls } = refreshable('stale-token', 'fresh-token');
        const scripts = [REJECTED, REJECTED];
        const { client, createdAt } = warmSetup(
          scheduler,
          { before: (socket) => scripts[socket] ?? HANDSHAKE },
          { auth: { token: source }, warm: { size: 1, maxIdleMs: MAX_IDLE_MS } },
        );
        const retried = REJECTED_MS;
        scheduler.maxFrames = retried + REJECTED_MS + (BACKOFF_MS[0] ?? 0) + HANDSHAKE_MS;
        flush();
        expect(createdAt).to.deep.equal([0, retried, retried + REJECTED_MS + (BACKOFF_MS[0] ?? 0)]);
        expect(calls.invalidated).to.equal(1);
        expect(client.stats()).to.deep.equal(stats({ warm: 1, failed: 1 }));
      });
    });

    it('counts a 401 with a token that cannot be refreshed as a failed connect, at once', () => {
      scheduler.run(({ flush }) => {
        const scripts = [REJECTED];
        const { client, createdAt } = warmSetup(scheduler, { before: (socket) => scripts[socket] ?? HANDSHAKE }, { warm: { size: 1, maxIdleMs: MAX_IDLE_MS } });
        scheduler.maxFrames = REJECTED_MS + (BACKOFF_MS[0] ?? 0) + HANDSHAKE_MS;
        flush();
        expect(createdAt).to.deep.equal([0, REJECTED_MS + (BACKOFF_MS[0] ?? 0)]);
        expect(client.stats()).to.deep.equal(stats({ warm: 1, failed: 1 }));
      });
    });
  });

  describe('prewarm', () => {
    it('resolves with the number warm once count are warm', async () => {
      const opening = [HANDSHAKE, timeline([HANDSHAKE_MS + 20, 'o'])];
      let ready: Promise<number> | undefined;
      scheduler.run(({ flush }) => {
        const { client } = warmSetup(scheduler, { before: (socket) => opening[socket] ?? HANDSHAKE });
        ready = client.prewarm(SIZE);
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
      });
      // Had it resolved when the first socket was warm, it would say 1.
      expect(await ready).to.equal(SIZE);
    });

    it('resolves with fewer, and never rejects, when connects fail', async () => {
      const opening = [HANDSHAKE, FAILED];
      const results: Promise<number>[] = [];
      let failed = 0;
      scheduler.run(({ flush }) => {
        const { client } = warmSetup(scheduler, { before: (socket) => opening[socket] ?? FAILED });
        results.push(client.prewarm(SIZE));
        scheduler.maxFrames = FAILED_MS + (BACKOFF_MS[0] ?? 0) - 1;
        flush();
        failed = client.stats().failed;
      });
      expect(await Promise.all(results)).to.deep.equal([SIZE - 1]);
      expect(failed).to.equal(1);
    });

    it('resolves with 0 when every connect fails', async () => {
      let ready: Promise<number> | undefined;
      scheduler.run(({ flush }) => {
        const { client } = warmSetup(scheduler, { before: () => FAILED });
        ready = client.prewarm();
        scheduler.maxFrames = FAILED_MS;
        flush();
      });
      expect(await ready).to.equal(0);
    });

    it('resolves with 0 when the client closes while it waits', async () => {
      let ready: Promise<number> | undefined;
      scheduler.run(({ flush }) => {
        const { client, at } = warmSetup(scheduler);
        ready = client.prewarm();
        at(HANDSHAKE_MS - 1, () => void client.close());
        flush();
      });
      expect(await ready).to.equal(0);
    });

    it('refills what sessions took and resolves once it is warm again', async () => {
      let ready: Promise<number> | undefined;
      scheduler.run(({ flush }) => {
        const { client, at, createdAt } = warmSetup(scheduler);
        const take = HANDSHAKE_MS + 1;
        at(take, () => {
          client.synthesize$({ text: 'x' }).subscribe();
          ready = client.prewarm(SIZE);
        });
        scheduler.maxFrames = LIFE_MS - 1;
        flush();
        expect(createdAt).to.deep.equal([...Array.from({ length: SIZE }, () => 0), take]);
      });
      expect(await ready).to.equal(SIZE);
    });
  });
});
