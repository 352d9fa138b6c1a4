import { expect } from 'chai';
import { SisConfigError } from '../../lib/errors.js';
import { memoryLimitStore } from '../../lib/relay/store.js';
import { errorOf } from '../helpers/errors.js';

describe('memoryLimitStore', () => {
  it('takes at most max slots per key, and gives them back, never below zero', async () => {
    const store = memoryLimitStore();
    expect(await store.acquire('a', 2)).to.equal(true);
    expect(await store.acquire('a', 2)).to.equal(true);
    expect(await store.acquire('a', 2)).to.equal(false);
    expect(await store.acquire('b', 1)).to.equal(true);
    expect([...store.slots()]).to.deep.equal([
      ['a', 2],
      ['b', 1],
    ]);
    await store.release('a');
    await store.release('a');
    await store.release('a');
    expect(store.slots().has('a')).to.equal(false);
    expect(await store.acquire('a', 1)).to.equal(true);
    expect(store.slots().get('a')).to.equal(1);
  });

  it('counts a budget per window, refusing without counting what would go over', async () => {
    let now = 1_000;
    const store = memoryLimitStore({ now: () => now });
    expect(await store.consume('u', 6, 10, 60_000)).to.equal(true);
    expect(await store.consume('u', 5, 10, 60_000)).to.equal(false);
    expect(await store.consume('u', 4, 10, 60_000)).to.equal(true);
    expect(await store.consume('u', 1, 10, 60_000)).to.equal(false);
    expect(await store.consume('v', 10, 10, 60_000)).to.equal(true);
    now += 59_999;
    expect(await store.consume('u', 1, 10, 60_000)).to.equal(false);
    now += 1;
    expect(await store.consume('u', 10, 10, 60_000)).to.equal(true);
    expect(await store.consume('u', 11, 10, 60_000)).to.equal(false);
  });

  it('forgets budgets whose window is over, and everything once closed', async () => {
    let now = 0;
    const store = memoryLimitStore({ now: () => now });
    for (let i = 0; i < 2_000; i++) await store.consume(`user-${i}`, 1, 1, 10);
    now = 100;
    // A sweep ran along the way: the old users start afresh.
    expect(await store.consume('user-0', 1, 1, 10)).to.equal(true);
    await store.acquire('k', 1);
    await store.close();
    expect(store.slots().size).to.equal(0);
  });

  it('refuses bad options and bad arguments with a SisConfigError naming each, counting nothing', async () => {
    expect(() => memoryLimitStore({ now: 5, clock: 1 } as never))
      .to.throw(SisConfigError)
      .with.property('problems')
      .that.satisfies((problems: { path: string }[]) => ['clock', 'now'].every((path) => problems.some((p) => p.path === path)));
    const store = memoryLimitStore();
    const acquire = await errorOf(store.acquire(7 as never, -1));
    expect(acquire).to.be.instanceOf(SisConfigError);
    expect((acquire as SisConfigError).problems.map((p) => p.path)).to.deep.equal(['key', 'max']);
    const consume = await errorOf(store.consume('k', 1.5, 10, 0));
    expect((consume as SisConfigError).problems.map((p) => p.path)).to.deep.equal(['amount', 'windowMs']);
    expect(store.slots().size).to.equal(0);
  });
});
