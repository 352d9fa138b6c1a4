import { Observable, type OperatorFunction } from 'rxjs';
import type { AudioChunk, SisEvent } from '../session/events.js';

/**
 * Narrows a session's events to its audio chunks: what `synthesize$` is made of.
 * @example client.events$(request).pipe(tap(logEvent), audioOnly())
 */
export const audioOnly = (): OperatorFunction<SisEvent, AudioChunk> => (events$) =>
  new Observable<AudioChunk>((subscriber) =>
    events$.subscribe({
      next: (event) => {
        if (event.type === 'audio') subscriber.next(event.chunk);
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    }),
  );
