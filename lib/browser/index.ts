/**
 * `rx-sis-tts/browser`: playing a synthesis in a page, through the Web Audio API, as it arrives.
 * Nothing here touches Node: the root entry's browser build and this entry bundle together.
 */
export { playAudio, type PlayAudioOptions, type PlaybackPlayed, type PlaybackProgress, type PlaybackScheduled, type PlaybackTimes } from './play-audio.js';
export type { AudioBufferLike, AudioBufferSourceNodeLike, AudioContextLike, AudioNodeLike } from './web-audio.js';
export { MP3_BLOCK_SECONDS } from './mp3-blocks.js';
export { decodeSamples, type DecodedSamples, type LinearAudioFormat } from '../audio/decode.js';
