import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { catchError, filter, firstValueFrom, map, of, ReplaySubject, scan, Subject, type Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  MP3_BLOCK_SECONDS,
  playAudio,
  type AudioBufferLike,
  type AudioBufferSourceNodeLike,
  type AudioContextLike,
  type AudioNodeLike,
  type PlayAudioOptions,
  type PlaybackProgress,
} from '../../lib/browser/index.js';
import { completeMp3Frames, mp3FrameAt } from '../../lib/browser/mp3-frames.js';
import { Mp3Blocks } from '../../lib/browser/mp3-blocks.js';
import { silentMp3 } from '../../lib/emulator/audio/mp3.js';
import { SisConfigError, SisPlaybackError } from '../../lib/errors.js';
import { audioChunk } from '../helpers/chunks.js';
import { createTestScheduler } from '../helpers/marbles.js';

// ---- a fake Web Audio context on the TestScheduler's clock (1 frame = 1 ms) ----------------------

/** What a source was asked to do, in seconds of the context's clock. */
interface Started {
  readonly when: number;
  readonly offset: number;
  readonly duration: number | undefined;
}

class FakeNode implements AudioNodeLike {
  readonly connectedTo: AudioNodeLike[] = [];
  disconnected = false;
  connect(destination: AudioNodeLike): AudioNodeLike {
    this.connectedTo.push(destination);
    return destination;
  }
  disconnect(): void {
    this.disconnected = true;
  }
}

class FakeBuffer implements AudioBufferLike {
  readonly data: Float32Array;
  constructor(
    readonly length: number,
    readonly sampleRate: number,
  ) {
    this.data = new Float32Array(length);
  }
  get duration(): number {
    return this.length / this.sampleRate;
  }
  getChannelData(channel: number): Float32Array {
    if (channel !== 0) throw new RangeError('IndexSizeError: mono buffer');
    return this.data;
  }
}

class FakeSource extends FakeNode implements AudioBufferSourceNodeLike {
  buffer: AudioBufferLike | null = null;
  onended: ((event: never) => unknown) | null = null;
  started: Started | undefined;
  /** Context time at which `stop()` was called. */
  stoppedAt: number | undefined;
  private ending: Subscription | undefined;

  constructor(private readonly context: FakeAudioContext) {
    super();
  }

  /** Context time at which the source falls silent by itself. */
  get endTime(): number {
    const { when, offset, duration } = this.started ?? { when: 0, offset: 0, duration: 0 };
    return when + (duration ?? (this.buffer?.duration ?? 0) - offset);
  }

  start(when = 0, offset = 0, duration?: number): void {
    if (this.started !== undefined) throw new Error('InvalidStateError: start() called twice');
    if (this.buffer === null) throw new Error('the spec set no buffer');
    this.started = { when, offset, duration };
    this.ending = this.context.at(this.endTime, () => this.onended?.(undefined as never));
  }

  stop(): void {
    this.stoppedAt = this.context.currentTime;
    this.ending?.unsubscribe();
    // As in a browser, `ended` follows a stop, later.
    this.context.at(this.context.currentTime, () => this.onended?.(undefined as never));
  }
}

class FakeAudioContext implements AudioContextLike {
  readonly destination = new FakeNode();
  readonly sources: FakeSource[] = [];
  readonly decoded: Uint8Array[] = [];
  state = 'running';
  resumed = 0;
  failCreateBuffer = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly scheduler: TestScheduler,
    readonly sampleRate = 48000,
  ) {}

  get currentTime(): number {
    return this.scheduler.now() / 1000;
  }

  /** Runs `work` at context time `seconds`, on the scheduler. */
  at(seconds: number, work: () => void): Subscription {
    return this.scheduler.schedule(work, Math.max(0, Math.round(seconds * 1000) - this.scheduler.now()));
  }

  createBuffer(channels: number, length: number, sampleRate: number): FakeBuffer {
    if (this.failCreateBuffer) throw Object.assign(new Error('The sample rate provided is outside the range'), { name: 'NotSupportedError' });
    if (channels !== 1 || length < 1) throw new Error('NotSupportedError: bad buffer');
    return new FakeBuffer(length, sampleRate);
  }

  createBufferSource(): FakeSource {
    const source = new FakeSource(this);
    this.sources.push(source);
    return source;
  }

  /** Like Chromium: every frame decodes to its samples at the context's rate; fewer than 2 frames are refused. */
  async decodeAudioData(data: ArrayBuffer): Promise<AudioBufferLike> {
    const bytes = new Uint8Array(data);
    this.decoded.push(bytes.slice());
    const frames = completeMp3Frames(bytes);
    if (frames.length < 2) throw Object.assign(new Error('Unable to decode audio data'), { name: 'EncodingError' });
    const seconds = frames.reduce((sum, frame) => sum + frame.samples / frame.sampleRate, 0);
    return new FakeBuffer(Math.round(seconds * this.sampleRate), this.sampleRate);
  }

  /** An OfflineAudioContext rejects it before rendering: playback must never call it. */
  async resume(): Promise<void> {
    this.resumed += 1;
    throw new Error('InvalidStateError: cannot resume an OfflineAudioContext that has not started rendering');
  }

  addEventListener(_type: 'statechange', listener: () => void): void {
    this.listeners.add(listener);
  }
  removeEventListener(_type: 'statechange', listener: () => void): void {
    this.listeners.delete(listener);
  }
  get listening(): number {
    return this.listeners.size;
  }

  close(): void {
    this.state = 'closed';
    for (const listener of this.listeners) listener();
  }
}

// ---- helpers ---------------------------------------------------------------------------------------

/** `ms` milliseconds of 16-bit PCM at 8000 Hz (16 bytes a millisecond). */
const pcm = (ms: number): Uint8Array => Uint8Array.from({ length: ms * 16 }, (_, i) => i % 251);

/** Progress with every time in whole milliseconds, so marbles read as the timeline. */
const inMs = (progress: PlaybackProgress): Record<string, unknown> =>
  Object.fromEntries(Object.entries(progress).map(([key, value]) => [key, typeof value === 'number' ? Math.round(value * 1e6) / 1e3 : value]));

const scheduled = (scheduledMs: number, startTime: number, endTime: number, playedMs = 0, gap = 0) => ({
  type: 'scheduled',
  gap,
  played: playedMs,
  scheduled: scheduledMs,
  startTime,
  endTime,
});
const played = (playedMs: number, scheduledMs: number, startTime: number, endTime: number) => ({
  type: 'played',
  played: playedMs,
  scheduled: scheduledMs,
  startTime,
  endTime,
});

const expectGapless = (sources: readonly FakeSource[]): void => {
  sources.slice(1).forEach((source, i) => {
    const previous = sources[i];
    expect(source.started?.when, `source ${i + 1} starts where source ${i} ends`).to.equal(previous?.endTime);
  });
};

describe('playAudio', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  it('schedules each chunk where the previous one ends, and completes only when the last has played', () => {
    const context = new FakeAudioContext(scheduler);
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const audio$ = cold('a-b--c|', { a: audioChunk(pcm(4)), b: audioChunk(pcm(4), { index: 1 }), c: audioChunk(pcm(2), { index: 2 }) });
      const progress$ = audio$.pipe(playAudio({ context, audioFormat: 'pcm', sampleRate: 8000, startLead: 0.002 }), map(inMs));
      expectObservable(progress$).toBe('x-y--zp---q-(r|)', {
        x: scheduled(4, 2, 6),
        y: scheduled(8, 2, 10),
        z: scheduled(10, 2, 12),
        p: played(4, 10, 2, 12),
        q: played(8, 10, 2, 12),
        r: played(10, 10, 2, 12),
      });
      expectSubscriptions(audio$.subscriptions).toBe('^-----!');
    });
    expect(context.sources.map((source) => source.started?.when)).to.deep.equal([0.002, 0.002 + 0.004, 0.002 + 0.004 + 0.004]);
    expectGapless(context.sources);
    for (const source of context.sources) {
      expect(source.connectedTo).to.deep.equal([context.destination]);
      expect(source.disconnected, 'disconnected once ended').to.equal(true);
      expect(source.stoppedAt).to.equal(undefined);
    }
    expect(context.listening, 'statechange listener removed').to.equal(0);
    expect(context.resumed).to.equal(0);
  });

  it('fills each buffer with the decoded samples at the stream rate', () => {
    const context = new FakeAudioContext(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      const audio$ = cold('a|', { a: Uint8Array.from([0x00, 0x40, 0x00, 0xc0]) });
      expectObservable(
        audio$.pipe(
          playAudio({ context, sampleRate: 2000, startLead: 0 }),
          map(({ type }) => type),
        ),
      ).toBe('s(p|)', { s: 'scheduled', p: 'played' });
    });
    const buffer = context.sources[0]?.buffer;
    expect(buffer).to.be.instanceOf(FakeBuffer);
    expect(buffer?.sampleRate).to.equal(2000);
    expect(Array.from(buffer?.getChannelData(0) ?? [])).to.deep.equal([0.5, -0.5]);
  });

  it('decodes A-law and µ-law', () => {
    const context = new FakeAudioContext(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(
        cold('a|', { a: audioChunk([0xd5]) }).pipe(
          playAudio({ context, audioFormat: 'alaw', sampleRate: 1000, startLead: 0 }),
          map(({ type }) => type),
        ),
      ).toBe('s(p|)', { s: 'scheduled', p: 'played' });
      expectObservable(
        cold('a|', { a: audioChunk([0x80]) }).pipe(
          playAudio({ context, audioFormat: 'ulaw', sampleRate: 1000, startLead: 0 }),
          map(({ type }) => type),
        ),
      ).toBe('s(p|)', { s: 'scheduled', p: 'played' });
    });
    expect(Array.from(context.sources[0]?.buffer?.getChannelData(0) ?? [])).to.deep.equal([8 / 32768]);
    expect(Array.from(context.sources[1]?.buffer?.getChannelData(0) ?? [])).to.deep.equal([32124 / 32768]);
  });

  it('carries the odd byte of a chunk over to the next, and drops a last byte without its pair', () => {
    const context = new FakeAudioContext(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      const audio$ = cold('a-b-c|', { a: Uint8Array.from([0x00, 0x40, 0x00]), b: Uint8Array.from([0xc0]), c: Uint8Array.from([0x01]) });
      expectObservable(audio$.pipe(playAudio({ context, sampleRate: 1000, startLead: 0 }), map(inMs))).toBe('xpyq-|', {
        x: scheduled(1, 0, 1),
        p: played(1, 1, 0, 1),
        y: scheduled(2, 0, 3, 1, 1),
        q: played(2, 2, 0, 3),
      });
    });
    expect(context.sources.map((source) => Array.from(source.buffer?.getChannelData(0) ?? []))).to.deep.equal([[0.5], [-0.5]]);
  });

  it('starts late audio startLead from now and reports the silence before it as a gap', () => {
    const context = new FakeAudioContext(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      const audio$ = cold('a------b|', { a: pcm(2), b: pcm(2) });
      expectObservable(audio$.pipe(playAudio({ context, sampleRate: 8000, startLead: 0.002 }), map(inMs))).toBe('x---p--y---(q|)', {
        x: scheduled(2, 2, 4),
        p: played(2, 2, 2, 4),
        y: scheduled(4, 2, 11, 2, 5),
        q: played(4, 4, 2, 11),
      });
    });
    expect(context.sources.map((source) => source.started?.when)).to.deep.equal([0.002, 0.007 + 0.002]);
  });

  it('waits startLead (default 0.05 s) before the first sample', () => {
    const context = new FakeAudioContext(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: pcm(1) }).pipe(playAudio({ context }), map(inMs))).toBe('x 50ms (p|)', {
        x: scheduled(1, 50, 51),
        p: played(1, 1, 50, 51),
      });
    });
  });

  it('completes at once, having played nothing, when no audio came', () => {
    const context = new FakeAudioContext(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold<Uint8Array>('--|').pipe(playAudio({ context }))).toBe('--|');
    });
    expect(context.sources).to.deep.equal([]);
  });

  it('connects the sources to the destination given', () => {
    const context = new FakeAudioContext(scheduler);
    const gain = new FakeNode();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(
        cold('a|', { a: pcm(1) }).pipe(
          playAudio({ context, destination: gain, startLead: 0 }),
          map(({ type }) => type),
        ),
      ).toBe('s(p|)', {
        s: 'scheduled',
        p: 'played',
      });
    });
    expect(context.sources[0]?.connectedTo).to.deep.equal([gain]);
  });

  it('stops and disconnects every source at once when unsubscribed, playing or still to come', () => {
    const context = new FakeAudioContext(scheduler);
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const audio$ = cold('a-b-----', { a: pcm(4), b: pcm(4) });
      expectObservable(audio$.pipe(playAudio({ context, sampleRate: 8000, startLead: 0.002 }), map(inMs)), '^---!').toBe('x-y-', {
        x: scheduled(4, 2, 6),
        y: scheduled(8, 2, 10),
      });
      expectSubscriptions(audio$.subscriptions).toBe('^---!');
    });
    expect(context.sources.map((source) => source.stoppedAt)).to.deep.equal([0.004, 0.004]);
    for (const source of context.sources) {
      expect(source.disconnected).to.equal(true);
      expect(source.onended).to.equal(null);
    }
    expect(context.listening).to.equal(0);
  });

  it('passes an error of the input through and stops playback with it', () => {
    const context = new FakeAudioContext(scheduler);
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const audio$ = cold('a--#', { a: pcm(10) }, new Error('connection lost'));
      expectObservable(audio$.pipe(playAudio({ context, sampleRate: 8000, startLead: 0 }), map(inMs))).toBe(
        'x--#',
        { x: scheduled(10, 0, 10) },
        new Error('connection lost'),
      );
      expectSubscriptions(audio$.subscriptions).toBe('^--!');
    });
    expect(context.sources.map((source) => source.stoppedAt)).to.deep.equal([0.003]);
    expect(context.sources[0]?.disconnected).to.equal(true);
  });

  it('errors with a SisConfigError listing every bad option, at subscription, before subscribing to the input', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const audio$ = cold('a|', { a: pcm(1) });
      const bad = { context: {}, format: 'mp3', sampleRate: 0, startLead: -1, destination: 'speakers' } as unknown as PlayAudioOptions;
      const shape = 'an AudioContext or OfflineAudioContext (currentTime, destination, createBuffer, createBufferSource, decodeAudioData)';
      expectObservable(audio$.pipe(playAudio(bad))).toBe(
        '#',
        undefined,
        new SisConfigError(
          [
            { path: 'format', message: "unknown field (did you mean 'audioFormat'?)" },
            { path: 'context', message: `must be ${shape}` },
            { path: 'sampleRate', message: 'must be a positive integer (Hz), got 0' },
            { path: 'destination', message: 'must be an AudioNode (the context destination, a GainNode …), got "speakers"' },
            { path: 'startLead', message: 'must be a number of seconds ≥ 0, got -1' },
          ],
          'playAudio options',
        ),
      );
      expectObservable(audio$.pipe(playAudio(undefined as unknown as PlayAudioOptions))).toBe(
        '#',
        undefined,
        new SisConfigError([{ path: 'options', message: 'must be an object like { context, audioFormat, sampleRate }, got nothing' }], 'playAudio options'),
      );
      expectSubscriptions(audio$.subscriptions).toBe([]);
    });
  });

  it('accepts a synthesis request spread into the options', () => {
    const context = new FakeAudioContext(scheduler);
    const request = { text: 'hi', audioFormat: 'pcm', sampleRate: 16000, voice: 'chinese_xiaoyan_common', speed: 0, pitch: 0, volume: 50 } as const;
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(
        cold('a|', { a: pcm(2) }).pipe(
          playAudio({ context, ...request }),
          map(({ type }) => type),
        ),
      ).toBe('s 50ms (p|)', {
        s: 'scheduled',
        p: 'played',
      });
    });
  });

  it('refuses a closed context at subscription, and errors when the context is closed during playback', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const closed = new FakeAudioContext(scheduler);
      closed.state = 'closed';
      expectObservable(cold('a|', { a: pcm(1) }).pipe(playAudio({ context: closed }))).toBe(
        '#',
        undefined,
        new SisConfigError([{ path: 'context', message: 'is closed: create a new AudioContext to play' }], 'playAudio options'),
      );
    });
    const context = new FakeAudioContext(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      context.at(0.003, () => context.close());
      expectObservable(
        cold('a|', { a: pcm(10) }).pipe(
          playAudio({ context, startLead: 0 }),
          map(({ type }) => type),
        ),
      ).toBe(
        's--#',
        { s: 'scheduled' },
        new SisPlaybackError('the audio context was closed during playback; close it after playAudio completes, or unsubscribe first', { stage: 'context' }),
      );
    });
    expect(context.sources[0]?.stoppedAt).to.equal(0.003);
  });

  it('errors with what to do when the context cannot make a buffer, and stops what was scheduled', () => {
    const context = new FakeAudioContext(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      context.at(0.002, () => {
        context.failCreateBuffer = true;
      });
      expectObservable(
        cold('a--b|', { a: pcm(10), b: pcm(1) }).pipe(
          playAudio({ context, startLead: 0 }),
          map(({ type }) => type),
          catchError((error: unknown) =>
            of(error instanceof SisPlaybackError ? `${error.code} ${error.stage} ${error.message} (cause: ${String(error.cause)})` : 'another error'),
          ),
        ),
      ).toBe('s--(e|)', {
        s: 'scheduled',
        e:
          'PLAYBACK_FAILED schedule audio could not be scheduled (NotSupportedError: The sample rate provided is outside the range); ' +
          'check that the context is open and sampleRate is right (cause: NotSupportedError: The sample rate provided is outside the range)',
      });
    });
    expect(context.sources.map((source) => source.stoppedAt)).to.deep.equal([0.003]);
  });

  describe('mp3', () => {
    /**
     * Plays `chunks` of mp3 to the end. Decodes are promises, so this waits (on the progress events)
     * until every block started has been scheduled, or playback failed, then runs the clock.
     */
    const play = async (context: FakeAudioContext, chunks: readonly Uint8Array[]): Promise<{ progress: PlaybackProgress[]; error: unknown }> => {
      scheduler.maxFrames = Number.POSITIVE_INFINITY;
      const input = new Subject<Uint8Array>();
      const progress = new ReplaySubject<PlaybackProgress>();
      input.pipe(playAudio({ context, audioFormat: 'mp3', startLead: 0 })).subscribe(progress);
      for (const chunk of chunks) input.next(chunk);
      input.complete();
      const allScheduled$ = progress.pipe(
        filter((event) => event.type === 'scheduled'),
        scan((count) => count + 1, 0),
        filter((count) => count === context.decoded.length),
      );
      await firstValueFrom(allScheduled$, { defaultValue: 0 }).catch(() => 0);
      scheduler.flush();
      const events: PlaybackProgress[] = [];
      let error: unknown;
      progress.subscribe({ next: (event) => events.push(event), error: (failure: unknown) => (error = failure) });
      return { progress: events, error };
    };

    it('cuts the stream at frame boundaries into blocks, decoded with a primer that is skipped, played back to back', async () => {
      const context = new FakeAudioContext(scheduler);
      // 2 s of 16 kHz mp3 (frames of 36 bytes, 36 ms), in chunks that split frames.
      const stream = silentMp3(32000, 16000);
      const chunks = Array.from({ length: Math.ceil(stream.length / 50) }, (_, i) => stream.subarray(i * 50, i * 50 + 50));
      const { progress, error } = await play(context, chunks);
      expect(error).to.equal(undefined);
      const frames = completeMp3Frames(stream).length;
      const totalSeconds = (frames * 576) / 16000;
      const last = progress[progress.length - 1];
      expect(last?.type).to.equal('played');
      expect(last?.played).to.be.closeTo(totalSeconds, 1e-9);
      expect(context.sources.length).to.be.greaterThan(2);
      expectGapless(context.sources);
      // Every block is a whole number of frames; all but the last hold at least MP3_BLOCK_SECONDS.
      context.sources.forEach((source, i) => {
        const seconds = source.started?.duration ?? 0;
        expect(Math.round((seconds * 16000) / 576) * 576, `block ${i} is whole frames`).to.be.closeTo(seconds * 16000, 1e-6);
        if (i < context.sources.length - 1) expect(seconds).to.be.at.least(MP3_BLOCK_SECONDS);
      });
      // The first block has no primer; each later one skips the frames put in front of it.
      expect(context.sources[0]?.started?.offset).to.equal(0);
      for (const [i, source] of context.sources.entries()) {
        if (i === 0) continue;
        const primerFrames = completeMp3Frames(context.decoded[i] ?? new Uint8Array()).length - Math.round(((source.started?.duration ?? 0) * 16000) / 576);
        expect(primerFrames, `block ${i} primer`).to.be.at.least(2);
        expect(source.started?.offset).to.be.closeTo((primerFrames * 576) / 16000, 1e-9);
      }
    });

    it('plays a stream of a single frame (decoded with a copy after it, played for one frame)', async () => {
      const context = new FakeAudioContext(scheduler);
      const frame = silentMp3(576, 8000);
      const { progress, error } = await play(context, [frame]);
      expect(error).to.equal(undefined);
      expect(context.decoded[0]?.length).to.equal(frame.length * 2);
      expect(context.sources[0]?.started).to.deep.equal({ when: 0, offset: 0, duration: 576 / 8000 });
      expect(progress.map((event) => event.type)).to.deep.equal(['scheduled', 'played']);
    });

    it('errors with what to do when the browser cannot decode a block', async () => {
      const context = new FakeAudioContext(scheduler);
      context.decodeAudioData = async () => {
        throw Object.assign(new Error('Unable to decode audio data'), { name: 'EncodingError' });
      };
      const { error } = await play(context, [silentMp3(16000, 16000)]);
      expect(error).to.be.instanceOf(SisPlaybackError);
      expect(error).to.include({ code: 'PLAYBACK_FAILED', stage: 'decode', retryable: false });
      expect((error as SisPlaybackError).cause).to.have.property('name', 'EncodingError');
      expect((error as SisPlaybackError).message).to.equal(
        "this browser could not decode mp3 block 0, from byte 0 of the stream (EncodingError: Unable to decode audio data); request audioFormat 'pcm' to play without a decoder",
      );
    });
  });

  describe('mp3 frames', () => {
    it('reads the length, samples and rate of the frames SIS sends (MPEG-2 and 2.5 Layer III)', () => {
      for (const [rate, length] of [
        [8000, 72],
        [16000, 36],
        [24000, 24],
      ] as const) {
        expect(mp3FrameAt(silentMp3(576, rate), 0)).to.deep.equal({ offset: 0, length, samples: 576, sampleRate: rate });
      }
      // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, padded: 417 + 1 bytes.
      expect(mp3FrameAt(Uint8Array.from([0xff, 0xfb, 0x92, 0x64]), 0)).to.deep.equal({ offset: 0, length: 418, samples: 1152, sampleRate: 44100 });
    });

    it('finds no frame where there is no valid header', () => {
      for (const bytes of [
        [0xff, 0xf3],
        [0xfe, 0xf3, 0x18, 0xc4],
        [0xff, 0xeb, 0x18, 0xc4], // reserved version
        [0xff, 0xf1, 0x18, 0xc4], // reserved layer
        [0xff, 0xf3, 0x08, 0xc4], // free bitrate
        [0xff, 0xf3, 0xf8, 0xc4], // bad bitrate
        [0xff, 0xf3, 0x1c, 0xc4], // reserved rate
      ]) {
        expect(mp3FrameAt(Uint8Array.from(bytes), 0), JSON.stringify(bytes)).to.equal(undefined);
      }
    });

    it('walks complete frames, skipping bytes that are not one, and stops at a frame cut short', () => {
      const frames = silentMp3(576 * 3, 16000);
      const stream = Uint8Array.from([0x49, 0x44, 0x33, ...frames.subarray(0, 36), 0x00, ...frames.subarray(36, 100)]);
      expect(completeMp3Frames(stream).map((frame) => frame.offset)).to.deep.equal([3, 40]);
    });

    it('cuts blocks that together hold every frame exactly once', () => {
      const stream = silentMp3(16000 * 3, 16000);
      const blocks = new Mp3Blocks();
      const cut = [];
      for (let at = 0; at < stream.length; at += 7) cut.push(blocks.push(stream.subarray(at, at + 7)));
      cut.push(blocks.flush());
      const made = cut.filter((block) => block !== undefined);
      const seconds = made.reduce((sum, block) => sum + block.seconds, 0);
      expect(seconds).to.be.closeTo((completeMp3Frames(stream).length * 576) / 16000, 1e-9);
      expect(made.map((block) => block.index)).to.deep.equal(made.map((_, i) => i));
      expect(made[made.length - 1]?.streamOffset).to.be.lessThan(stream.length);
    });
  });

  it('types a real AudioContext, OfflineAudioContext and GainNode as what playAudio takes (checked against the DOM library)', async function () {
    this.timeout(30_000);
    const dir = await mkdtemp(join(tmpdir(), 'play-audio-dom-'));
    try {
      const types = resolve('lib/browser/web-audio.ts').replaceAll('\\', '/').replace(/\.ts$/, '.js');
      await writeFile(
        join(dir, 'check.ts'),
        [
          `import type { AudioContextLike, AudioNodeLike } from '${types}';`,
          'declare const online: AudioContext;',
          'declare const offline: OfflineAudioContext;',
          'declare const gain: GainNode;',
          'export const contexts: AudioContextLike[] = [online, offline];',
          'export const node: AudioNodeLike = gain;',
        ].join('\n'),
      );
      const options = { target: 'es2022', lib: ['es2023', 'dom'], module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: [] };
      await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...options, exactOptionalPropertyTypes: true }, files: ['check.ts'] }));
      await promisify(execFile)(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')]).catch(
        (error: { stdout?: string }) => {
          throw new Error(`the DOM types do not fit:\n${error.stdout ?? String(error)}`);
        },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
