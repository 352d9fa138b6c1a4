/**
 * What `sis-tts` writes: the audio format and the container, from `--audio-format`, `--container`
 * and the output's extension, which must agree. One rule for every output, so that `-o x.mp3`
 * can never hold PCM and `-o x.wav` can never hold a headerless stream.
 */
import { extname } from 'node:path';
import { REQUEST_DEFAULTS } from '../protocol/request.js';
import type { AudioFormat } from '../protocol/wire.js';
import { UsageError } from './usage.js';

/** `wav`: a WAV header before the audio; `raw`: the bytes as the service sent them. */
export const CONTAINERS = ['wav', 'raw'] as const;
export type Container = (typeof CONTAINERS)[number];

/** What each known extension says about the file: always the container, and for some the audio format. */
export const EXTENSIONS: Readonly<Record<string, { readonly container: Container; readonly audioFormat?: AudioFormat }>> = {
  '.wav': { container: 'wav' },
  '.mp3': { container: 'raw', audioFormat: 'mp3' },
  '.pcm': { container: 'raw', audioFormat: 'pcm' },
  '.alaw': { container: 'raw', audioFormat: 'alaw' },
  '.ulaw': { container: 'raw', audioFormat: 'ulaw' },
  '.raw': { container: 'raw' },
};

/** The output `-`: standard output. */
export const STDOUT = '-';

/** What the output will hold. */
export interface OutputFormat {
  readonly audioFormat: AudioFormat;
  readonly container: Container;
}

/**
 * Resolves the audio format and container of `output` (a path, or `-` for stdout) from the flags
 * the user gave and the output's extension:
 * - a known extension implies its container (and audio format, for `.mp3`, `.pcm`, `.alaw`, `.ulaw`);
 *   a flag that says otherwise is a usage error;
 * - stdout, or a file with another extension, takes the flags; without `--container`, stdout gets
 *   a WAV header and a file of an unknown extension is a usage error (nothing to guess from);
 * - the audio format defaults to the library's (pcm); mp3 is never put in a WAV container.
 * @throws {UsageError} naming the flag and the extension that disagree.
 */
export const resolveOutput = (
  output: string,
  given: { readonly audioFormat: AudioFormat | undefined; readonly container: Container | undefined },
): OutputFormat => {
  const extension = output === STDOUT ? '' : extname(output).toLowerCase();
  const implied = Object.hasOwn(EXTENSIONS, extension) ? EXTENSIONS[extension] : undefined;
  if (implied?.audioFormat !== undefined && given.audioFormat !== undefined && given.audioFormat !== implied.audioFormat) {
    throw new UsageError(`--audio-format ${given.audioFormat} disagrees with the output ${output}: a ${extension} file holds ${implied.audioFormat}`);
  }
  if (implied !== undefined && given.container !== undefined && given.container !== implied.container) {
    throw new UsageError(
      `--container ${given.container} disagrees with the output ${output}: a ${extension} file is ${implied.container === 'wav' ? 'a WAV container' : 'raw'}`,
    );
  }
  const audioFormat = given.audioFormat ?? implied?.audioFormat ?? REQUEST_DEFAULTS.audioFormat;
  if (output !== STDOUT && implied === undefined && given.container === undefined && audioFormat !== 'mp3') {
    throw new UsageError(
      `cannot tell what to write from the extension of ${output}: name it ${Object.keys(EXTENSIONS).join(', ')}, or give --container wav or --container raw`,
    );
  }
  const container = given.container ?? implied?.container ?? (audioFormat === 'mp3' ? 'raw' : 'wav');
  if (audioFormat === 'mp3' && container === 'wav') {
    throw new UsageError(
      `mp3 audio is written as it comes, not in a WAV container: write it to a .mp3 file${output === STDOUT ? ' or with --container raw' : ''}`,
    );
  }
  return { audioFormat, container };
};
