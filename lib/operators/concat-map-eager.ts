import { Observable, Subscription, from, type ObservableInput, type OperatorFunction } from 'rxjs';
import { SisConfigError } from '../errors.js';
import { fn, positiveInteger } from '../checks.js';

interface Inner<R> {
  readonly buffer: R[];
  done: boolean;
}

/**
 * Like `concatMap`, but runs up to `concurrency` projected Observables at once: the one being
 * emitted and the next ones, whose values are buffered until their turn. Output is strictly in
 * source order. Inner `k + concurrency` is subscribed only once inner `k` has completed, so at most
 * `concurrency - 1` inners are buffered. Any error fails the whole at once.
 * @throws {SisConfigError} (as an error notification) if `project` is not a function or `concurrency` not a positive integer.
 * @example from(parts).pipe(concatMapEager((text) => client.synthesize$({ text }), 2))
 */
export const concatMapEager =
  <T, R>(project: (value: T, index: number) => ObservableInput<R>, concurrency = 2): OperatorFunction<T, R> =>
  (source) =>
    new Observable<R>((subscriber) => {
      const problems = [...fn('a function (value, index) => Observable')('project', project), ...positiveInteger('concurrency', concurrency)];
      if (problems.length > 0) throw new SisConfigError(problems, 'concatMapEager arguments');
      const waiting: T[] = []; // source values not started yet
      const inners = new Map<number, Inner<R>>();
      const subscriptions = new Subscription();
      let received = 0;
      let started = 0;
      let current = 0; // the inner whose values go out now
      let sourceDone = false;
      let draining = false;

      const startInner = (k: number, value: T): void => {
        const inner: Inner<R> = { buffer: [], done: false };
        inners.set(k, inner);
        let projected: ObservableInput<R>;
        try {
          projected = project(value, k);
        } catch (error) {
          return subscriber.error(error);
        }
        subscriptions.add(
          from(projected).subscribe({
            next: (v) => {
              if (k === current && inner.buffer.length === 0) subscriber.next(v);
              else inner.buffer.push(v);
            },
            error: (error: unknown) => subscriber.error(error),
            complete: () => {
              inner.done = true;
              drain();
            },
          }),
        );
      };

      // The one place that moves the window; re-entrant calls (an inner completing synchronously) are folded in.
      const drain = (): void => {
        if (draining) return;
        draining = true;
        try {
          while (!subscriber.closed) {
            let inner = inners.get(current);
            while (inner !== undefined && !subscriber.closed) {
              for (const v of inner.buffer.splice(0)) subscriber.next(v);
              if (!inner.done) break;
              inners.delete(current);
              current += 1;
              inner = inners.get(current);
            }
            const next = waiting[0];
            if (started < received && started < current + concurrency && next !== undefined) {
              waiting.shift();
              startInner(started++, next);
              continue;
            }
            break;
          }
          if (sourceDone && current === received) subscriber.complete();
        } finally {
          draining = false;
        }
      };

      subscriptions.add(
        source.subscribe({
          next: (value) => {
            waiting.push(value);
            received += 1;
            drain();
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            sourceDone = true;
            drain();
          },
        }),
      );
      return subscriptions;
    });
