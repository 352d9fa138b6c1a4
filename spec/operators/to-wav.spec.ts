import { expect } from 'chai';
import { lastValueFrom, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { SisConfigError, collectAudio, toWav, wavHeader } from '../../lib/index.js';
import { createTestScheduler } from '../helpers/marbles.js';
import { audioChunk } from '../helpers/chunks.js';
import { parseWav } from '../helpers/wav-reader.js';

describe('toWav', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  it('emits the streaming header at subscription, then the bytes of each chunk unchanged', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const audio$ = cold('--a--b--|', { a: audioChunk([1, 2]), b: audioChunk([3, 4], { index: 1 }) });
      expectObservable(audio$.pipe(toWav({ audioFormat: 'pcm', sampleRate: 16000 }))).toBe('h-a--b--|', {
        h: wavHeader({ audioFormat: 'pcm', sampleRate: 16000 }),
        a: Uint8Array.from([1, 2]),
        b: Uint8Array.from([3, 4]),
      });
      expectSubscriptions(audio$.subscriptions).toBe('^-------!');
    });
  });

  it('passes mp3 through with no header', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const audio$ = cold('-a-|', { a: audioChunk([0xff, 0xfb]) });
      expectObservable(audio$.pipe(toWav({ audioFormat: 'mp3' }))).toBe('-a-|', { a: Uint8Array.from([0xff, 0xfb]) });
    });
  });

  it('passes an error through after the header, and unsubscribes upstream when unsubscribed', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing$ = cold('-a-#', { a: audioChunk([1]) }, new Error('lost'));
      expectObservable(failing$.pipe(toWav({ audioFormat: 'alaw' }))).toBe(
        'ha-#',
        { h: wavHeader({ audioFormat: 'alaw' }), a: Uint8Array.from([1]) },
        new Error('lost'),
      );
      const endless$ = cold('-a-a-a-a-', { a: audioChunk([1]) });
      expectObservable(endless$.pipe(toWav()), '^--!').toBe('ha-', { h: wavHeader(), a: Uint8Array.from([1]) });
      expectSubscriptions(endless$.subscriptions).toBe('^--!');
    });
  });

  it('does not copy the chunk bytes', () => {
    const data = Uint8Array.from([1, 2, 3, 4]);
    const out: Uint8Array[] = [];
    of(audioChunk(data))
      .pipe(toWav())
      .subscribe((bytes) => out.push(bytes));
    expect(out[1]).to.equal(data);
  });

  it('gives a file an independent reader parses back (rate, channels, bits, data)', async () => {
    for (const [audioFormat, bits] of [
      ['pcm', 16],
      ['alaw', 8],
      ['ulaw', 8],
    ] as const) {
      const file = await lastValueFrom(
        of(audioChunk([1, 2, 3]), audioChunk([4, 5, 6], { index: 1 })).pipe(toWav({ audioFormat, sampleRate: 16000 }), collectAudio()),
      );
      const parsed = parseWav(file);
      expect(parsed.fmt).to.include({ sampleRate: 16000, numChannels: 1, bitsPerSample: bits });
      expect(Array.from(parsed.data.samples)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    }
  });

  it('errors with a SisConfigError for a bad format, before subscribing upstream', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const audio$ = cold('-a-|', { a: audioChunk([1]) });
      const error = new SisConfigError([{ path: 'sampleRate', message: 'must be a positive integer (Hz), got -1' }], 'audio format');
      expectObservable(audio$.pipe(toWav({ sampleRate: -1 }))).toBe('#', undefined, error);
      expectSubscriptions(audio$.subscriptions).toBe([]);
    });
  });
});
