import { expect } from 'chai';
import { of, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { SisConfigError, concatMapEager } from '../../lib/index.js';
import { createTestScheduler } from '../helpers/marbles.js';

describe('concatMapEager', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  it('runs the next inner while the first is emitting, and emits in source order', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = cold('-a---a|');
      const b = cold('-bb|');
      const c = cold('(c|)');
      const inners: Record<string, Observable<string>> = { a, b, c };
      const source = cold('(abc|)');
      expectObservable(source.pipe(concatMapEager((k) => inners[k] ?? of(), 2))).toBe('-a---a(bbc|)');
      expectSubscriptions(a.subscriptions).toBe('^-----!');
      expectSubscriptions(b.subscriptions).toBe('^--!');
      // c waits for a to finish: never more than `concurrency` inners at once.
      expectSubscriptions(c.subscriptions).toBe('------(^!)');
    });
  });

  it('emits the current inner live and the buffered one as soon as its turn comes', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const inners: Record<string, Observable<string>> = { a: cold('--a--|'), b: cold('-b-----b|') };
      expectObservable(cold('ab|').pipe(concatMapEager((k) => inners[k] ?? of(), 2))).toBe('--a--b--b|');
    });
  });

  it('with concurrency 1 is concatMap', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = cold('-a|');
      const b = cold('-b|');
      const inners: Record<string, Observable<string>> = { a, b };
      expectObservable(cold('(ab|)').pipe(concatMapEager((k) => inners[k] ?? of(), 1))).toBe('-a-b|');
      expectSubscriptions(b.subscriptions).toBe('--^-!');
    });
  });

  it('waits for values the source has not sent yet, and completes after the source and the last inner', () => {
    scheduler.run(({ cold, hot, expectObservable }) => {
      const source = hot('a----b---|');
      expectObservable(source.pipe(concatMapEager((k: string) => cold(`-${k}|`), 3))).toBe('-a----b--|');
    });
  });

  it('fails at once when any inner fails, and unsubscribes every inner and the source', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = cold('-a-----a|');
      const b = cold('--#', undefined, new Error('part b'));
      const source = cold('ab-----|');
      const inners: Record<string, Observable<string>> = { a, b };
      expectObservable(source.pipe(concatMapEager((k) => inners[k] ?? of(), 2))).toBe('-a-#', undefined, new Error('part b'));
      expectSubscriptions(a.subscriptions).toBe('^--!');
      expectSubscriptions(b.subscriptions).toBe('-^-!');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('unsubscribes every running inner when unsubscribed', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = cold('-a-a-a-|');
      const b = cold('-b-b-b-|');
      const inners: Record<string, Observable<string>> = { a, b };
      expectObservable(cold('(ab|)').pipe(concatMapEager((k) => inners[k] ?? of(), 2)), '^--!').toBe('-a-');
      expectSubscriptions(a.subscriptions).toBe('^--!');
      expectSubscriptions(b.subscriptions).toBe('^--!');
    });
  });

  it('handles inners that complete synchronously and passes the index to the projection', () => {
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('(xyz|)').pipe(concatMapEager((v: string, i) => of(`${v}${i}`, 'sync'), 2))).toBe('(abcdef|)', {
        a: 'x0',
        b: 'sync',
        c: 'y1',
        d: 'sync',
        e: 'z2',
        f: 'sync',
      });
    });
  });

  it('refuses a project that is not a function and a concurrency that is not a positive integer, naming both', () => {
    let error: unknown;
    of(1)
      .pipe(concatMapEager('speak' as never, 0))
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).to.be.instanceOf(SisConfigError);
    expect((error as SisConfigError).problems.map((p) => p.path)).to.deep.equal(['project', 'concurrency']);
  });
});
