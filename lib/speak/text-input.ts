/** The text side of a speech: `text$` guarded (its errors typed, its silences bounded on request) and cut into pieces. */
import { catchError, identity, throwError, timeout, type Observable, type SchedulerLike } from 'rxjs';
import { SisInputError, SisTimeoutError } from '../errors.js';
import { sentences } from './sentences.js';

export interface TextInputPlan {
  readonly sentences: { readonly maxLength: number; readonly firstClauseMinLength: number | undefined };
  readonly textTimeout: number;
}

/**
 * The pieces to speak. `text$`'s own error becomes a {@link SisInputError} (its `cause` the error); a
 * value that is not a string a `SisRequestError` (path `text$`); with a finite `textTimeout`, a silence
 * that long before the first fragment or between two a {@link SisTimeoutError} of phase `'text'`.
 */
export const textInput$ = (text$: Observable<unknown>, plan: TextInputPlan, scheduler: SchedulerLike): Observable<string> =>
  text$.pipe(
    catchError((cause: unknown) => throwError(() => new SisInputError({ cause }))),
    plan.textTimeout === Infinity
      ? identity
      : timeout({ each: plan.textTimeout, scheduler, with: () => throwError(() => new SisTimeoutError('text', plan.textTimeout)) }),
    // sentences() refuses a value that is not a string with a typed error of its own.
    sentences(plan.sentences) as (source: Observable<unknown>) => Observable<string>,
  );
