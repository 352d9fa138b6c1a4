/**
 * RIFF/WAVE headers for what SIS sends: 16-bit PCM (format 1) and 8-bit G.711 a-law / µ-law
 * (formats 6 / 7), mono. Non-PCM formats get the 18-byte `fmt ` chunk and the `fact` chunk the
 * RIFF spec asks for.
 */
import { SisConfigError, type Problem } from '../errors.js';
import { check, objectProblems, oneOf, optional } from '../checks.js';
import { REQUEST_DEFAULTS } from '../protocol/request.js';
import { AUDIO_FORMATS, type AudioFormat } from '../protocol/wire.js';

/** The stream's format, as in the request (a {@link SynthesisRequest} can be passed as it is). */
export interface AudioFormatOptions {
  /** Default `'pcm'`, as in a request. */
  readonly audioFormat?: AudioFormat | undefined;
  /** Hz; default 8000, as in a request. */
  readonly sampleRate?: number | undefined;
}

export interface WavHeaderOptions extends AudioFormatOptions {
  /** Length of the audio data in bytes; omitted: unknown (streaming), sizes are written as 0xFFFFFFFF. */
  readonly dataBytes?: number | undefined;
}

/** The size written for a length that is not known yet: the streaming convention. */
export const WAV_UNKNOWN_SIZE = 0xffffffff;

const FORMAT_TAGS = { pcm: 1, alaw: 6, ulaw: 7 } as const;

/** Length of the header {@link wavHeader} makes: 44 bytes for PCM, 58 for G.711. */
export const wavHeaderLength = (audioFormat: Exclude<AudioFormat, 'mp3'>): number => (audioFormat === 'pcm' ? 44 : 58);

/** The problems with a stream's format, for functions that list them with problems of their own. */
export const audioFormatProblems = (options: AudioFormatOptions): Problem[] => {
  if (typeof options !== 'object' || options === null) return objectProblems('options', options, 'the request, or { audioFormat, sampleRate }');
  return [
    ...optional(oneOf(AUDIO_FORMATS))('audioFormat', options.audioFormat),
    ...optional(check('a positive integer (Hz)', (value) => Number.isInteger(value) && Number(value) > 0))('sampleRate', options.sampleRate),
  ];
};

/** Resolves the defaults and checks what a WAV header needs. */
export const resolveAudioFormat = (options: AudioFormatOptions): { audioFormat: AudioFormat; sampleRate: number } => {
  const problems = audioFormatProblems(options);
  if (problems.length > 0) throw new SisConfigError(problems, 'audio format');
  return { audioFormat: options.audioFormat ?? REQUEST_DEFAULTS.audioFormat, sampleRate: options.sampleRate ?? REQUEST_DEFAULTS.sampleRate };
};

/**
 * A WAV header for mono audio in a SIS format (not mp3: it has its own framing).
 * With `dataBytes` the sizes are exact (an odd length must be followed by one zero pad byte, which
 * the RIFF size counts); without, they are 0xFFFFFFFF, which players read as "until the end".
 * Sizes too large for 32 bits are written as 0xFFFFFFFF too.
 * @throws {SisConfigError} for mp3, a bad rate or a bad `dataBytes`.
 * @example writeFileSync('a.wav', Buffer.concat([wavHeader({ sampleRate: 16000, dataBytes: pcm.length }), pcm]))
 */
export const wavHeader = (options: WavHeaderOptions = {}): Uint8Array => {
  const { audioFormat, sampleRate } = resolveAudioFormat(options);
  if (audioFormat === 'mp3') {
    throw new SisConfigError([{ path: 'audioFormat', message: 'mp3 has no WAV header (write mp3 as it is)' }], 'audio format');
  }
  const { dataBytes } = options;
  const problems = optional(check('a whole number of bytes ≥ 0', (value) => Number.isSafeInteger(value) && Number(value) >= 0))('dataBytes', dataBytes);
  if (problems.length > 0) throw new SisConfigError(problems, 'audio format');
  const pcm = audioFormat === 'pcm';
  const headerLength = wavHeaderLength(audioFormat);
  const bytesPerSample = pcm ? 2 : 1;
  const size = (n: number | undefined): number => (n === undefined || n > WAV_UNKNOWN_SIZE ? WAV_UNKNOWN_SIZE : n);
  const pad = dataBytes === undefined ? 0 : dataBytes % 2;

  const header = new Uint8Array(headerLength);
  const view = new DataView(header.buffer);
  let at = 0;
  const ascii = (s: string): void => {
    for (const c of s) header[at++] = c.charCodeAt(0);
  };
  const u32 = (n: number): void => {
    view.setUint32(at, n, true);
    at += 4;
  };
  const u16 = (n: number): void => {
    view.setUint16(at, n, true);
    at += 2;
  };
  ascii('RIFF');
  u32(size(dataBytes === undefined ? undefined : headerLength - 8 + dataBytes + pad));
  ascii('WAVE');
  ascii('fmt ');
  u32(pcm ? 16 : 18);
  u16(FORMAT_TAGS[audioFormat]);
  u16(1); // mono
  u32(sampleRate);
  u32(sampleRate * bytesPerSample);
  u16(bytesPerSample);
  u16(bytesPerSample * 8);
  if (!pcm) {
    u16(0); // cbSize: no extension
    ascii('fact');
    u32(4);
    u32(size(dataBytes)); // one byte per sample
  }
  ascii('data');
  u32(size(dataBytes));
  return header;
};
