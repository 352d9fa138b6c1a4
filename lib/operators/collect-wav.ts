import { defer, map, type OperatorFunction } from 'rxjs';
import type { AudioData } from '../audio/audio-data.js';
import { collectAudio } from './collect-audio.js';
import { toWav } from './to-wav.js';
import { resolveAudioFormat, wavHeader, wavHeaderLength, type AudioFormatOptions } from '../audio/wav-header.js';

/**
 * Gathers a stream of audio into one complete WAV file in memory, with exact sizes
 * (mp3: the mp3 bytes as they are).
 * @example const wav = await lastValueFrom(client.synthesize$(request).pipe(collectWav(request)));
 */
export const collectWav =
  (format: AudioFormatOptions = {}): OperatorFunction<AudioData, Uint8Array> =>
  (source) =>
    defer(() => {
      const { audioFormat, sampleRate } = resolveAudioFormat(format);
      return source.pipe(
        toWav({ audioFormat, sampleRate }),
        collectAudio(),
        map((file) => {
          if (audioFormat === 'mp3') return file;
          // The streamed header, rewritten in place now that the length is known. Without a pad
          // byte after odd-length data, the RIFF size counts only what is there.
          file.set(wavHeader({ audioFormat, sampleRate, dataBytes: file.byteLength - wavHeaderLength(audioFormat) }));
          new DataView(file.buffer, file.byteOffset, 8).setUint32(4, file.byteLength - 8, true);
          return file;
        }),
      );
    });
