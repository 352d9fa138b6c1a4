/**
 * The kit needs no test framework: the imperative test again, under Node's own runner.
 *
 *   node --import tsx --test examples/testing/notify.node-test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { of } from 'rxjs';
import { createTestingClient } from '../../lib/testing/index.js';
import { speakNotifications, type NotificationResult } from './notify.js';

test('speakNotifications speaks a notification', () => {
  const { client, controller } = createTestingClient();
  const results: NotificationResult[] = [];
  speakNotifications(of({ id: 'p', text: 'Parcel delivered' }), client).subscribe((result) => results.push(result));

  controller.expectOne('Parcel delivered').start().audio(2).end();

  assert.deepEqual(results, [{ type: 'spoken', id: 'p', bytes: 8 }]);
  controller.verify();
});

test('verify() fails while a session is left unanswered', () => {
  const { client, controller } = createTestingClient();
  const subscription = speakNotifications(of({ id: 'p', text: 'Parcel delivered' }), client).subscribe();
  controller.expectOne('Parcel delivered');
  assert.throws(() => controller.verify(), /verify\(\): 1 session needs attention:\n {2}session #0 \(realtime\) "Parcel delivered" .*: still open/);
  subscription.unsubscribe();
  controller.verify();
});
