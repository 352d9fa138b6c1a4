import { expect } from 'chai';
import fc from 'fast-check';
import { from, lastValueFrom } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { collectAudio, collectWav, wavHeader, type AudioChunk } from '../../lib/index.js';
import { createTestScheduler } from '../helpers/marbles.js';
import { audioChunk } from '../helpers/chunks.js';
import { parseWav } from '../helpers/wav-reader.js';

describe('collectAudio', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  it('emits all the bytes as one Uint8Array when the source completes', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const audio$ = cold('-a-b-c-|', { a: audioChunk([1, 2]), b: audioChunk([], { index: 1 }), c: audioChunk([3], { index: 2 }) });
      expectObservable(audio$.pipe(collectAudio())).toBe('-------(x|)', { x: Uint8Array.from([1, 2, 3]) });
      expectSubscriptions(audio$.subscriptions).toBe('^------!');
    });
  });

  it('emits an empty array for a source without audio, and passes an error on', () => {
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold<AudioChunk>('--|').pipe(collectAudio())).toBe('--(x|)', { x: new Uint8Array(0) });
      expectObservable(cold('-a-#', { a: audioChunk([1]) }).pipe(collectAudio())).toBe('---#');
    });
  });

  it('is the concatenation of its input, for any chunks (plain bytes too)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 40 }), async (parts) => {
        const all = await lastValueFrom(from(parts).pipe(collectAudio()));
        expect(Array.from(all)).to.deep.equal(parts.flatMap((p) => Array.from(p)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('collectWav', () => {
  it('gives one complete WAV with exact sizes', async () => {
    const file = await lastValueFrom(from([audioChunk([1, 2]), audioChunk([3, 4], { index: 1 })]).pipe(collectWav({ audioFormat: 'pcm', sampleRate: 16000 })));
    const parsed = parseWav(file);
    expect(parsed.chunkSize).to.equal(file.byteLength - 8);
    expect(parsed.data.chunkSize).to.equal(4);
    expect(parsed.fmt).to.include({ sampleRate: 16000, bitsPerSample: 16 });
    expect(Array.from(file.subarray(0, 44).subarray(0, 4))).to.deep.equal(Array.from(wavHeader().subarray(0, 4)));
  });

  it('writes the fact and data sizes of G.711, and keeps mp3 as it is', async () => {
    const ulaw = parseWav(await lastValueFrom(from([audioChunk([1, 2, 3])]).pipe(collectWav({ audioFormat: 'ulaw' }))));
    expect(ulaw.fact.dwSampleLength).to.equal(3);
    expect(ulaw.data.chunkSize).to.equal(3);
    const mp3 = await lastValueFrom(from([audioChunk([0xff, 0xfb])]).pipe(collectWav({ audioFormat: 'mp3' })));
    expect(Array.from(mp3)).to.deep.equal([0xff, 0xfb]);
  });
});
