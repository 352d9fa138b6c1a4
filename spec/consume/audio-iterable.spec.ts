import { expect } from 'chai';
import { Observable, Subject, concat, of, throwError } from 'rxjs';
import { SisConfigError, SisOverflowError, SisServiceError, audioIterable, type AudioIterableOptions } from '../../lib/index.js';

describe('audioIterable', () => {
  it('yields every value in order, then ends', async () => {
    const seen: number[] = [];
    for await (const value of audioIterable(of(1, 2, 3))) seen.push(value);
    expect(seen).to.deep.equal([1, 2, 3]);
  });

  it('is cold: each loop subscribes anew', async () => {
    let subscriptions = 0;
    const source = new Observable<number>((subscriber) => {
      subscriptions += 1;
      subscriber.next(subscriptions);
      subscriber.complete();
    });
    const iterable = audioIterable(source);
    const seen: number[] = [];
    for await (const value of iterable) seen.push(value);
    for await (const value of iterable) seen.push(value);
    expect(seen).to.deep.equal([1, 2]);
  });

  it('unsubscribes on break', async () => {
    let tornDown = false;
    const endless = new Observable<number>((subscriber) => {
      for (let i = 0; i < 5; i++) subscriber.next(i);
      return () => {
        tornDown = true;
      };
    });
    for await (const value of audioIterable(endless)) {
      if (value === 1) break;
    }
    expect(tornDown).to.equal(true);
  });

  it('throws the error of the source from the loop, after the values before it', async () => {
    const failure = new SisServiceError({ traceId: 't', errorCode: 'SIS.0401' });
    const seen: number[] = [];
    let caught: unknown;
    try {
      for await (const value of audioIterable(
        concat(
          of(1, 2),
          throwError(() => failure),
        ),
      ))
        seen.push(value);
    } catch (error) {
      caught = error;
    }
    expect(seen).to.deep.equal([1, 2]);
    expect(caught).to.equal(failure);
  });

  it('pauses the source while highWaterMark values wait for the loop, and resumes as it drains', async () => {
    const values = new Subject<number>();
    const flags: boolean[] = [];
    const iterator = audioIterable(
      (paused$) => {
        paused$.subscribe((paused) => flags.push(paused));
        return values;
      },
      { highWaterMark: 2 },
    )[Symbol.asyncIterator]();
    const first = iterator.next();
    values.next(1); // handed straight to the waiting loop
    expect(await first).to.deep.equal({ value: 1, done: false });
    values.next(2);
    values.next(3);
    expect(flags.at(-1), 'paused with 2 waiting').to.equal(true);
    expect(await iterator.next()).to.deep.equal({ value: 2, done: false });
    expect(flags.at(-1), 'resumed below the mark').to.equal(false);
    await iterator.return?.();
    expect(values.observed).to.equal(false);
  });

  it('given a plain Observable (no pause), fails with SisOverflowError past maxBufferedItems', async () => {
    const values = new Subject<number>();
    const iterator = audioIterable(values, { highWaterMark: 1, maxBufferedItems: 2 })[Symbol.asyncIterator]();
    const first = iterator.next();
    for (let i = 0; i < 4; i++) values.next(i);
    expect(await first).to.deep.equal({ value: 0, done: false });
    expect(values.observed).to.equal(false);
    // The values buffered before the overflow come first, then the error.
    const rest: number[] = [];
    const error: unknown = await (async () => {
      for (;;) {
        const result = await iterator.next();
        if (result.done === true) return undefined;
        rest.push(result.value);
      }
    })().catch((e: unknown) => e);
    expect(rest).to.deep.equal([1, 2, 3]);
    expect(error).to.be.instanceOf(SisOverflowError).and.include({ limit: 2, unit: 'items' });
  });

  it('refuses limits that are not positive integers, naming each, and points the old maxBuffered to maxBufferedItems', () => {
    const options = { highWaterMark: 0, maxBufferedItems: 2.5, maxBuffered: 100 } as unknown as AudioIterableOptions;
    expect(() => audioIterable(of(1), options))
      .to.throw(SisConfigError)
      .with.property('problems')
      .that.deep.equals([
        { path: 'maxBuffered', message: "is now 'maxBufferedItems'" },
        { path: 'highWaterMark', message: 'must be a positive integer, got 0' },
        { path: 'maxBufferedItems', message: 'must be a positive integer, got 2.5' },
      ]);
  });
});
