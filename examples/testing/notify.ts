/**
 * The code under test: an epic-like function, as an app would write it. Each notification is spoken
 * in turn; a transient failure is retried twice, and a notification not spoken within 5 s is given up.
 */
import { type Observable, catchError, concatMap, map, of, timeout } from 'rxjs';
import { collectAudio, isSisError, retrySynthesis, type SisClient } from '../../lib/index.js';

export interface Notification {
  readonly id: string;
  readonly text: string;
}

export type NotificationResult =
  | { readonly type: 'spoken'; readonly id: string; readonly bytes: number }
  | { readonly type: 'unspoken'; readonly id: string; readonly reason: string };

export const speakNotifications = (notification$: Observable<Notification>, client: SisClient): Observable<NotificationResult> =>
  notification$.pipe(
    concatMap(({ id, text }) =>
      client.synthesize$({ text, voice: 'chinese_xiaoyan_common' }).pipe(
        retrySynthesis({ count: 2, initialDelay: 200, jitter: 0 }),
        collectAudio(),
        timeout({ first: 5_000 }),
        map((audio): NotificationResult => ({ type: 'spoken', id, bytes: audio.byteLength })),
        catchError((error: unknown) => of<NotificationResult>({ type: 'unspoken', id, reason: isSisError(error) ? error.code : String(error) })),
      ),
    ),
  );
