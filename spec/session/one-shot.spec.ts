/**
 * The one-shot forms (`synthesize$(request, options)`, `events$`) check an options object once while
 * it is unchanged, and again as soon as any of its fields (one level into auth, timeouts, limits) changed.
 */
import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { SisConfigError, synthesize$, type SisClientOptions } from '../../lib/index.js';
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
});
