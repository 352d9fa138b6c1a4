import { Observable, asyncScheduler, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { SisConfigError, type Problem } from '../errors.js';

export interface RetryInfo {
  /** 1 for the first retry. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: unknown;
}

export interface RetryOptions {
  /** Retries after the first attempt. Default 3. */
  readonly count?: number | undefined;
  /** Wait before the first retry, in ms; doubled for each next one. Default 500. */
  readonly delay?: number | undefined;
  /** Longest wait, in ms. Default 10,000. */
  readonly maxDelay?: number | undefined;
  /** 0..1: each wait is drawn from [wait × (1 − jitter), wait] (whole ms), so clients do not retry in step. Default 0.5. */
  readonly jitter?: number | undefined;
  /** Source of randomness in [0, 1) for the jitter. Default `Math.random`. */
  readonly random?: (() => number) | undefined;
  /** Default `asyncScheduler` (virtual time inside `TestScheduler.run`). */
  readonly scheduler?: SchedulerLike | undefined;
  /** Called before each wait, e.g. to log it. */
  readonly onRetry?: ((info: RetryInfo) => void) | undefined;
}

const isRetryable = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && 'retryable' in error && error.retryable === true;

const checked = (options: RetryOptions): { count: number; delay: number; maxDelay: number; jitter: number } => {
  const { count = 3, delay = 500, maxDelay = 10_000, jitter = 0.5 } = options;
  const problems: Problem[] = [];
  if (!Number.isInteger(count) || count < 0) problems.push({ path: 'count', message: `must be an integer ≥ 0, got ${String(count)}` });
  if (!(delay >= 0) || !Number.isFinite(delay)) problems.push({ path: 'delay', message: `must be a number of ms ≥ 0, got ${String(delay)}` });
  if (!(maxDelay >= delay)) problems.push({ path: 'maxDelay', message: `must be at least delay (${String(delay)}), got ${String(maxDelay)}` });
  if (!(jitter >= 0 && jitter <= 1)) problems.push({ path: 'jitter', message: `must be from 0 to 1, got ${String(jitter)}` });
  if (problems.length > 0) throw new SisConfigError(problems, 'retry options');
  return { count, delay, maxDelay, jitter };
};

/**
 * Resubscribes after an error with `retryable: true` (a dropped connection, a timeout, the
 * concurrency cap …), but only while the failed attempt emitted nothing: once audio went out, a
 * retry would repeat it, so the error passes through. Waits grow exponentially, capped and jittered.
 * @example client.synthesize$(request).pipe(retrySynthesis({ count: 3, delay: 500 }))
 */
export const retrySynthesis =
  <T>(options: RetryOptions = {}): MonoTypeOperatorFunction<T> =>
  (source) =>
    new Observable<T>((subscriber) => {
      const { count, delay, maxDelay, jitter } = checked(options);
      const random = options.random ?? Math.random;
      const scheduler = options.scheduler ?? asyncScheduler;
      let retries = 0;
      let attempt: Subscription | undefined;
      let wait: Subscription | undefined;

      const subscribe = (): void => {
        let emitted = false;
        attempt = source.subscribe({
          next: (value) => {
            emitted = true;
            subscriber.next(value);
          },
          error: (error: unknown) => {
            if (emitted || retries >= count || !isRetryable(error)) return subscriber.error(error);
            retries += 1;
            const base = Math.min(maxDelay, delay * 2 ** (retries - 1));
            const delayMs = Math.round(base * (1 - jitter * random()));
            options.onRetry?.({ attempt: retries, delayMs, error });
            wait = scheduler.schedule(subscribe, delayMs);
          },
          complete: () => subscriber.complete(),
        });
      };
      subscribe();
      return () => {
        attempt?.unsubscribe();
        wait?.unsubscribe();
      };
    });
