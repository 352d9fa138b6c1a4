/**
 * The part of the Web Audio API that playback uses, declared structurally: the project compiles
 * without the DOM library, a real `AudioContext` or `OfflineAudioContext` satisfies these types as it
 * is, and tests pass a fake driven by virtual time.
 *
 * Nothing here needs a user gesture or an `AudioContext`-only method: `resume()` is never called
 * (an `OfflineAudioContext` would reject it before rendering; a page resumes its context itself, in a
 * click handler).
 */

/** Anything a source can be connected to: the context's `destination`, a `GainNode`, an analyser … */
export interface AudioNodeLike {
  /** Sends this node's output to `destination`. */
  connect(destination: AudioNodeLike): unknown;
  /** Removes every connection from this node's output. */
  disconnect(): void;
}

/** Decoded audio in memory: what `createBuffer` and `decodeAudioData` make. */
export interface AudioBufferLike {
  /** Seconds: `length / sampleRate`. */
  readonly duration: number;
  /** Sample frames per channel. */
  readonly length: number;
  /** Hz. */
  readonly sampleRate: number;
  /** The samples of one channel, to read or fill in place. */
  getChannelData(channel: number): Float32Array;
}

/** One-shot playback of a buffer: started once, at a time of the context's clock, and stopped once. */
export interface AudioBufferSourceNodeLike extends AudioNodeLike {
  /** The audio to play; set before `start`. */
  buffer: AudioBufferLike | null;
  /**
   * Called once the source has stopped: played to its end, or `stop()` was called. (The event is
   * typed `never` so that the DOM's handler type fits; playback does not read it.)
   */
  onended: ((event: never) => unknown) | null;
  /** Plays from `offset` seconds into the buffer, for `duration` seconds (default: to its end), at context time `when`. */
  start(when?: number, offset?: number, duration?: number): void;
  /** Stops now (or at context time `when`). */
  stop(when?: number): void;
}

/** What `playAudio` needs of a context: an `AudioContext` or an `OfflineAudioContext` fits. */
export interface AudioContextLike {
  /** Seconds on the context's clock: the time of the next sample it will render. */
  readonly currentTime: number;
  /** Where sources are connected unless another node is given. */
  readonly destination: AudioNodeLike;
  /** `'suspended'`, `'running'` or `'closed'` (a closed context plays nothing any more). */
  readonly state: string;
  /** An empty buffer of `length` frames at `sampleRate` Hz. */
  createBuffer(numberOfChannels: number, length: number, sampleRate: number): AudioBufferLike;
  /** A new source node, not yet started. */
  createBufferSource(): AudioBufferSourceNodeLike;
  /** Decodes a whole encoded file (mp3 here) to a buffer at the context's rate. The buffer is detached. */
  decodeAudioData(audioData: ArrayBuffer): Promise<AudioBufferLike>;
  /** `'statechange'` tells when the context is closed; used when present. */
  addEventListener?(type: 'statechange', listener: () => void): void;
  /** Removes the listener added above. */
  removeEventListener?(type: 'statechange', listener: () => void): void;
}
