/** `rx-sis-tts/node`: what needs Node's own modules (files, streams). */
export { toReadable, type ToReadableOptions } from './to-readable.js';
export { settledFileWrites, writeAudioFile, type AudioFileOptions, type AudioFileResult } from './write-audio-file.js';
