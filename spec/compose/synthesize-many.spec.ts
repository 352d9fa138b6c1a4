import { expect } from 'chai';
import type { TestScheduler } from 'rxjs/testing';
import { SisConfigError, SisItemError, SisRequestError, SisServiceError, synthesizeMany$, type ManyOptions, type SynthesisOutcome } from '../../lib/index.js';
import { createTestingClient, errorFrame, type AutoRespond } from '../../lib/testing/index.js';
import { createTestScheduler } from '../helpers/marbles.js';

/** How session `b` fails (ERROR then END/ERROR). */
const quota = new SisServiceError({ traceId: 'tb', errorCode: 'SIS.0411', errorMsg: 'property invalid', reason: 'ERROR' });

/** Each session answered by its text's marbles, with the trace id `t<text>`; `1`…`3` are audio frames, `E` fails with `quota`. */
const byText =
  (answers: Readonly<Record<string, string>>): AutoRespond =>
  (session) => {
    session.traceId = `t${session.text}`;
    return {
      marbles: answers[session.text] ?? '',
      values: { 1: Uint8Array.from([1]), 2: Uint8Array.from([2, 3]), 3: Uint8Array.from([4]), E: errorFrame('SIS.0411', 'property invalid', session.traceId) },
    };
  };

describe('synthesizeMany$', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  it('emits one result per request, in input order, each with its whole audio and trace id', () => {
    scheduler.run(({ expectObservable, flush }) => {
      const { client, controller } = createTestingClient({ scheduler, autoRespond: byText({ a: '-s-1-1-e', b: '-s2e', c: '-s---3e' }) });
      expectObservable(synthesizeMany$([{ text: 'a' }, { text: 'b' }, { text: 'c' }], { client })).toBe('-------(xy)--(z|)', {
        x: { index: 0, request: { text: 'a' }, ok: true, audio: Uint8Array.from([1, 1]), traceId: 'ta' },
        y: { index: 1, request: { text: 'b' }, ok: true, audio: Uint8Array.from([2, 3]), traceId: 'tb' },
        z: { index: 2, request: { text: 'c' }, ok: true, audio: Uint8Array.from([4]), traceId: 'tc' },
      } satisfies Record<string, SynthesisOutcome>);
      // Never more than `concurrency` (2) sessions: c opens when a has ended, at 7, so its 6 frames end at 13.
      flush();
      controller.verify();
    });
  });

  it("in 'settle' mode reports a failure and carries on with the others", () => {
    scheduler.run(({ expectObservable }) => {
      const { client } = createTestingClient({ scheduler, autoRespond: byText({ a: '-s1e', b: '-s(Ex)', c: '-s-e' }) });
      expectObservable(synthesizeMany$([{ text: 'a' }, { text: 'b' }, { text: 'c' }], { client, mode: 'settle', concurrency: 3 })).toBe('---(xyz|)', {
        x: { index: 0, request: { text: 'a' }, ok: true, audio: Uint8Array.from([1]), traceId: 'ta' },
        y: { index: 1, request: { text: 'b' }, ok: false, error: quota },
        z: { index: 2, request: { text: 'c' }, ok: true, audio: new Uint8Array(0), traceId: undefined },
      } satisfies Record<string, SynthesisOutcome>);
    });
  });

  it("in 'fail-fast' mode (the default) fails at once with the index of the failed request", () => {
    scheduler.run(({ expectObservable, flush }) => {
      const { client, controller } = createTestingClient({ scheduler, autoRespond: byText({ a: '-s---1e', b: '-s(Ex)' }) });
      expectObservable(synthesizeMany$([{ text: 'a' }, { text: 'b' }], { client })).toBe('--#', undefined, new SisItemError({ index: 1, cause: quota }));
      flush();
      expect(controller.expectOne('a').cancelled).to.equal(true);
    });
  });

  it('reports a request the client refuses (invalid) as that request’s failure, and opens no session for it', () => {
    scheduler.run(({ expectObservable, flush }) => {
      const { client, controller } = createTestingClient({ scheduler, autoRespond: () => '-s-a-e' });
      expectObservable(synthesizeMany$([{ text: 'hi' }, { text: '' }], { client, mode: 'settle' })).toBe('-----(xy|)', {
        x: { index: 0, request: { text: 'hi' }, ok: true, audio: Uint8Array.from([1, 2, 3, 4]), traceId: 'trace-0' },
        y: {
          index: 1,
          request: { text: '' },
          ok: false,
          error: new SisRequestError([{ path: 'text', message: 'must contain something to speak, got an empty or blank text' }]),
        },
      } satisfies Record<string, SynthesisOutcome>);
      flush();
      expect(controller.sessions.map((session) => session.text)).to.deep.equal(['hi']);
    });
  });

  it('completes at once for no requests, and refuses an unknown mode', () => {
    scheduler.run(({ expectObservable, flush }) => {
      const { client, controller } = createTestingClient({ scheduler });
      expectObservable(synthesizeMany$([], { client })).toBe('|');
      expectObservable(synthesizeMany$([{ text: 'x' }], { client, mode: 'sometimes' as 'settle' })).toBe(
        '#',
        undefined,
        new SisConfigError([{ path: 'mode', message: 'must be "fail-fast" or "settle", got "sometimes"' }], 'synthesizeMany$ arguments'),
      );
      flush();
      expect(controller.sessions).to.deep.equal([]);
    });
  });

  it('refuses bad retry options and unknown option names before any session', () => {
    scheduler.run(({ expectObservable, flush }) => {
      const { client, controller } = createTestingClient({ scheduler });
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
      flush();
      expect(controller.sessions).to.deep.equal([]);
    });
  });
});
