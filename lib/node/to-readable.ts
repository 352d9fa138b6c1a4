import { Readable } from 'node:stream';
import type { Subscription } from 'rxjs';
import { SisConfigError, SisOverflowError, type Problem } from '../errors.js';
import { objectProblems, positiveInteger, sourceProblems, unknownKeyProblems } from '../checks.js';
import { bytesOf, type AudioData } from '../audio/audio-data.js';
import { openSource, type AudioSource } from '../consume/audio-source.js';

/** Options of {@link toReadable}. */
export interface ToReadableOptions {
  /** Bytes waiting for the consumer before the source is paused (Node's `highWaterMark`). Default 64 KiB. */
  readonly highWaterMark?: number | undefined;
  /**
   * For a plain Observable only (it cannot be paused): bytes buffered for a lagging consumer before
   * the stream is destroyed with a {@link SisOverflowError}. Default 16 MiB.
   */
  readonly maxBufferedBytes?: number | undefined;
}

const READABLE_OPTIONS = ['highWaterMark', 'maxBufferedBytes'] as const;

const optionProblems = (options: ToReadableOptions): Problem[] => {
  if (typeof options !== 'object' || options === null) return objectProblems('options', options, '{ highWaterMark: 65536 }');
  const { highWaterMark = 64 * 1024, maxBufferedBytes = 16 * 1024 * 1024 } = options;
  return [
    ...unknownKeyProblems(options, READABLE_OPTIONS),
    ...positiveInteger('highWaterMark', highWaterMark),
    ...positiveInteger('maxBufferedBytes', maxBufferedBytes),
  ];
};

/**
 * A Node `Readable` of the audio bytes, subscribing when first read. Given a function of `paused$`,
 * it has real backpressure: when the consumer lags the socket is paused, so memory stays bounded
 * however long the audio. Given a plain Observable it buffers, up to `maxBufferedBytes`.
 * `destroy()` unsubscribes (closing the socket); an error of the audio destroys the stream with it.
 * @throws {SisConfigError} naming every bad argument.
 * @example toReadable((paused$) => client.synthesize$(request, { paused$ })).pipe(createWriteStream('out.pcm'))
 */
export const toReadable = (source: AudioSource<AudioData>, options: ToReadableOptions = {}): Readable => {
  const problems = [...sourceProblems(source), ...optionProblems(options)];
  if (problems.length > 0) throw new SisConfigError(problems, 'toReadable arguments');
  const { highWaterMark = 64 * 1024, maxBufferedBytes = 16 * 1024 * 1024 } = options;
  const { audio$, pause, release } = openSource(source);
  let subscription: Subscription | undefined;
  const readable: Readable = new Readable({
    highWaterMark,
    read() {
      if (subscription !== undefined) return pause?.(false);
      subscription = audio$.subscribe({
        next: (audio) => {
          const bytes = bytesOf(audio);
          if (bytes.byteLength === 0 || readable.destroyed) return;
          if (readable.push(bytes)) return;
          if (pause !== undefined) pause(true);
          else if (readable.readableLength > maxBufferedBytes) readable.destroy(new SisOverflowError(maxBufferedBytes, 'bytes'));
        },
        error: (error: unknown) => {
          release();
          readable.destroy(error instanceof Error ? error : new Error(String(error)));
        },
        complete: () => {
          release();
          readable.push(null);
        },
      });
    },
    destroy(error, callback) {
      release();
      subscription?.unsubscribe();
      callback(error);
    },
  });
  return readable;
};
