import { catchError, defer, from, identity, map, of, throwError, type Observable } from 'rxjs';
import { SisConfigError, SisError, SisItemError, type Problem } from '../errors.js';
import { check, clientProblems, objectProblems, oneOf, positiveInteger, unknownKeyProblems } from '../checks.js';
import type { SynthesisRequest } from '../protocol/request.js';
import type { SisClient } from '../session/client.js';
import type { AudioChunk } from '../session/events.js';
import { collectAudio } from '../operators/collect-audio.js';
import { concatMapEager } from '../operators/concat-map-eager.js';
import { retryProblems, retrySynthesis, type RetryOptions } from '../operators/retry-synthesis.js';

/** Options of {@link synthesizeMany$}. */
export interface ManyOptions {
  /** Runs the sessions, one per request: a {@link SisClient} (or anything with its `synthesize$`). */
  readonly client: Pick<SisClient, 'synthesize$'>;
  /** Sessions at once. Default 2. */
  readonly concurrency?: number | undefined;
  /**
   * `'fail-fast'` (default): the first failure fails the whole with a {@link SisItemError}.
   * `'settle'`: every request gets an outcome, failures included.
   */
  readonly mode?: 'fail-fast' | 'settle' | undefined;
  /** Retry each request on its own. */
  readonly retry?: RetryOptions | undefined;
}

/** A request that was synthesised, with its whole audio. */
export interface SynthesisSuccess {
  /** 0-based position of the request in the input. */
  readonly index: number;
  /** The request as given. */
  readonly request: SynthesisRequest;
  readonly ok: true;
  /** The whole audio of the request. */
  readonly audio: Uint8Array;
  /** The session's trace id (undefined if the service sent no audio). */
  readonly traceId: string | undefined;
}

/** A request that failed (reported only in `'settle'` mode). */
export interface SynthesisFailure {
  /** 0-based position of the request in the input. */
  readonly index: number;
  /** The request as given. */
  readonly request: SynthesisRequest;
  readonly ok: false;
  /** Why it failed, after any retries. */
  readonly error: SisError;
}

/** The result of one request in {@link synthesizeMany$}: check `ok` to tell which. */
export type SynthesisOutcome = SynthesisSuccess | SynthesisFailure;

const MANY_OPTIONS = ['client', 'concurrency', 'mode', 'retry'] as const;

/** Every problem with the arguments of `synthesizeMany$`, the retry options included. */
const manyProblems = (requests: unknown, options: ManyOptions): Problem[] => {
  const requestProblems = check('an array (or other iterable) of requests', (value) => typeof value === 'object' && value !== null && Symbol.iterator in value)(
    'requests',
    requests,
  );
  if (typeof options !== 'object' || options === null) return [...objectProblems('options', options, '{ client, concurrency: 2 }'), ...requestProblems];
  const { client, concurrency = 2, mode = 'fail-fast', retry } = options;
  return [
    ...unknownKeyProblems(options, MANY_OPTIONS),
    ...clientProblems(client),
    ...positiveInteger('concurrency', concurrency),
    ...oneOf(['fail-fast', 'settle'])('mode', mode),
    ...(retry === undefined ? [] : retryProblems(retry, 'retry.')),
    ...requestProblems,
  ];
};

/**
 * Synthesises many requests, up to `concurrency` at once, emitting one result per request in
 * input order (each as soon as it and those before it are done). In `'settle'` mode a failure is
 * reported as `{ ok: false, error }` and the others go on; by default it fails the whole.
 * @throws {SisConfigError} (as an error notification, before any session) naming every bad argument.
 * @example synthesizeMany$(lines.map((text) => ({ text })), { client, mode: 'settle' }).subscribe(save)
 */
export function synthesizeMany$(requests: Iterable<SynthesisRequest>, options: ManyOptions & { readonly mode: 'settle' }): Observable<SynthesisOutcome>;
export function synthesizeMany$(requests: Iterable<SynthesisRequest>, options: ManyOptions & { readonly mode?: 'fail-fast' }): Observable<SynthesisSuccess>;
export function synthesizeMany$(requests: Iterable<SynthesisRequest>, options: ManyOptions): Observable<SynthesisOutcome>;
export function synthesizeMany$(requests: Iterable<SynthesisRequest>, options: ManyOptions): Observable<SynthesisOutcome> {
  return defer(() => {
    const problems = manyProblems(requests, options);
    if (problems.length > 0) throw new SisConfigError(problems, 'synthesizeMany$ arguments');
    const { client, concurrency = 2, mode = 'fail-fast', retry } = options;
    return from(requests).pipe(
      concatMapEager((request, index) => {
        let traceId: string | undefined;
        return client.synthesize$(request).pipe(
          retry === undefined ? identity : retrySynthesis<AudioChunk>(retry),
          map((chunk) => {
            traceId ??= chunk.traceId;
            return chunk;
          }),
          collectAudio(),
          map((audio): SynthesisOutcome => ({ index, request, ok: true, audio, traceId })),
          catchError((error: unknown) => {
            if (!(error instanceof SisError)) return throwError(() => error);
            if (mode === 'fail-fast') return throwError(() => new SisItemError({ index, cause: error }));
            return of<SynthesisOutcome>({ index, request, ok: false, error });
          }),
        );
      }, concurrency),
    );
  });
}
