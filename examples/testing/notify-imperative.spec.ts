/**
 * The same code tested without marbles: the test subscribes, then answers with the imperative helpers,
 * which deliver synchronously.
 *
 *   npx mocha examples/testing/notify-imperative.spec.ts
 */
import { expect } from 'chai';
import { of } from 'rxjs';
import { createTestingClient } from '../../lib/testing/index.js';
import { speakNotifications, type NotificationResult } from './notify.js';

describe('speakNotifications (imperative)', () => {
  it('speaks a notification', () => {
    const { client, controller } = createTestingClient();
    const results: NotificationResult[] = [];
    speakNotifications(of({ id: 'p', text: 'Parcel delivered' }), client).subscribe((result) => results.push(result));

    controller.expectOne('Parcel delivered').start().audio(2).end();

    expect(results).to.deep.equal([{ type: 'spoken', id: 'p', bytes: 8 }]);
    controller.verify();
  });

  it('gives up at once on an error that is not transient', () => {
    const { client, controller } = createTestingClient();
    const results: NotificationResult[] = [];
    speakNotifications(of({ id: 'p', text: 'Parcel delivered' }), client).subscribe((result) => results.push(result));

    controller.expectOne('Parcel delivered').start().fail('SIS.0032', "'voice' is invalid");

    expect(results).to.deep.equal([{ type: 'unspoken', id: 'p', reason: 'SERVICE_ERROR' }]);
    controller.expectNone(); // not retried
    controller.verify();
  });
});
