/**
 * The one-shot forms (`synthesize$(request, options)`, `events$`) check options once for options alike
 * (the same object unchanged, or another with the same fields and values), and again as soon as any of
 * the fields (one level into auth, timeouts, limits) changed.
 */
import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { SisConfigError, synthesize$, type SisClientOptions } from '../../lib/index.js';
import { checkedOnce } from '../../lib/session/client-core.js';
import { NODE_PLATFORM } from '../../lib/session/client.js';
import { resolveOptions, type ClientPlatform } from '../../lib/session/options.js';
import { binary, endFrame, fakeSockets, open, startFrame } from '../../lib/testing/fake-sockets.js';
import { errorOf } from '../helpers/errors.js';

describe('one-shot synthesize$', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  const options = (): { options: SisClientOptions & { auth: { token: string } }; tokens: () => (string | undefined)[] } => {
    const fake = fakeSockets(scheduler, () => scheduler.createColdObservable('(osae)', { o: open, s: startFrame(), a: binary(1, 2), e: endFrame() }));
    return {
      options: { endpoint: 'ws://127.0.0.1:9', projectId: 'p', auth: { token: 'first' }, webSocketFactory: fake.factory, scheduler },
      tokens: () => fake.sockets.map((socket) => socket.request.headers['X-Auth-Token']),
    };
  };

  it('sees a token rotated by mutating the options object', async () => {
    const { options: shared, tokens } = options();
    const run = () => {
      const done = lastValueFrom(synthesize$({ text: '你好' }, shared).pipe(toArray()));
      scheduler.flush();
      return done;
    };
    expect(await run()).to.have.length(1);
    expect(await run()).to.have.length(1);
    shared.auth.token = 'second';
    expect(await run()).to.have.length(1);
    expect(tokens()).to.deep.equal(['first', 'first', 'second']);
  });

  it('checks a changed options object again: a field made invalid fails the next call', async () => {
    const { options: shared } = options();
    const first = lastValueFrom(synthesize$({ text: '你好' }, shared).pipe(toArray()));
    scheduler.flush();
    expect(await first).to.have.length(1);
    (shared as { projectId: string }).projectId = '';
    const error = await errorOf(lastValueFrom(synthesize$({ text: '你好' }, shared)));
    expect(error).to.be.instanceOf(SisConfigError);
    expect((error as SisConfigError).problems.map((problem) => problem.path)).to.deep.equal(['projectId']);
  });

  describe('checkedOnce: which options are alike', () => {
    /** checkedOnce with a counting resolveOptions. */
    const counting = () => {
      let checks = 0;
      const resolve = (options: SisClientOptions, platform: ClientPlatform) => {
        checks += 1;
        return resolveOptions(options, platform);
      };
      return { check: (options: SisClientOptions, platform = NODE_PLATFORM) => checkedOnce(options, platform, resolve), checks: () => checks };
    };
    // A project id of its own per test: entries left by other tests never match.
    let project = 0;
    const base = () => ({ endpoint: 'ws://127.0.0.1:9', projectId: `alike-${++project}`, auth: { token: 't' }, limits: { maxTextLength: 20 } });

    it('checks a fresh object with the same fields and values once: options written in the call cost one check', () => {
      const { check, checks } = counting();
      const { projectId } = base();
      const made = () => ({ endpoint: 'ws://127.0.0.1:9', projectId, auth: { token: 't' }, limits: { maxTextLength: 20 } });
      const first = check(made());
      for (let i = 0; i < 5; i++) expect(check(made())).to.equal(first);
      expect(checks()).to.equal(1);
    });

    it('checks again when a value, a nested value, a key or the platform differs', () => {
      const { check, checks } = counting();
      const options = base();
      check(options);
      check({ ...options });
      expect(checks()).to.equal(1);
      check({ ...options, auth: { token: 'other' } });
      check({ ...options, limits: { maxTextLength: 21 } });
      check({ ...options, allowPlainWs: false });
      check(options, { ...NODE_PLATFORM });
      expect(checks()).to.equal(5);
    });

    it('tells a key moved into a group from the same key beside it', () => {
      const { check, checks } = counting();
      const auth: Record<string, unknown> = { token: 't' };
      const options = { ...base(), auth, maxPayload: 65_536 };
      check(options as unknown as SisClientOptions);
      // The same flat list of names and values, in another shape: auth gains the key, the options lose it.
      const { maxPayload: _, ...without } = options;
      auth['maxPayload'] = 65_536;
      expect(() => check(without as unknown as SisClientOptions)).to.throw(SisConfigError, /auth/);
      expect(checks()).to.equal(2);
    });

    it('keeps the last four options: a fifth set evicts the one used longest ago', () => {
      const { check, checks } = counting();
      const sets = Array.from({ length: 5 }, base);
      for (const options of sets.slice(0, 4)) check(options);
      for (const options of sets.slice(0, 4)) check({ ...options });
      expect(checks()).to.equal(4);
      check(sets[4] as SisClientOptions);
      check({ ...sets[3] } as SisClientOptions);
      check({ ...sets[0] } as SisClientOptions);
      expect(checks()).to.equal(6);
    });
  });
});
