import { asyncScheduler, defer, retry, tap, throwError, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { SisConfigError, type Problem } from '../errors.js';
import { check, fn, isObject, nonNegativeInteger, nonNegativeMs, objectProblems, optional, unknownKeyProblems } from '../checks.js';

/** What {@link RetryOptions.onRetry} is told before each wait. */
export interface RetryInfo {
  /** 1 for the first retry. */
  readonly attempt: number;
  /** The wait before this retry, in ms (after the cap and the jitter). */
  readonly delayMs: number;
  /** The error that caused the retry (it had `retryable: true`). */
  readonly error: unknown;
}

/** Options of {@link retrySynthesis}; every one is optional. */
export interface RetryOptions {
  /** Retries after the first attempt. Default 3. */
  readonly count?: number | undefined;
  /**
   * Wait before the first retry, in ms; doubled for each next one (the base of the exponential
   * backoff, not RxJS's fixed `delay`). Default 500.
   */
  readonly initialDelay?: number | undefined;
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

const RETRY_OPTIONS = ['count', 'initialDelay', 'maxDelay', 'jitter', 'random', 'scheduler', 'onRetry'] as const;

const isRetryable = (error: unknown): boolean => typeof error === 'object' && error !== null && 'retryable' in error && error.retryable === true;

const jitterCheck = check('a number from 0 to 1', (value) => typeof value === 'number' && value >= 0 && value <= 1);
const schedulerCheck = optional(
  check(
    'an RxJS scheduler, e.g. asyncScheduler',
    (value) => typeof value === 'object' && value !== null && typeof (value as { schedule?: unknown }).schedule === 'function',
  ),
);

/**
 * Every problem with retry options; `prefix` places them inside another function's options
 * (`'retry.'` in `synthesizeLong$`), so those can refuse bad retry options before any session.
 */
export const retryProblems = (options: unknown, prefix = ''): Problem[] => {
  if (!isObject(options)) return objectProblems(prefix.replace(/\.$/, '') || 'options', options, '{ count: 3, initialDelay: 500 }');
  const { count = 3, initialDelay = 500, maxDelay = 10_000, jitter = 0.5, random, scheduler, onRetry } = options as RetryOptions;
  const at = (path: string): string => `${prefix}${path}`;
  return [
    ...unknownKeyProblems(options, [...RETRY_OPTIONS, 'delay'], prefix),
    // The old name, which RxJS's `retry` uses for a fixed wait: say what it became rather than "unknown".
    ...(Object.hasOwn(options, 'delay') ? [{ path: at('delay'), message: "is now 'initialDelay' (the first wait, doubled for each next one)" }] : []),
    ...nonNegativeInteger(at('count'), count),
    ...nonNegativeMs(at('initialDelay'), initialDelay),
    ...check(`a number of ms ≥ initialDelay (${String(initialDelay)})`, (value) => typeof value === 'number' && value >= initialDelay)(
      at('maxDelay'),
      maxDelay,
    ),
    ...jitterCheck(at('jitter'), jitter),
    ...optional(fn('a function returning a number in [0, 1)'))(at('random'), random),
    ...schedulerCheck(at('scheduler'), scheduler),
    ...optional(fn('a function of { attempt, delayMs, error }'))(at('onRetry'), onRetry),
  ];
};

/**
 * Resubscribes after an error with `retryable: true` (a dropped connection, a timeout, the
 * concurrency cap …), but only while the failed attempt emitted nothing: once audio went out, a
 * retry would repeat it, so the error passes through. Waits grow exponentially from `initialDelay`,
 * capped at `maxDelay` and jittered. Built on RxJS's `retry({ count, delay })`.
 * @example client.synthesize$(request).pipe(retrySynthesis({ count: 3, initialDelay: 500 }))
 */
export const retrySynthesis = <T>(options: RetryOptions = {}): MonoTypeOperatorFunction<T> => retryUntil<T>(options, () => true);

/**
 * {@link retrySynthesis} where only some values commit an attempt: `commits(value)` true means a
 * retry would repeat what the listener has (audio); values before it (lifecycle events) do not.
 * Internal: `speak$` retries a sentence's events until its first audio.
 */
export const retryUntil =
  <T>(options: RetryOptions, commits: (value: T) => boolean): MonoTypeOperatorFunction<T> =>
  (source) =>
    defer(() => {
      const problems = retryProblems(options);
      if (problems.length > 0) throw new SisConfigError(problems, 'retry options');
      const { count = 3, initialDelay = 500, maxDelay = 10_000, jitter = 0.5, random = Math.random, scheduler = asyncScheduler, onRetry } = options;
      // Per subscription (hence the `defer`). No retry follows an attempt that committed, so
      // "something was committed" always describes the attempt that just failed.
      let committed = false;
      return source.pipe(
        tap((value) => {
          if (!committed && commits(value)) committed = true;
        }),
        retry({
          count,
          delay: (error: unknown, retryCount: number) => {
            if (committed || !isRetryable(error)) return throwError(() => error);
            // Capped exponent: 2 ** 1024 is Infinity, and 0 × Infinity would be NaN.
            const wait = Math.min(maxDelay, initialDelay * 2 ** Math.min(retryCount - 1, 52));
            const delayMs = Math.round(wait * (1 - jitter * random()));
            onRetry?.({ attempt: retryCount, delayMs, error });
            return timer(delayMs, scheduler);
          },
        }),
      );
    });
