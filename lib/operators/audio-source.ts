/** A source that Node-side consumers (streams, async iteration) can slow down. */
import { BehaviorSubject, Observable, combineLatest, distinctUntilChanged, map } from 'rxjs';

/**
 * Either a function given a `paused$` flag to pass on (e.g. to `client.synthesize$(request, { paused$ })`),
 * so a slow consumer pauses the socket; or a plain Observable, which cannot be paused and is
 * buffered up to a limit.
 */
export type AudioSource<T> = Observable<T> | ((paused$: Observable<boolean>) => Observable<T>);

/**
 * Opens a source, returning the Observable and, if it can be paused, the switch that pauses it.
 * `release` resumes before it completes the flag: call it before unsubscribing, so a socket is never
 * closed while paused (its close handshake could not be read).
 */
export const openSource = <T>(source: AudioSource<T>): { audio$: Observable<T>; pause: ((paused: boolean) => void) | undefined; release: () => void } => {
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

/**
 * Subscribes to `open(flag$)`, where `flag$` follows `paused$` but turns false as the session ends,
 * errors or is unsubscribed, before its teardown runs: a paused socket could not read the reply to
 * its close frame and would linger until ws gives up.
 */
export const resumingAtEnd = <T>(paused$: Observable<boolean>, open: (paused$: Observable<boolean>) => Observable<T>): Observable<T> =>
  new Observable<T>((subscriber) => {
    const ended = new BehaviorSubject(false);
    const flag$ = combineLatest([paused$, ended]).pipe(
      map(([paused, done]) => paused && !done),
      distinctUntilChanged(),
    );
    const subscription = open(flag$).subscribe({
      next: (value) => subscriber.next(value),
      error: (error: unknown) => {
        ended.next(true);
        subscriber.error(error);
      },
      complete: () => {
        ended.next(true);
        subscriber.complete();
      },
    });
    return () => {
      ended.next(true);
      ended.complete();
      subscription.unsubscribe();
    };
  });
