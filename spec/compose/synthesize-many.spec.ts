import { expect } from 'chai';
import type { TestScheduler } from 'rxjs/testing';
import {
  SisConfigError,
  SisItemError,
  SisRequestError,
  SisServiceError,
  createSisClient,
  synthesizeMany$,
  type AudioChunk,
  type ManyOptions,
  type SynthesisOutcome,
} from '../../lib/index.js';
import { TRACE, binary, endFrame, fakeSockets, open, startFrame } from '../helpers/fake-socket.js';
import { createTestScheduler } from '../helpers/marbles.js';
import { audioChunk } from '../helpers/chunks.js';
import { stubClient } from '../helpers/stub-client.js';

const quota = new SisServiceError({ traceId: 'tb', errorCode: 'SIS.0411', errorMsg: 'property invalid' });

describe('synthesizeMany$', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  it('emits one result per request, in input order, each with its whole audio and trace id', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = cold('---a-a|', { a: audioChunk([1], { traceId: 'ta' }) });
      const b = cold('-b|', { b: audioChunk([2, 3], { traceId: 'tb' }) });
      const c = cold('-----c|', { c: audioChunk([4], { traceId: 'tc' }) });
      const client = stubClient({ a, b, c });
      expectObservable(synthesizeMany$([{ text: 'a' }, { text: 'b' }, { text: 'c' }], { client })).toBe('------(xy)--(z|)', {
        x: { index: 0, request: { text: 'a' }, ok: true, audio: Uint8Array.from([1, 1]), traceId: 'ta' },
        y: { index: 1, request: { text: 'b' }, ok: true, audio: Uint8Array.from([2, 3]), traceId: 'tb' },
        z: { index: 2, request: { text: 'c' }, ok: true, audio: Uint8Array.from([4]), traceId: 'tc' },
      } satisfies Record<string, SynthesisOutcome>);
      expectSubscriptions(b.subscriptions).toBe('^-!');
      // Never more than `concurrency` (2) sessions: c waits for a.
      expectSubscriptions(c.subscriptions).toBe('------^-----!');
    });
  });

  it("in 'settle' mode reports a failure and carries on with the others", () => {
    scheduler.run(({ cold, expectObservable }) => {
      const client = stubClient({
        a: cold('-a|', { a: audioChunk([1], { traceId: 'ta' }) }),
        b: cold<AudioChunk>('-#', undefined, quota),
        c: cold<AudioChunk>('--|'),
      });
      expectObservable(synthesizeMany$([{ text: 'a' }, { text: 'b' }, { text: 'c' }], { client, mode: 'settle', concurrency: 3 })).toBe('--(xyz|)', {
        x: { index: 0, request: { text: 'a' }, ok: true, audio: Uint8Array.from([1]), traceId: 'ta' },
        y: { index: 1, request: { text: 'b' }, ok: false, error: quota },
        z: { index: 2, request: { text: 'c' }, ok: true, audio: new Uint8Array(0), traceId: undefined },
      } satisfies Record<string, SynthesisOutcome>);
    });
  });

  it("in 'fail-fast' mode (the default) fails at once with the index of the failed request", () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = cold('----a|', { a: audioChunk([1], { traceId: 'ta' }) });
      const client = stubClient({ a, b: cold<AudioChunk>('-#', undefined, quota) });
      expectObservable(synthesizeMany$([{ text: 'a' }, { text: 'b' }], { client })).toBe('-#', undefined, new SisItemError({ index: 1, cause: quota }));
      expectSubscriptions(a.subscriptions).toBe('^!');
    });
  });

  it('reports a request the client refuses (invalid) as that request’s failure, over real sessions', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const fake = fakeSockets(scheduler, () => cold('-o-s-a-e', { o: open, s: startFrame(), a: binary(7), e: endFrame() }));
      const client = createSisClient({ endpoint: 'ws://127.0.0.1:9', projectId: 'p', auth: { token: 'x' }, webSocketFactory: fake.factory, scheduler });
      expectObservable(synthesizeMany$([{ text: 'hi' }, { text: '' }], { client, mode: 'settle' })).toBe('-------(xy|)', {
        x: { index: 0, request: { text: 'hi' }, ok: true, audio: Uint8Array.from([7]), traceId: TRACE },
        y: {
          index: 1,
          request: { text: '' },
          ok: false,
          error: new SisRequestError([{ path: 'text', message: 'must contain something to speak, got an empty or blank text' }]),
        },
      } satisfies Record<string, SynthesisOutcome>);
    });
  });

  it('completes at once for no requests, and refuses an unknown mode', () => {
    scheduler.run(({ expectObservable }) => {
      const client = stubClient({});
      expectObservable(synthesizeMany$([], { client })).toBe('|');
      expectObservable(synthesizeMany$([{ text: 'x' }], { client, mode: 'sometimes' as 'settle' })).toBe(
        '#',
        undefined,
        new SisConfigError([{ path: 'mode', message: 'must be "fail-fast" or "settle", got "sometimes"' }], 'synthesizeMany$ arguments'),
      );
      expect(client.calls).to.have.length(0);
    });
  });

  it('refuses bad retry options and unknown option names before any session', () => {
    scheduler.run(({ expectObservable }) => {
      const client = stubClient({});
      const options = { client, retry: { delay: 100 }, concurency: 3 } as unknown as ManyOptions;
      expectObservable(synthesizeMany$([{ text: 'x' }], options)).toBe(
        '#',
        undefined,
        new SisConfigError(
          [
            { path: 'concurency', message: "unknown field (did you mean 'concurrency'?)" },
            { path: 'retry.delay', message: "is now 'initialDelay' (the first wait, doubled for each next one)" },
          ],
          'synthesizeMany$ arguments',
        ),
      );
      expect(client.calls).to.have.length(0);
    });
  });
});
