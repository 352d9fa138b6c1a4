import { expect } from 'chai';
import { defer } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  SisConfigError,
  SisPartError,
  SisRequestError,
  SisServiceError,
  SisConnectionError,
  createSisClient,
  synthesizeLong$,
  type AudioChunk,
  type LongAudioChunk,
  type LongSynthesisOptions,
} from '../../lib/index.js';
import { TRACE, binary, endFrame, errorFrame, fakeSockets, open, startFrame } from '../helpers/fake-socket.js';
import { createTestScheduler } from '../helpers/marbles.js';
import { audioChunk, type ChunkPlace } from '../helpers/chunks.js';
import { stubClient } from '../helpers/stub-client.js';

const long = (part: number, parts: number, bytes: readonly number[], place: ChunkPlace): LongAudioChunk => ({
  ...audioChunk(bytes, place),
  part,
  parts,
});

// Three sentences of 3 characters each; with maxPartLength 3 they are three parts.
const TEXT = '一二。三四。五六。';

describe('synthesizeLong$', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  it('runs two sessions at once and emits their audio strictly in text order, renumbered across parts', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const p0 = cold('-a--b|', { a: audioChunk([1, 2], { traceId: 't0' }), b: audioChunk([3], { index: 1, offset: 2, traceId: 't0' }) });
      const p1 = cold('-c|', { c: audioChunk([4, 5], { traceId: 't1' }) });
      const p2 = cold('-d|', { d: audioChunk([6], { traceId: 't2' }) });
      const client = stubClient({ '一二。': p0, '三四。': p1, '五六。': p2 });
      expectObservable(synthesizeLong$({ text: TEXT }, { client, maxPartLength: 3 })).toBe('-a--bcd|', {
        a: long(0, 3, [1, 2], { traceId: 't0' }),
        b: long(0, 3, [3], { index: 1, offset: 2, traceId: 't0' }),
        c: long(1, 3, [4, 5], { index: 2, offset: 3, traceId: 't1' }),
        d: long(2, 3, [6], { index: 3, offset: 5, traceId: 't2' }),
      });
      expectSubscriptions(p0.subscriptions).toBe('^----!');
      expectSubscriptions(p1.subscriptions).toBe('^-!');
      // Bounded: part 2 starts only when part 0 has finished.
      expectSubscriptions(p2.subscriptions).toBe('-----^-!');
    });
  });

  it('sends each part with the rest of the request', () => {
    scheduler.run(({ cold, flush }) => {
      const done = cold<AudioChunk>('|');
      const client = stubClient({ '一二。': done, '三四。': done, '五六。': done });
      synthesizeLong$({ text: TEXT, voice: 'chinese_huaxiaomei_common', audioFormat: 'alaw' }, { client, maxPartLength: 3, concurrency: 3 }).subscribe();
      flush();
      expect(client.calls.map((c) => c.request)).to.deep.equal(
        ['一二。', '三四。', '五六。'].map((text) => ({ text, voice: 'chinese_huaxiaomei_common', audioFormat: 'alaw' })),
      );
    });
  });

  it('makes every session follow paused$', () => {
    scheduler.run(({ cold, hot, flush }) => {
      const paused$ = hot('t--f-t', { t: true, f: false });
      const client = stubClient({ '一二。': cold<AudioChunk>('--|'), '三四。': cold<AudioChunk>('------|') });
      synthesizeLong$({ text: '一二。三四。' }, { client, maxPartLength: 3, paused$ }).subscribe();
      flush();
      expect(client.calls.map((c) => c.flags)).to.deep.equal([
        [true], // part 0 ends at 2 while paused (the transport resumes a socket before closing it)
        [true, false, true], // part 1 follows paused$ until it ends at 6
      ]);
    });
  });

  it('pauses a part running ahead once it holds highWaterMark bytes, and resumes it as its turn drains it', () => {
    scheduler.run(({ cold, flush }) => {
      const p0 = cold('-a---|', { a: audioChunk([1], { traceId: 't0' }) });
      const p1 = cold('-b-c--d|', {
        b: audioChunk([2], { traceId: 't1' }),
        c: audioChunk([3], { index: 1, offset: 1, traceId: 't1' }),
        d: audioChunk([4], { index: 2, offset: 2, traceId: 't1' }),
      });
      const client = stubClient({ '一二。': p0, '三四。': p1 });
      const seen: number[] = [];
      synthesizeLong$({ text: '一二。三四。' }, { client, maxPartLength: 3, highWaterMark: 2 }).subscribe((c) => seen.push(...c.data));
      flush();
      expect(client.calls.map((c) => c.flags)).to.deep.equal([
        [false], // part 0 is emitted as it comes: it never holds anything
        [false, true, false], // part 1 holds 2 bytes at 3 (paused), drained when part 0 ends at 5 (resumed)
      ]);
      expect(seen).to.deep.equal([1, 2, 3, 4]);
    });
  });

  it('fails the whole with the failed part, its index and trace id, and stops every session', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const cause = new SisServiceError({ traceId: 't1', errorCode: 'SIS.0401', errorMsg: 'synthesis error' });
      const p0 = cold('-a-----|', { a: audioChunk([1], { traceId: 't0' }) });
      const p1 = cold<AudioChunk>('---#', undefined, cause);
      const client = stubClient({ '一二。': p0, '三四。': p1, '五六。': cold<AudioChunk>('-|') });
      expectObservable(synthesizeLong$({ text: TEXT }, { client, maxPartLength: 3 })).toBe(
        '-a-#',
        { a: long(0, 3, [1], { traceId: 't0' }) },
        new SisPartError({ part: 1, parts: 3, cause }),
      );
      expectSubscriptions(p0.subscriptions).toBe('^--!');
    });
  });

  it('retries a part on its own when asked, never one that sent audio', () => {
    scheduler.run(({ cold, expectObservable }) => {
      let attempts = 0;
      const dropped = new SisConnectionError('connection closed (code 1006)');
      const flaky = cold<AudioChunk>('-#', undefined, dropped);
      const fine = cold('-b|', { b: audioChunk([2], { traceId: 't1b' }) });
      const client = stubClient({ '一二。': cold('-a|', { a: audioChunk([1], { traceId: 't0' }) }) });
      const parts = {
        ...client,
        synthesize$: (request: { text: string }) => (request.text === '三四。' ? defer(() => (attempts++ === 0 ? flaky : fine)) : client.synthesize$(request)),
      };
      expectObservable(synthesizeLong$({ text: '一二。三四。' }, { client: parts, maxPartLength: 3, retry: { initialDelay: 4, jitter: 0 } })).toBe('-a----b|', {
        a: long(0, 2, [1], { traceId: 't0' }),
        b: long(1, 2, [2], { index: 1, offset: 1, traceId: 't1b' }),
      });
    });
  });

  it('skips parts with nothing to speak', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const client = stubClient({
        'ab。': cold('-a|', { a: audioChunk([1], { traceId: 't' }) }),
        'cd。': cold('-b|', { b: audioChunk([2], { traceId: 'u' }) }),
      });
      // Parts: 'ab。', '   ', '   ', 'cd。'.
      expectObservable(synthesizeLong$({ text: 'ab。      cd。' }, { client, maxPartLength: 3 })).toBe('-a(b|)', {
        a: long(0, 2, [1], { traceId: 't' }),
        b: long(1, 2, [2], { index: 1, offset: 1, traceId: 'u' }),
      });
    });
  });

  it('errors before any session for an invalid request or options', () => {
    scheduler.run(({ expectObservable }) => {
      const client = stubClient({});
      expectObservable(synthesizeLong$({ text: '  ' }, { client })).toBe(
        '#',
        undefined,
        new SisRequestError([{ path: 'text', message: 'must contain something to speak, got an empty or blank text' }]),
      );
      expectObservable(synthesizeLong$({ text: 'x' }, { client, concurrency: 0 })).toBe(
        '#',
        undefined,
        new SisConfigError([{ path: 'concurrency', message: 'must be a positive integer, got 0' }], 'synthesizeLong$ options'),
      );
      expect(client.calls).to.have.length(0);
    });
  });

  it('names every bad option, its retry options included, and points the old maxBufferedBytes to highWaterMark', () => {
    scheduler.run(({ expectObservable }) => {
      const client = stubClient({});
      const options = { client, maxBufferedBytes: 1024, highWaterMark: 0, paused$: true, retry: { count: -1 } } as unknown as LongSynthesisOptions;
      expectObservable(synthesizeLong$({ text: 'x' }, options)).toBe(
        '#',
        undefined,
        new SisConfigError(
          [
            { path: 'maxBufferedBytes', message: "is now 'highWaterMark' (a part running ahead is paused past it, never failed)" },
            { path: 'highWaterMark', message: 'must be a positive integer, got 0' },
            { path: 'paused$', message: 'must be an Observable of booleans, got true' },
            { path: 'retry.count', message: 'must be an integer ≥ 0, got -1' },
          ],
          'synthesizeLong$ options',
        ),
      );
      expect(client.calls).to.have.length(0);
    });
  });

  it('over real sessions: a part that fails with ERROR reports that session’s trace id', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const good = cold('-o-s-a-e', { o: open, s: startFrame('trace-0'), a: binary(1, 2), e: endFrame('NORMAL', 'trace-0') });
      const bad = cold('-o-s-r-x', { o: open, s: startFrame(TRACE), r: errorFrame('SIS.0413', 'engine error'), x: endFrame('ERROR') });
      const scripts = [good, bad];
      const fake = fakeSockets(scheduler, () => scripts.shift() ?? good);
      const client = createSisClient({ endpoint: 'ws://127.0.0.1:9', projectId: 'p', auth: { token: 'x' }, webSocketFactory: fake.factory, scheduler });
      const cause = new SisServiceError({ traceId: TRACE, errorCode: 'SIS.0413', errorMsg: 'engine error', reason: 'ERROR' });
      expectObservable(synthesizeLong$({ text: '一二。三四。' }, { client, maxPartLength: 3 })).toBe(
        '-----a-#',
        { a: long(0, 2, [1, 2], { traceId: 'trace-0' }) },
        new SisPartError({ part: 1, parts: 2, cause }),
      );
    });
  });
});
