import type { Subscription } from 'rxjs';
import { SisConfigError, SisOverflowError, type Problem } from '../errors.js';
import { openSource, type AudioSource } from './audio-source.js';
import { objectProblems, positiveInteger, sourceProblems, unknownKeyProblems } from '../checks.js';

/** Both limits count items (what the loop receives, e.g. whole chunks), not bytes as `toReadable`'s do. */
export interface AudioIterableOptions {
  /** Items waiting for the loop before the source is paused (the meaning it has in `toReadable`, in items). Default 16. */
  readonly highWaterMark?: number | undefined;
  /** For a plain Observable only (it cannot be paused): items waiting past which it fails with a {@link SisOverflowError}. Default 10,000. */
  readonly maxBufferedItems?: number | undefined;
}

const ITERABLE_OPTIONS = ['highWaterMark', 'maxBufferedItems'] as const;

const optionProblems = (options: AudioIterableOptions): Problem[] => {
  if (typeof options !== 'object' || options === null) return objectProblems('options', options, '{ highWaterMark: 16 }');
  const { highWaterMark = 16, maxBufferedItems = 10_000 } = options;
  return [
    ...unknownKeyProblems(options, [...ITERABLE_OPTIONS, 'maxBuffered']),
    ...(Object.hasOwn(options, 'maxBuffered') ? [{ path: 'maxBuffered', message: "is now 'maxBufferedItems'" }] : []),
    ...positiveInteger('highWaterMark', highWaterMark),
    ...positiveInteger('maxBufferedItems', maxBufferedItems),
  ];
};

/**
 * The values of a source for `for await`: each iteration subscribes anew, `break` (or `return`)
 * unsubscribes, an error is thrown from the loop. Given a function of `paused$`, the source is
 * paused while `highWaterMark` items wait for the loop, so a slow loop keeps memory bounded;
 * a plain Observable cannot be paused, and fails once more than `maxBufferedItems` wait.
 * @throws {SisConfigError} naming every bad argument.
 * @example for await (const chunk of audioIterable((paused$) => client.synthesize$(request, { paused$ }))) await sink.write(chunk.data);
 */
export const audioIterable = <T>(source: AudioSource<T>, options: AudioIterableOptions = {}): AsyncIterable<T> => {
  const problems = [...sourceProblems(source), ...optionProblems(options)];
  if (problems.length > 0) throw new SisConfigError(problems, 'audioIterable arguments');
  return iterableOf(source, options);
};

const iterableOf = <T>(source: AudioSource<T>, options: AudioIterableOptions): AsyncIterable<T> => ({
  [Symbol.asyncIterator]: (): AsyncIterator<T> => {
    const { highWaterMark = 16, maxBufferedItems = 10_000 } = options;
    const { audio$, pause, release } = openSource(source);
    const queue: { readonly value: T }[] = [];
    const waiters: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void }[] = [];
    let ended: { error: unknown } | 'complete' | undefined;
    let subscription: Subscription | undefined;

    const finish = (): IteratorResult<T> => {
      release();
      subscription?.unsubscribe();
      queue.length = 0;
      ended = 'complete';
      for (const waiter of waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
      return { value: undefined, done: true };
    };
    const end = (how: { error: unknown } | 'complete'): void => {
      if (ended !== undefined) return;
      ended = how;
      release();
      if (how === 'complete') for (const waiter of waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
      else for (const waiter of waiters.splice(0)) waiter.reject(how.error);
    };
    const start = (): void => {
      subscription = audio$.subscribe({
        next: (value) => {
          if (ended !== undefined) return;
          const waiter = waiters.shift();
          if (waiter !== undefined) return waiter.resolve({ value, done: false });
          queue.push({ value });
          if (pause !== undefined) {
            if (queue.length >= highWaterMark) pause(true);
          } else if (queue.length > maxBufferedItems) {
            end({ error: new SisOverflowError(maxBufferedItems, 'items') });
            subscription?.unsubscribe();
          }
        },
        error: (error: unknown) => end({ error }),
        complete: () => end('complete'),
      });
    };

    return {
      next: (): Promise<IteratorResult<T>> => {
        if (subscription === undefined && ended === undefined) start();
        const item = queue.shift();
        if (item !== undefined) {
          if (queue.length < highWaterMark) pause?.(false);
          return Promise.resolve({ value: item.value, done: false });
        }
        if (ended === 'complete') return Promise.resolve({ value: undefined, done: true });
        if (ended !== undefined) {
          const { error } = ended;
          ended = 'complete'; // thrown once; the iterator is done after
          return Promise.reject(error);
        }
        pause?.(false);
        return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
      },
      return: (): Promise<IteratorResult<T>> => Promise.resolve(finish()),
    };
  },
});
