import { expect } from 'chai';
import { defer, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { SisConfigError, SisConnectionError, SisRequestError, SisServiceError, SisTimeoutError, retrySynthesis, type RetryInfo } from '../../lib/index.js';
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
      const retried = session.pipe(retrySynthesis({ count: 3, delay: 10, maxDelay: 1_000, jitter: 0 }));
      // attempt at 0, fails at 2; waits 10, 20, 40.
      expectObservable(retried).toBe('2ms 10ms 2ms 20ms 2ms 40ms 2ms #', undefined, busy);
      expectSubscriptions(session.subscriptions).toBe([
        '^-!',
        '12ms ^-!',
        '34ms ^-!',
        '76ms ^-!',
      ]);
    });
  });

  it('emits the audio of the attempt that succeeds', () => {
    scheduler.run(({ cold, expectObservable }) => {
      let attempts = 0;
      const fails = cold('-#', undefined, dropped);
      const works = cold('-a-b|');
      const session = defer(() => (attempts++ === 0 ? fails : works));
      expectObservable(session.pipe(retrySynthesis({ delay: 5, jitter: 0 }))).toBe('- 5ms -a-b|');
    });
  });

  it('never retries once a chunk was emitted: the audio would be repeated', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const session = cold('-a-#', undefined, dropped);
      expectObservable(session.pipe(retrySynthesis({ count: 5, delay: 1 }))).toBe('-a-#', undefined, dropped);
      expectSubscriptions(session.subscriptions).toBe('^--!');
    });
  });

  it('passes on at once an error that is not retryable (or not a SisError)', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const session = cold('-#', undefined, invalid);
      expectObservable(session.pipe(retrySynthesis({ delay: 1 }))).toBe('-#', undefined, invalid);
      expectSubscriptions(session.subscriptions).toBe('^!');
      const request = new SisRequestError([{ path: 'text', message: 'empty' }]);
      expectObservable(cold('#', undefined, request).pipe(retrySynthesis({ delay: 1 }))).toBe('#', undefined, request);
      expectObservable(cold('#', undefined, new TypeError('bug')).pipe(retrySynthesis({ delay: 1 }))).toBe('#', undefined, new TypeError('bug'));
    });
  });

  it('caps each wait at maxDelay', () => {
    scheduler.run(({ cold, expectSubscriptions, flush }) => {
      const session = cold('#', undefined, new SisTimeoutError('firstAudio', 100));
      session.pipe(retrySynthesis({ count: 4, delay: 100, maxDelay: 250, jitter: 0 })).subscribe({ error: () => undefined });
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
        .pipe(retrySynthesis({ count: 3, delay: 100, maxDelay: 10_000, jitter: 0.5, random: () => randoms.shift() ?? 0, onRetry: (i) => seen.push(i) }))
        .subscribe({ error: () => undefined });
      flush();
      // 100 × (1 − 0.25) = 75; 200 × (1 − ~0.5) ≈ 100; 400 × 1 = 400 (whole milliseconds).
      expect(seen.map((i) => i.delayMs)).to.deep.equal([75, 100, 400]);
      expect(seen.map((i) => i.attempt)).to.deep.equal([1, 2, 3]);
      expect(seen.every((i) => i.error === dropped)).to.equal(true);
      expectSubscriptions(session.subscriptions).toBe(['(^!)', '75ms (^!)', '175ms (^!)', '575ms (^!)']);
    });
  });

  it('cancels a pending retry when unsubscribed', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const session = cold('-#', undefined, dropped);
      expectObservable(session.pipe(retrySynthesis({ delay: 10, jitter: 0 })), '^----!').toBe('-');
      expectSubscriptions(session.subscriptions).toBe(['^!']);
    });
  });

  it('refuses bad options with a SisConfigError', () => {
    let error: unknown;
    of(1).pipe(retrySynthesis({ jitter: 2, count: -1 })).subscribe({ error: (e: unknown) => (error = e) });
    expect(error).to.be.instanceOf(SisConfigError).and.have.property('problems').with.length(2);
  });
});
