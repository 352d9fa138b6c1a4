import { expect } from 'chai';
import type { TestScheduler } from 'rxjs/testing';
import {
  SisConfigError,
  SisPartError,
  SisRequestError,
  SisServiceError,
  synthesizeLong$,
  type AudioChunk,
  type LongAudioChunk,
  type LongSynthesisOptions,
} from '../../lib/index.js';
import { createTestingClient, errorFrame, type AutoRespond, type ResponseValue } from '../../lib/testing/index.js';
import { createTestScheduler } from '../helpers/marbles.js';
import { audioChunk, type ChunkPlace } from '../helpers/chunks.js';
import { stubClient } from '../helpers/stub-client.js';

const long = (part: number, parts: number, bytes: readonly number[], place: ChunkPlace): LongAudioChunk => ({
  ...audioChunk(bytes, place),
  part,
  parts,
});

/** Answers each session by the marbles of its index, or of its text; its frames carry its trace id, `trace-<index>`. */
const answering =
  (answers: Readonly<Record<string | number, string>>, values: Readonly<Record<string, ResponseValue>> = {}): AutoRespond =>
  (session) => ({ marbles: answers[session.index] ?? answers[session.text] ?? '', values });

// Three sentences of 3 characters each; with maxPartLength 3 they are three parts.
const TEXT = '一二。三四。五六。';

describe('synthesizeLong$', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  it('runs two sessions at once and emits their audio strictly in text order, renumbered across parts', () => {
    scheduler.run(({ expectObservable }) => {
      const frames = { a: Uint8Array.from([1, 2]), b: Uint8Array.from([3]), c: Uint8Array.from([4, 5]), d: Uint8Array.from([6]) };
      const { client } = createTestingClient({ scheduler, autoRespond: answering({ '一二。': '-sa--be', '三四。': '-sce', '五六。': '-sde' }, frames) });
      // Part 1 runs alongside part 0 (its c waits for part 0's end at 6); part 2 opens only then (d at 8).
      expectObservable(synthesizeLong$({ text: TEXT }, { client, maxPartLength: 3 })).toBe('--a--bc-d|', {
        a: long(0, 3, [1, 2], { traceId: 'trace-0' }),
        b: long(0, 3, [3], { index: 1, offset: 2, traceId: 'trace-0' }),
        c: long(1, 3, [4, 5], { index: 2, offset: 3, traceId: 'trace-1' }),
        d: long(2, 3, [6], { index: 3, offset: 5, traceId: 'trace-2' }),
      });
    });
  });

  it('sends each part with the rest of the request', () => {
    scheduler.run(({ flush }) => {
      const { client, controller } = createTestingClient({ scheduler, autoRespond: () => '-se' });
      synthesizeLong$({ text: TEXT, voice: 'chinese_huaxiaomei_common', audioFormat: 'alaw' }, { client, maxPartLength: 3, concurrency: 3 }).subscribe();
      flush();
      expect(controller.sessions.map(({ text, voice, request }) => ({ text, voice, format: request.config.audio_format }))).to.deep.equal(
        ['一二。', '三四。', '五六。'].map((text) => ({ text, voice: 'chinese_huaxiaomei_common', format: 'alaw' })),
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
    scheduler.run(({ expectObservable, flush }) => {
      const { client, controller } = createTestingClient({
        scheduler,
        autoRespond: answering({ '一二。': '-sa-----e', '三四。': '-s-(Ex)' }, { a: Uint8Array.from([1]) }),
      });
      const cause = new SisServiceError({ traceId: 'trace-1', errorCode: 'SIS.0401', errorMsg: 'synthesis error', reason: 'ERROR' });
      expectObservable(synthesizeLong$({ text: TEXT }, { client, maxPartLength: 3 })).toBe(
        '--a#',
        { a: long(0, 3, [1], { traceId: 'trace-0' }) },
        new SisPartError({ part: 1, parts: 3, cause }),
      );
      flush();
      expect(controller.expectOne('一二。').cancelled).to.equal(true);
      controller.expectNone('五六。');
    });
  });

  it('retries a part on its own when asked, never one that sent audio', () => {
    scheduler.run(({ expectObservable, flush }) => {
      // Sessions in order: part 0; part 1, dropped; part 1 again, 4 ms later.
      const { client, controller } = createTestingClient({
        scheduler,
        autoRespond: answering({ 0: '-sae', 1: '-#', 2: '-sbe' }, { a: Uint8Array.from([1]), b: Uint8Array.from([2]) }),
      });
      expectObservable(synthesizeLong$({ text: '一二。三四。' }, { client, maxPartLength: 3, retry: { initialDelay: 4, jitter: 0 } })).toBe('--a----b|', {
        a: long(0, 2, [1], { traceId: 'trace-0' }),
        b: long(1, 2, [2], { index: 1, offset: 1, traceId: 'trace-2' }),
      });
      flush();
      expect(controller.sessions.map((session) => session.text)).to.deep.equal(['一二。', '三四。', '三四。']);
    });
  });

  it('skips parts with nothing to speak', () => {
    scheduler.run(({ expectObservable, flush }) => {
      const { client, controller } = createTestingClient({
        scheduler,
        autoRespond: answering({ 'ab。': '-sae', 'cd。': '-sbe' }, { a: Uint8Array.from([1]), b: Uint8Array.from([2]) }),
      });
      // Parts: 'ab。', '   ', '   ', 'cd。'.
      expectObservable(synthesizeLong$({ text: 'ab。      cd。' }, { client, maxPartLength: 3 })).toBe('--a(b|)', {
        a: long(0, 2, [1], { traceId: 'trace-0' }),
        b: long(1, 2, [2], { index: 1, offset: 1, traceId: 'trace-1' }),
      });
      flush();
      expect(controller.sessions.map((session) => session.text)).to.deep.equal(['ab。', 'cd。']);
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
    scheduler.run(({ expectObservable }) => {
      const { client } = createTestingClient({
        scheduler,
        autoRespond: answering({ 0: '-s-a-e', 1: '-s-E-x' }, { a: Uint8Array.from([1, 2]), E: errorFrame('SIS.0413', 'engine error', 'trace-1') }),
      });
      const cause = new SisServiceError({ traceId: 'trace-1', errorCode: 'SIS.0413', errorMsg: 'engine error', reason: 'ERROR' });
      expectObservable(synthesizeLong$({ text: '一二。三四。' }, { client, maxPartLength: 3 })).toBe(
        '---a-#',
        { a: long(0, 2, [1, 2], { traceId: 'trace-0' }) },
        new SisPartError({ part: 1, parts: 2, cause }),
      );
    });
  });
});
