import { catchError, defer, from, identity, map, of, throwError, type Observable } from 'rxjs';
import { SisConfigError, SisError, SisItemError } from '../errors.js';
import { clientProblems, positiveInteger } from '../checks.js';
import type { SynthesisRequest } from '../protocol/request.js';
import type { SisClient } from '../session/client.js';
import type { AudioChunk } from '../session/events.js';
import { collectAudio } from '../operators/collect-audio.js';
import { concatMapEager } from '../operators/concat-map-eager.js';
import { retrySynthesis, type RetryOptions } from '../operators/retry-synthesis.js';

export interface ManyOptions {
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

export interface SynthesisSuccess {
  readonly index: number;
  readonly request: SynthesisRequest;
  readonly ok: true;
  /** The whole audio of the request. */
  readonly audio: Uint8Array;
  /** The session's trace id (undefined if the service sent no audio). */
  readonly traceId: string | undefined;
}

export interface SynthesisFailure {
  readonly index: number;
  readonly request: SynthesisRequest;
  readonly ok: false;
  readonly error: SisError;
}

export type SynthesisOutcome = SynthesisSuccess | SynthesisFailure;

/**
 * Synthesises many requests, up to `concurrency` at once, emitting one result per request in
 * input order (each as soon as it and those before it are done). In `'settle'` mode a failure is
 * reported as `{ ok: false, error }` and the others go on; by default it fails the whole.
 * @example synthesizeMany$(lines.map((text) => ({ text })), { client, mode: 'settle' }).subscribe(save)
 */
export function synthesizeMany$(
  requests: Iterable<SynthesisRequest>,
  options: ManyOptions & { readonly mode: 'settle' },
): Observable<SynthesisOutcome>;
export function synthesizeMany$(
  requests: Iterable<SynthesisRequest>,
  options: ManyOptions & { readonly mode?: 'fail-fast' },
): Observable<SynthesisSuccess>;
export function synthesizeMany$(requests: Iterable<SynthesisRequest>, options: ManyOptions): Observable<SynthesisOutcome>;
export function synthesizeMany$(requests: Iterable<SynthesisRequest>, options: ManyOptions): Observable<SynthesisOutcome> {
  return defer(() => {
    const { client, concurrency = 2, mode = 'fail-fast', retry } = options;
    const problems = [...clientProblems(client), ...positiveInteger('concurrency', concurrency)];
    if (mode !== 'fail-fast' && mode !== 'settle') problems.push({ path: 'mode', message: `must be 'fail-fast' or 'settle', got ${String(mode)}` });
    const iterable = typeof requests === 'object' && requests !== null && Symbol.iterator in requests;
    if (!iterable) problems.push({ path: 'requests', message: 'must be an array (or other iterable) of requests' });
    if (problems.length > 0) throw new SisConfigError(problems, 'synthesizeMany$ arguments');
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
