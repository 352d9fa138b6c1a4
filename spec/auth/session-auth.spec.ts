/**
 * Credentials in the session state machine, marble-tested over the fake socket: AK/SK headers signed
 * per connection, and the single retry after a 401 with a refreshable token.
 */
import { expect } from 'chai';
import { NEVER, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { signHandshake } from '../../lib/auth/aksk.js';
import { SisHandshakeError, SisTimeoutError, createSisClient, type AuthOptions } from '../../lib/index.js';
import { audioChunk } from '../helpers/chunks.js';
import { binary, endFrame, fail, fakeSockets, open, startFrame, type ServerAction } from '../helpers/fake-socket.js';
import { createTestScheduler } from '../helpers/marbles.js';
import { refreshable } from '../helpers/refreshable-token.js';
import { SECRETS } from '../helpers/secrets.js';

const URL = 'ws://127.0.0.1:9/v1/project-1/rtts';
const BASE = Date.UTC(2024, 0, 2, 3, 4, 5);

const rejection = (status: number): ServerAction =>
  fail({
    kind: 'handshake-rejected',
    status,
    body: JSON.stringify({ error_code: 'APIG.0301', error_msg: 'Incorrect IAM authentication information: decrypt token fail', request_id: 'r-1' }),
  });
const rejected401 = new SisHandshakeError({
  status: 401,
  errorCode: 'APIG.0301',
  errorMsg: 'Incorrect IAM authentication information: decrypt token fail',
  requestId: 'r-1',
});

const v = { o: open, s: startFrame(), a: binary(1, 2), e: endFrame(), r: rejection(401), f: rejection(403), x: rejection(500) };
const chunk = audioChunk([1, 2]);

/** Socket n replays scripts[n] (the last one again for any further socket). */
const setup = (scheduler: TestScheduler, scripts: Observable<ServerAction>[], auth: AuthOptions) => {
  let next = 0;
  const fake = fakeSockets(scheduler, () => scripts[Math.min(next++, scripts.length - 1)] ?? NEVER);
  const client = createSisClient({
    endpoint: 'ws://127.0.0.1:9',
    projectId: 'project-1',
    auth,
    timeouts: { connect: 50, firstAudio: 50, idle: 50, errorGrace: 20 },
    webSocketFactory: fake.factory,
    scheduler,
  });
  return { fake, client };
};

const tokensSent = (fake: ReturnType<typeof fakeSockets>): (string | undefined)[] => fake.sockets.map((s) => s.request.headers['X-Auth-Token']);

describe('session credentials (marble tests over a fake socket)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  describe('a handshake rejected with 401', () => {
    it('drops the cached token and retries once with a fresh one, on a new socket', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
        const stale = cold('-r', v);
        const fresh = cold('-o-s-a-e', v);
        const { source, calls } = refreshable('stale-token', 'fresh-token');
        const { fake, client } = setup(scheduler, [stale, fresh], { token: source });
        expectObservable(client.synthesize$({ text: 'x' })).toBe('------a-|', { a: chunk });
        expectSubscriptions(fresh.subscriptions).toBe('-^------!');
        flush();
        expect(tokensSent(fake)).to.deep.equal(['stale-token', 'fresh-token']);
        expect(calls).to.deep.equal({ asked: 2, invalidated: 1 });
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'terminate', at: 1 }]);
      });
    });

    it('retries once, not in a loop: a second 401 is the error', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { source, calls } = refreshable('stale-token', 'also-rejected');
        const { fake, client } = setup(scheduler, [cold('-r', v)], { token: source });
        expectObservable(client.synthesize$({ text: 'x' })).toBe('--#', {}, rejected401);
        flush();
        expect(tokensSent(fake)).to.deep.equal(['stale-token', 'also-rejected']);
        expect(calls).to.deep.equal({ asked: 2, invalidated: 1 });
      });
    });

    it('retries once per subscription: the next session may refresh again', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { source, calls } = refreshable('t1', 't2', 't3');
        const { fake, client } = setup(scheduler, [cold('-r', v), cold('-o-s-a-e', v), cold('-r', v), cold('-o-s-a-e', v)], { token: source });
        expectObservable(client.synthesize$({ text: 'x' })).toBe('------a-|', { a: chunk });
        expectObservable(client.synthesize$({ text: 'x' }), '----------^').toBe('----------------a-|', { a: chunk });
        flush();
        expect(tokensSent(fake)).to.deep.equal(['t1', 't2', 't2', 't3']);
        expect(calls.invalidated).to.equal(2);
      });
    });

    it('is not retried with a fixed token, a provider without invalidate(), or an AK/SK signature', () => {
      const plainProvider = () => 'from-a-plain-provider';
      for (const auth of [{ token: SECRETS.token }, { token: plainProvider }, { ak: 'AK1', sk: SECRETS.sk }] satisfies AuthOptions[]) {
        scheduler = createTestScheduler();
        scheduler.run(({ cold, expectObservable, flush }) => {
          const { fake, client } = setup(scheduler, [cold('-r', v)], auth);
          expectObservable(client.synthesize$({ text: 'x' })).toBe('-#', {}, rejected401);
          flush();
          expect(fake.sockets).to.have.length(1);
        });
      }
    });

    it('is the only status retried: 403 and 500 fail at once and keep the token', () => {
      for (const [status, letter] of [
        [403, 'f'],
        [500, 'x'],
      ] as const) {
        scheduler = createTestScheduler();
        scheduler.run(({ cold, expectObservable, flush }) => {
          const { source, calls } = refreshable('kept-token');
          const { fake, client } = setup(scheduler, [cold(`-${letter}`, v)], { token: source });
          const expected = new SisHandshakeError({
            status,
            errorCode: 'APIG.0301',
            errorMsg: 'Incorrect IAM authentication information: decrypt token fail',
            requestId: 'r-1',
          });
          expectObservable(client.synthesize$({ text: 'x' })).toBe('-#', {}, expected);
          flush();
          expect(fake.sockets).to.have.length(1);
          expect(calls.invalidated).to.equal(0);
        });
      }
    });

    it('stays within timeouts.connect: the retry gets what is left of it', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const hanging = cold<string>('-');
        const { source } = refreshable('stale-token', hanging);
        const { client } = setup(scheduler, [cold('----r', v)], { token: source });
        expectObservable(client.synthesize$({ text: 'x' })).toBe('50ms #', {}, new SisTimeoutError('connect', 50));
        expectSubscriptions(hanging.subscriptions).toBe('----^ 45ms !');
      });
    });

    it('stops asking for the fresh token when the subscriber leaves meanwhile', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const slow = cold('----t', { t: 'fresh-token' });
        const { source } = refreshable('stale-token', slow);
        const { client } = setup(scheduler, [cold('-r', v)], { token: source });
        expectObservable(client.synthesize$({ text: 'x' }), '^--!').toBe('---');
        expectSubscriptions(slow.subscriptions).toBe('-^-!');
      });
    });
  });

  describe('AK/SK', () => {
    it("signs every connection at its own time, with headers Huawei's algorithm gives for the URL", () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const keys = { ak: 'AKMARBLE', sk: SECRETS.sk };
        const auth = { ...keys, clock: () => new Date(BASE + scheduler.now() * 1000) };
        const { fake, client } = setup(scheduler, [cold('-o-s-a-e', v)], auth);
        expectObservable(client.synthesize$({ text: 'x' })).toBe('-----a-|', { a: chunk });
        expectObservable(client.synthesize$({ text: 'x' }), '---------^').toBe('--------------a-|', { a: chunk });
        flush();
        expect(fake.sockets.map((s) => s.request.url)).to.deep.equal([URL, URL]);
        expect(fake.sockets[0]?.request.headers).to.deep.equal(signHandshake(URL, keys, new Date(BASE)));
        expect(fake.sockets[1]?.request.headers).to.deep.equal(signHandshake(URL, keys, new Date(BASE + 9_000)));
        expect(fake.sockets[0]?.request.headers['X-Sdk-Date']).to.equal('20240102T030405Z');
        expect(fake.sockets[1]?.request.headers['X-Sdk-Date']).to.equal('20240102T030414Z');
      });
    });

    it('fails with SisAuthError, without a socket, when the clock gives no valid date', () => {
      scheduler.run(({ flush }) => {
        const { fake, client } = setup(scheduler, [], { ak: 'AK1', sk: SECRETS.sk, clock: () => new Date(NaN) });
        const seen: unknown[] = [];
        client.synthesize$({ text: 'x' }).subscribe({ error: (error: unknown) => seen.push(error) });
        flush();
        expect(fake.sockets).to.have.length(0);
        expect(seen[0]).to.have.property('code', 'AUTH_FAILED');
      });
    });
  });
});
