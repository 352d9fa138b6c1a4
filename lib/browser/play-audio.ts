/**
 * Playback of a synthesis through the Web Audio API, as it arrives.
 *
 *   subscribe ──options bad──▶ error (SisConfigError)
 *       │
 *       ▼
 *   receiving ── chunk ──▶ decode (PCM, G.711 here; mp3 in blocks by decodeAudioData)
 *       │                    └─▶ schedule a source at the end of the previous one ─▶ 'scheduled'
 *       │                                      └─ source ended ─▶ 'played'
 *       │ input completes
 *       ▼
 *   draining ── last decode scheduled and last source ended ──▶ complete
 *
 *   input error, decode error, context closed, unsubscribe ──▶ teardown: every source stopped and
 *   disconnected at once, decodes in flight ignored.
 *
 * Gapless: a block starts where the previous one ends while that is still ahead of the context's
 * clock; when audio came too late for that (an underrun), it starts `startLead` seconds from now and
 * the `scheduled` event reports the silence as `gap`.
 */
import { Observable, type OperatorFunction, type Subscriber } from 'rxjs';
import { check, isObject, objectProblems, optional, unknownKeyProblems } from '../checks.js';
import { SisConfigError, SisPlaybackError, type Problem } from '../errors.js';
import { bytesOf, type AudioData } from '../audio/audio-data.js';
import { decodeLinear, type LinearAudioFormat } from '../audio/decode.js';
import { audioFormatProblems, type AudioFormatOptions } from '../audio/wav-header.js';
import { REQUEST_DEFAULTS } from '../protocol/request.js';
import type { AudioFormat } from '../protocol/wire.js';
import { Mp3Blocks, type Mp3Block } from './mp3-blocks.js';
import type { AudioBufferLike, AudioBufferSourceNodeLike, AudioContextLike, AudioNodeLike } from './web-audio.js';

/**
 * How to play: the context, and the stream's format as in the request (a request can be spread in:
 * `{ context, ...request }`).
 */
export interface PlayAudioOptions extends AudioFormatOptions {
  /**
   * An `AudioContext` (resumed by the page, in a click handler) or an `OfflineAudioContext`. An offline
   * context renders what is scheduled when rendering starts: call `startRendering()` once every
   * `scheduled` event has come (mp3 blocks are decoded asynchronously); audio past its length never
   * ends, and playback errors when rendering closes the context.
   */
  readonly context: AudioContextLike;
  /** Where to connect the sources; default `context.destination`. */
  readonly destination?: AudioNodeLike | undefined;
  /**
   * Seconds between the first chunk's arrival and its first sample, and after an underrun: time for
   * the audio thread to pick the source up. Default 0.05.
   */
  readonly startLead?: number | undefined;
}

/** What every progress event tells, in seconds. */
export interface PlaybackTimes {
  /** Audio played to its end so far. */
  readonly played: number;
  /** Audio received, decoded and scheduled so far (the silence of gaps not counted). */
  readonly scheduled: number;
  /** Context time (`context.currentTime`'s clock) of the first sample. */
  readonly startTime: number;
  /** Context time at which the last sample scheduled so far ends: playback is over then, unless more comes. */
  readonly endTime: number;
}

/** A block of audio was scheduled: emitted as each chunk (mp3: each block) is decoded. */
export interface PlaybackScheduled extends PlaybackTimes {
  readonly type: 'scheduled';
  /** Seconds of silence before this block because it came after the previous one had ended (0: gapless). */
  readonly gap: number;
}

/** A block finished playing: `played` went up. The last one is followed by completion. */
export interface PlaybackPlayed extends PlaybackTimes {
  readonly type: 'played';
}

/**
 * Progress of {@link playAudio}: `scheduled` as audio arrives, `played` as it is heard. For a
 * smoothly moving position, read `context.currentTime` against `startTime` and `endTime`.
 */
export type PlaybackProgress = PlaybackScheduled | PlaybackPlayed;

const DEFAULT_START_LEAD = 0.05;
const OPTION_KEYS = ['context', 'destination', 'startLead', 'audioFormat', 'sampleRate'];
// The other fields of a request, so that one can be spread into the options as it is.
const REQUEST_KEYS = ['text', 'voice', 'speed', 'pitch', 'volume', 'subtitle'];
const CONTEXT_METHODS = ['createBuffer', 'createBufferSource', 'decodeAudioData'] as const;

const contextProblems = (context: unknown): Problem[] => {
  const shape = 'an AudioContext or OfflineAudioContext (currentTime, destination, createBuffer, createBufferSource, decodeAudioData)';
  if (!isObject(context)) return objectProblems('context', context, shape);
  const fields = context as Partial<Record<string, unknown>>;
  const ok =
    typeof fields['currentTime'] === 'number' && isObject(fields['destination']) && CONTEXT_METHODS.every((name) => typeof fields[name] === 'function');
  if (!ok) return [{ path: 'context', message: `must be ${shape}` }];
  return fields['state'] === 'closed' ? [{ path: 'context', message: 'is closed: create a new AudioContext to play' }] : [];
};

const isNode = (value: unknown): boolean => isObject(value) && typeof (value as { connect?: unknown }).connect === 'function';

/** Every problem with the options, each with what to do. */
const playProblems = (options: unknown): Problem[] => {
  const notAnObject = objectProblems('options', options, '{ context, audioFormat, sampleRate }');
  if (notAnObject.length > 0) return notAnObject;
  const given = options as Partial<PlayAudioOptions>;
  return [
    ...unknownKeyProblems(options, [...OPTION_KEYS, ...REQUEST_KEYS]).map((problem) =>
      problem.path === 'format' ? { path: 'format', message: "unknown field (did you mean 'audioFormat'?)" } : problem,
    ),
    ...contextProblems(given.context),
    ...audioFormatProblems(given),
    ...optional(check('an AudioNode (the context destination, a GainNode …)', isNode))('destination', given.destination),
    ...optional(check('a number of seconds ≥ 0', (value) => typeof value === 'number' && Number.isFinite(value) && value >= 0))('startLead', given.startLead),
  ];
};

interface Resolved {
  readonly context: AudioContextLike;
  readonly destination: AudioNodeLike;
  readonly audioFormat: AudioFormat;
  readonly sampleRate: number;
  readonly startLead: number;
}

const resolvePlayOptions = (options: PlayAudioOptions): Resolved => {
  const problems = playProblems(options);
  if (problems.length > 0) throw new SisConfigError(problems, 'playAudio options');
  return {
    context: options.context,
    destination: options.destination ?? options.context.destination,
    audioFormat: options.audioFormat ?? REQUEST_DEFAULTS.audioFormat,
    sampleRate: options.sampleRate ?? REQUEST_DEFAULTS.sampleRate,
    startLead: options.startLead ?? DEFAULT_START_LEAD,
  };
};

/** What a DOMException (or anything thrown) says, without its stack: names and messages are not secret. */
const whatFailed = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : 'a value that is not an Error');

type Decoded = { readonly buffer: AudioBufferLike } | { readonly failure: unknown };

/** One subscription's playback: the sources it scheduled, the clock position, the mp3 decodes in flight. */
class Playback {
  /** Sources scheduled and not ended yet: what teardown stops. */
  private readonly sources = new Set<AudioBufferSourceNodeLike>();
  /** How the input is decoded: here, by format, or in mp3 blocks by the context. */
  private readonly decoder: LinearAudioFormat | Mp3Blocks;
  /** Context time at which the last scheduled block ends. */
  private endTime: number | undefined;
  private startTime = 0;
  private scheduled = 0;
  private played = 0;
  private carry: number | undefined;
  /** mp3 blocks are decoded in parallel but scheduled in stream order, along this chain. */
  private decodes: Promise<void> = Promise.resolve();
  private decoding = 0;
  private inputDone = false;
  private closed = false;
  private readonly onStateChange = (): void => {
    if (this.options.context.state === 'closed')
      this.fail(
        new SisPlaybackError('the audio context was closed during playback; close it after playAudio completes, or unsubscribe first', { stage: 'context' }),
      );
  };

  constructor(
    private readonly options: Resolved,
    private readonly subscriber: Subscriber<PlaybackProgress>,
  ) {
    this.decoder = options.audioFormat === 'mp3' ? new Mp3Blocks() : options.audioFormat;
    options.context.addEventListener?.('statechange', this.onStateChange);
  }

  receive(bytes: Uint8Array): void {
    if (this.decoder instanceof Mp3Blocks) {
      const block = this.decoder.push(bytes);
      if (block !== undefined) this.decode(block);
      return;
    }
    const { samples, carry } = decodeLinear(this.decoder, bytes, this.carry);
    this.carry = carry;
    if (samples.length === 0) return;
    this.attempt('audio', () => {
      const buffer = this.options.context.createBuffer(1, samples.length, this.options.sampleRate);
      buffer.getChannelData(0).set(samples);
      this.schedule(buffer, 0, buffer.duration);
    });
  }

  /** The input is complete: decode what is left of an mp3, then finish when the last source ends. (A PCM byte without its pair is dropped.) */
  inputComplete(): void {
    this.inputDone = true;
    const block = this.decoder instanceof Mp3Blocks ? this.decoder.flush() : undefined;
    if (block !== undefined) this.decode(block);
    this.finishIfDone();
  }

  /** Ends the output with `error`; teardown follows. */
  fail(error: unknown): void {
    if (!this.closed) this.subscriber.error(error);
  }

  /** The single place resources are released: every source stopped and disconnected, at once. */
  teardown(): void {
    this.closed = true;
    this.options.context.removeEventListener?.('statechange', this.onStateChange);
    for (const source of this.sources) {
      source.onended = null;
      try {
        source.stop();
      } catch {
        // An engine may refuse to stop a source that has just ended by itself: it is silent either way.
      }
      source.disconnect();
    }
    this.sources.clear();
  }

  private decode(block: Mp3Block): void {
    this.decoding += 1;
    // Started now, so blocks decode in parallel; settled into a value at once, so a rejection is
    // never left unhandled while an earlier block is still decoding.
    const decoded: Promise<Decoded> = (async () => this.options.context.decodeAudioData(block.bytes.buffer))().then(
      (buffer) => ({ buffer }),
      (failure: unknown) => ({ failure }),
    );
    this.decodes = this.decodes.then(async () => {
      const result = await decoded;
      this.decoding -= 1;
      if (this.closed) return;
      if ('failure' in result) {
        const where = `mp3 block ${block.index}, from byte ${block.streamOffset} of the stream`;
        return this.fail(
          new SisPlaybackError(`this browser could not decode ${where} (${whatFailed(result.failure)}); request audioFormat 'pcm' to play without a decoder`, {
            stage: 'decode',
            cause: result.failure,
          }),
        );
      }
      this.attempt('audio', () => this.schedule(result.buffer, block.offset, Math.min(block.seconds, result.buffer.duration - block.offset)));
      this.finishIfDone();
    });
  }

  /** Runs a Web Audio call; an exception (a closed context, an unsupported rate) ends playback with what to do. */
  private attempt(path: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.fail(
        new SisPlaybackError(`${path} could not be scheduled (${whatFailed(error)}); check that the context is open and sampleRate is right`, {
          stage: 'schedule',
          cause: error,
        }),
      );
    }
  }

  private schedule(buffer: AudioBufferLike, offset: number, seconds: number): void {
    if (seconds <= 0) return;
    const { context, destination, startLead } = this.options;
    const now = context.currentTime;
    const previousEnd = this.endTime;
    const continues = previousEnd !== undefined && previousEnd >= now;
    const when = continues ? previousEnd : now + startLead;
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(destination);
    source.onended = () => this.ended(source, seconds);
    source.start(when, offset, seconds);
    this.sources.add(source);
    if (previousEnd === undefined) this.startTime = when;
    this.endTime = when + seconds;
    this.scheduled += seconds;
    const gap = previousEnd === undefined || continues ? 0 : when - previousEnd;
    this.subscriber.next({ type: 'scheduled', gap, ...this.times(this.endTime) });
  }

  private ended(source: AudioBufferSourceNodeLike, seconds: number): void {
    if (!this.sources.delete(source)) return;
    source.onended = null;
    source.disconnect();
    this.played += seconds;
    this.subscriber.next({ type: 'played', ...this.times(this.endTime ?? 0) });
    this.finishIfDone();
  }

  private times(endTime: number): PlaybackTimes {
    return { played: this.played, scheduled: this.scheduled, startTime: this.startTime, endTime };
  }

  private finishIfDone(): void {
    if (this.inputDone && this.decoding === 0 && this.sources.size === 0 && !this.closed) this.subscriber.complete();
  }
}

/**
 * Plays a synthesis through the Web Audio API as its chunks arrive, back to back without gaps:
 * PCM and G.711 decoded here, mp3 by the browser's `decodeAudioData` in blocks of about half a
 * second. Emits progress (`scheduled` as audio arrives, `played` as it is heard) and completes once
 * the last sample has played, not when the last chunk arrived. Unsubscribing stops playback at once.
 *
 * It never calls `context.resume()`: resume an `AudioContext` in a click handler first (browsers
 * start it suspended without a user gesture); an `OfflineAudioContext` is rendered by the caller.
 * @throws {SisConfigError} (as the error notification, at subscription) for bad options;
 * {@link SisPlaybackError} later, for audio the browser cannot decode or schedule, or a context
 * closed during playback. Errors of the
 * input pass through as they are, and stop playback too.
 * @example
 * const context = new AudioContext();
 * button.onclick = async () => {
 *   await context.resume();
 *   client.synthesize$(request).pipe(playAudio({ context, ...request })).subscribe((progress) => {
 *     label.textContent = `${progress.played.toFixed(1)} s`;
 *   });
 * };
 */
export const playAudio =
  (options: PlayAudioOptions): OperatorFunction<AudioData, PlaybackProgress> =>
  (source) =>
    new Observable<PlaybackProgress>((subscriber) => {
      const playback = new Playback(resolvePlayOptions(options), subscriber);
      const subscription = source.subscribe({
        next: (audio) => playback.receive(bytesOf(audio)),
        error: (error: unknown) => playback.fail(error),
        complete: () => playback.inputComplete(),
      });
      return () => {
        subscription.unsubscribe();
        playback.teardown();
      };
    });
