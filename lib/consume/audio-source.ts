/** A source that Node-side consumers (streams, async iteration) can slow down. */
import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import { SisConfigError } from '../errors.js';
import { sourceProblems } from '../checks.js';

/**
 * Either a function given a `paused$` flag to pass on (e.g. to `client.synthesize$(request, { paused$ })`),
 * so a slow consumer pauses the socket; or a plain Observable, which cannot be paused and is
 * buffered up to a limit.
 */
export type AudioSource<T> = Observable<T> | ((paused$: Observable<boolean>) => Observable<T>);

/**
 * Opens a source, returning the Observable and, if it can be paused, the switch that pauses it.
 * `release` resumes and completes the flag once the consumer is done with the source.
 */
export const openSource = <T>(source: AudioSource<T>): { audio$: Observable<T>; pause: ((paused: boolean) => void) | undefined; release: () => void } => {
  const problems = sourceProblems(source);
  if (problems.length > 0) throw new SisConfigError(problems, 'audio source');
  if (typeof source !== 'function') return { audio$: source, pause: undefined, release: () => undefined };
  const paused = new BehaviorSubject(false);
  return {
    audio$: source(paused.pipe(distinctUntilChanged())),
    pause: (value) => {
      if (!paused.closed) paused.next(value);
    },
    release: () => {
      if (paused.closed) return;
      paused.next(false);
      paused.complete();
    },
  };
};
