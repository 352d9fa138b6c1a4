import { Observable, type OperatorFunction } from 'rxjs';
import { bytesOf, type AudioData } from '../audio/audio-data.js';
import { resolveAudioFormat, wavHeader, type AudioFormatOptions } from '../audio/wav-header.js';

/**
 * Puts a stream of audio into a WAV container: emits the header at subscription, then each chunk's
 * bytes unchanged (no copy). The sizes use the streaming convention (0xFFFFFFFF, "until the end"),
 * which is right for a pipe; `writeAudioFile` and `collectWav` write the exact sizes instead.
 * mp3 passes through as it is. Chunks carry no format: pass the request (or its format).
 * @example client.synthesize$(request).pipe(toWav(request)).subscribe((bytes) => res.write(bytes))
 */
export const toWav =
  (format: AudioFormatOptions = {}): OperatorFunction<AudioData, Uint8Array> =>
  (source) =>
    new Observable<Uint8Array>((subscriber) => {
      const { audioFormat, sampleRate } = resolveAudioFormat(format);
      if (audioFormat !== 'mp3') subscriber.next(wavHeader({ audioFormat, sampleRate }));
      return source.subscribe({
        next: (audio) => subscriber.next(bytesOf(audio)),
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
