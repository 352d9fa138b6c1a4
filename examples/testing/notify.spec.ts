/**
 * A marble test of the app's own code (notify.ts), with `rx-sis-tts/testing`: the real client runs,
 * the test plays the service, and everything (retry waits and timeouts included) runs in virtual time.
 *
 *   npx mocha examples/testing/notify.spec.ts
 */
import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { createTestingClient } from '../../lib/testing/index.js';
import { speakNotifications, type Notification } from './notify.js';

describe('speakNotifications (marbles)', () => {
  it('retries a dropped connection, and gives up on a notification not spoken within 5 s', () => {
    const scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
    scheduler.run(({ hot, expectObservable, flush }) => {
      // The service: the first connection drops, the retry speaks two audio frames, the third never sends audio.
      const answers = ['-#', '-s-a-a-e', '-s'];
      const { client, controller } = createTestingClient({ scheduler, autoRespond: (session) => answers[session.index] });

      const notification$ = hot<Notification>('-p-t-|', { p: { id: 'p', text: 'Parcel delivered' }, t: { id: 't', text: 'Your taxi is here' } });
      expectObservable(speakNotifications(notification$, client)).toBe('209ms p 4999ms (t|)', {
        p: { type: 'spoken', id: 'p', bytes: 8 }, // dropped at 2 ms, retried at 202 ms, END at 209 ms
        t: { type: 'unspoken', id: 't', reason: 'TimeoutError: Timeout has occurred' }, // 5 s after it began, at 209 ms
      });
      flush();

      const [dropped, retried] = controller.match('Parcel delivered');
      expect(dropped?.request.config).to.include({ property: 'chinese_xiaoyan_common' });
      expect([dropped?.state, retried?.state]).to.deep.equal(['ended', 'closed']);
      expect(controller.expectOne('Your taxi is here').cancelled).to.equal(true); // the client gave up on it
      controller.verify(); // nothing left open, nothing unexpected
    });
  });
});
