import { expect } from 'chai';
import { EMPTY, defer, map, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  SisConfigError,
  SisConnectionError,
  SisRequestError,
  SisServiceError,
  SisTimeoutError,
  retrySynthesis,
  type RetryInfo,
  type RetryOptions,
} from '../../lib/index.js';
import { createTestingClient } from '../../lib/testing/index.js';
import { createTestScheduler } from '../helpers/marbles.js';

const dropped = new SisConnectionError('connection closed (code 1006)', { closeCode: 1006 });
const busy = new SisServiceError({ traceId: 't', errorCode: 'SIS.0312', errorMsg: 'concurrency exceeded' });
const invalid = new SisServiceError({ traceId: 't', errorCode: 'SIS.0032', errorMsg: "'audio_format' is invalid" });

describe('retrySynthesis', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  it('resubscribes after a retryable error with exponential waits (no jitter)', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const session = cold('--#', undefined, busy);
      const retried = session.pipe(retrySynthesis({ count: 3, initialDelay: 10, maxDelay: 1_000, jitter: 0 }));
      // attempt at 0, fails at 2; waits 10, 20, 40.
      expectObservable(retried).toBe('2ms 10ms 2ms 20ms 2ms 40ms 2ms #', undefined, busy);
      expectSubscriptions(session.subscriptions).toBe(['^-!', '12ms ^-!', '34ms ^-!', '76ms ^-!']);
    });
  });

  it('emits the audio of the attempt that succeeds', () => {
    scheduler.run(({ cold, expectObservable }) => {
      let attempts = 0;
      const fails = cold('-#', undefined, dropped);
      const works = cold('-a-b|');
      const session = defer(() => (attempts++ === 0 ? fails : works));
      expectObservable(session.pipe(retrySynthesis({ initialDelay: 5, jitter: 0 }))).toBe('- 5ms -a-b|');
    });
  });

  it('never retries once a chunk was emitted: the audio would be repeated', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const session = cold('-a-#', undefined, dropped);
      expectObservable(session.pipe(retrySynthesis({ count: 5, initialDelay: 1 }))).toBe('-a-#', undefined, dropped);
      expectSubscriptions(session.subscriptions).toBe('^--!');
    });
  });

  it('passes on at once an error that is not retryable (or not a SisError)', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const session = cold('-#', undefined, invalid);
      expectObservable(session.pipe(retrySynthesis({ initialDelay: 1 }))).toBe('-#', undefined, invalid);
      expectSubscriptions(session.subscriptions).toBe('^!');
      const request = new SisRequestError([{ path: 'text', message: 'empty' }]);
      expectObservable(cold('#', undefined, request).pipe(retrySynthesis({ initialDelay: 1 }))).toBe('#', undefined, request);
      expectObservable(cold('#', undefined, new TypeError('bug')).pipe(retrySynthesis({ initialDelay: 1 }))).toBe('#', undefined, new TypeError('bug'));
    });
  });

  it('caps each wait at maxDelay', () => {
    scheduler.run(({ cold, expectSubscriptions, flush }) => {
      const session = cold('#', undefined, new SisTimeoutError('firstAudio', 100));
      session.pipe(retrySynthesis({ count: 4, initialDelay: 100, maxDelay: 250, jitter: 0 })).subscribe({ error: () => undefined });
      flush();
      expectSubscriptions(session.subscriptions).toBe(['(^!)', '100ms (^!)', '300ms (^!)', '550ms (^!)', '800ms (^!)']);
    });
  });

  it('draws each wait from [wait × (1 − jitter), wait] with the injected random, and reports it', () => {
    scheduler.run(({ cold, expectSubscriptions, flush }) => {
      const randoms = [0.5, 1 - 1e-9, 0];
      const seen: RetryInfo[] = [];
      const session = cold('#', undefined, dropped);
      session
        .pipe(retrySynthesis({ count: 3, initialDelay: 100, maxDelay: 10_000, jitter: 0.5, random: () => randoms.shift() ?? 0, onRetry: (i) => seen.push(i) }))
        .subscribe({ error: () => undefined });
      flush();
      // 100 × (1 − 0.25) = 75; 200 × (1 − ~0.5) ≈ 100; 400 × 1 = 400 (whole milliseconds).
      expect(seen.map((i) => i.delayMs)).to.deep.equal([75, 100, 400]);
      expect(seen.map((i) => i.attempt)).to.deep.equal([1, 2, 3]);
      expect(seen.every((i) => i.error === dropped)).to.equal(true);
      expectSubscriptions(session.subscriptions).toBe(['(^!)', '75ms (^!)', '175ms (^!)', '575ms (^!)']);
    });
  });

  it('keeps its state per subscription: audio sent to one subscriber does not stop another from retrying', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const attempts = [cold('-a|'), cold<string>('-#', undefined, dropped), cold('-b|')];
      const retried = defer(() => attempts.shift() ?? EMPTY).pipe(retrySynthesis({ initialDelay: 5, jitter: 0 }));
      expectObservable(retried).toBe('-a|');
      expectObservable(retried, '---^').toBe('---- 5ms -b|');
    });
  });

  it('over real sessions: retries a connection dropped before any audio, and not one dropped after', () => {
    scheduler.run(({ expectObservable, flush }) => {
      const { client, controller } = createTestingClient({ scheduler, autoRespond: (session) => ['-#', '-s-a-#', '-s-a-e'][session.index] });
      const bytes$ = client.synthesize$({ text: 'Hello' }).pipe(
        retrySynthesis({ count: 5, initialDelay: 5, jitter: 0 }),
        map((chunk) => chunk.data.byteLength),
      );
      // Dropped at 1, opened again at 6 (the second session, trace id trace-1): its audio at 9, dropped at 11.
      const lost = new SisConnectionError('connection closed after START and 1 audio frame (2 frames received) (code 1006)', {
        closeCode: 1006,
        traceId: 'trace-1',
      });
      expectObservable(bytes$).toBe('- 5ms ---a-#', { a: 4 }, lost);
      flush();
      expect(controller.match('Hello').map((session) => session.state)).to.deep.equal(['ended', 'ended']);
    });
  });

  it('cancels a pending retry when unsubscribed', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const session = cold('-#', undefined, dropped);
      expectObservable(session.pipe(retrySynthesis({ initialDelay: 10, jitter: 0 })), '^----!').toBe('-');
      expectSubscriptions(session.subscriptions).toBe(['^!']);
    });
  });

  it('refuses bad options with a SisConfigError', () => {
    let error: unknown;
    of(1)
      .pipe(retrySynthesis({ jitter: 2, count: -1 }))
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).to.be.instanceOf(SisConfigError).and.have.property('problems').with.length(2);
  });

  it("names every bad option, and points RxJS's `delay` (a fixed wait) to `initialDelay`", () => {
    let error: unknown;
    const options = { delay: 100, initialDelay: -1, random: 0.5, onRetry: 'log' } as unknown as RetryOptions;
    of(1)
      .pipe(retrySynthesis(options))
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).to.be.instanceOf(SisConfigError);
    expect((error as SisConfigError).problems).to.deep.equal([
      { path: 'delay', message: "is now 'initialDelay' (the first wait, doubled for each next one)" },
      { path: 'initialDelay', message: 'must be a number of ms ≥ 0, got -1' },
      { path: 'random', message: 'must be a function returning a number in [0, 1), got 0.5' },
      { path: 'onRetry', message: 'must be a function of { attempt, delayMs, error }, got "log"' },
    ]);
  });
});
