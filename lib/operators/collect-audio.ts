import { Observable, type OperatorFunction } from 'rxjs';
import { bytesOf, type AudioData } from '../audio/audio-data.js';

/**
 * Gathers a stream of audio into one `Uint8Array`, emitted when the source completes. The chunks
 * are kept as they come and copied once, into an array allocated at the end (no quadratic regrowth).
 * @example const pcm = await lastValueFrom(client.synthesize$(request).pipe(collectAudio()));
 */
export const collectAudio = (): OperatorFunction<AudioData, Uint8Array> => (source) =>
  new Observable<Uint8Array>((subscriber) => {
    let parts: Uint8Array[] = [];
    let length = 0;
    const subscription = source.subscribe({
      next: (audio) => {
        const bytes = bytesOf(audio);
        parts.push(bytes);
        length += bytes.byteLength;
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        const all = new Uint8Array(length);
        let at = 0;
        for (const part of parts) {
          all.set(part, at);
          at += part.byteLength;
        }
        parts = [];
        subscriber.next(all);
        subscriber.complete();
      },
    });
    return () => {
      subscription.unsubscribe();
      parts = [];
    };
  });
