/** `rx-sis-tts/node`: what needs Node's own modules (files, streams, HTTP responses). */
export {
  httpStatusOf,
  sendSynthesis,
  type SendSynthesisOptions,
  type SendSynthesisOutcome,
  type SendSynthesisResult,
  type SynthesisErrorBody,
  type SynthesisErrorCode,
} from './http.js';
export { toReadable, type ToReadableOptions } from './to-readable.js';
export { settledFileWrites, writeAudioFile, type AudioFileOptions, type AudioFileResult } from './write-audio-file.js';
