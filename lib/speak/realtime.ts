/**
 * `speak$` with `api: 'realtime'`: each sentence is one real-time session (protocol.md §1).
 *
 *   text$ ─▶ sentences() ─▶ concatMapEager(session per sentence, lookahead + 1) ─▶ renumber ─▶ events
 *
 * Up to `lookahead` later sentences connect and synthesise while an earlier one is heard; their
 * events wait for their turn, so the output is strictly in sentence order. A sentence that holds
 * `highWaterMark` bytes not yet delivered has its socket paused until its turn drains it. A sentence's
 * failure waits for its turn too: every sentence before it is heard in full, then the speech errors.
 */
import {
  BehaviorSubject,
  catchError,
  combineLatest,
  concat,
  defer,
  distinctUntilChanged,
  finalize,
  tap,
  identity,
  map,
  mergeMap,
  of,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import { SisError, SisSentenceError } from '../errors.js';
import { concatMapEager } from '../operators/concat-map-eager.js';
import { retryUntil } from '../operators/retry-synthesis.js';
import type { SynthesisRequest } from '../protocol/request.js';
import type { SisEvent } from '../session/events.js';
import type { SessionCallOptions } from '../session/session.js';
import type { SentenceRef, SpeechEvent } from './events.js';
import type { SpeakPlan } from './options.js';
import { textInput$ } from './text-input.js';

/** Runs one real-time session: the client's `events$`. */
export type SessionRunner = (request: SynthesisRequest, call: SessionCallOptions) => Observable<SisEvent>;

/** How much of a sentence's audio has arrived and how much has gone out; `hold` pauses a sentence too far ahead. */
interface SentenceFlow {
  received: number;
  delivered: number;
  readonly hold: BehaviorSubject<boolean>;
}

/** A sentence's failure, held in its place in the output until the sentences before it are heard. */
interface Failure {
  readonly type: 'failed';
  readonly error: unknown;
}

/** The speech events of one sentence's session event (an `end` becomes `spoken`; subtitles are not asked for). */
const speechEventsOf = (event: SisEvent, sentence: SentenceRef, elapsedMs: number): SpeechEvent[] => {
  switch (event.type) {
    case 'open':
      return [{ type: 'sent', sentence, elapsedMs }];
    case 'start':
      return [{ type: 'start', traceId: event.traceId, sentence, elapsedMs }];
    case 'audio':
      return [{ type: 'audio', chunk: { ...event.chunk, sentence } }];
    case 'end':
      return [{ type: 'spoken', sentence, traceId: event.traceId, bytes: event.bytes }];
    case 'unknown':
      return [{ type: 'unknown', respType: event.respType, frame: event.frame }];
    case 'subtitle':
      return [];
  }
};

/**
 * The events of a real-time speech. `ahead`, when given, is the speech's own socket kept ready ahead
 * (`preconnect`): closed once the text is complete (no new sentence will need it) or the speech ends.
 */
export const realtimeSpeech$ = (
  text$: Observable<unknown>,
  plan: SpeakPlan & { api: 'realtime' },
  run: SessionRunner,
  scheduler: SchedulerLike,
  ahead?: { close(): void },
): Observable<SpeechEvent> =>
  defer(() => {
    const subscribedAt = scheduler.now();
    const since = (): number => scheduler.now() - subscribedAt;
    // One subscription for the whole speech, its last value kept: a sentence that connects while the
    // consumer is paused must start paused, even if paused$ is hot and said so before.
    const consumerPaused = new BehaviorSubject(false);
    const following = plan.paused$?.subscribe({ next: (paused) => consumerPaused.next(paused), error: () => consumerPaused.next(false) });
    const flows = new Map<number, SentenceFlow>();
    const traceIds: string[] = [];
    let chunks = 0;
    let bytes = 0;
    let firstAudioMs: number | undefined;

    const speakSentence = (sentence: SentenceRef): Observable<SpeechEvent | Failure> => {
      const flow: SentenceFlow = { received: 0, delivered: 0, hold: new BehaviorSubject(false) };
      flows.set(sentence.index, flow);
      let sent = false;
      const paused$ = combineLatest([consumerPaused, flow.hold]).pipe(
        map(([consumer, ahead]) => consumer || ahead),
        distinctUntilChanged(),
      );
      const session$ = run({ ...plan.request, text: sentence.text }, { paused$ }).pipe(
        plan.retry === undefined
          ? identity
          : retryUntil<SisEvent>({ ...plan.retry, scheduler: plan.retry.scheduler ?? scheduler }, (event) => event.type === 'audio'),
        mergeMap((event) => {
          if (event.type === 'audio') {
            flow.received += event.chunk.data.byteLength;
            if (flow.received - flow.delivered >= plan.highWaterMark && !flow.hold.value) flow.hold.next(true);
          }
          // A retried sentence was sent once; its new session's `start` (a new trace id) is reported again.
          if (event.type === 'open' && sent) return [];
          if (event.type === 'open') sent = true;
          return speechEventsOf(event, sentence, since());
        }),
        catchError((error: unknown) =>
          of<Failure>({ type: 'failed', error: error instanceof SisError ? new SisSentenceError({ sentence, cause: error }) : error }),
        ),
      );
      return concat(of<SpeechEvent | Failure>({ type: 'sentence', sentence }), session$);
    };

    /** An event on its way out, in sentence order: audio renumbered across the speech, flows drained; a failure thrown. */
    const deliver = (event: SpeechEvent | Failure): SpeechEvent => {
      if (event.type === 'failed') throw event.error;
      if (event.type === 'spoken') {
        flows.delete(event.sentence.index);
        traceIds.push(event.traceId);
        return event;
      }
      if (event.type !== 'audio') return event;
      const { chunk } = event;
      const size = chunk.data.byteLength;
      const flow = chunk.sentence === undefined ? undefined : flows.get(chunk.sentence.index);
      if (flow !== undefined) {
        flow.delivered += size;
        if (flow.hold.value && flow.received - flow.delivered < plan.highWaterMark) flow.hold.next(false);
      }
      firstAudioMs ??= since();
      const renumbered = { type: 'audio' as const, chunk: { ...chunk, index: chunks, offset: bytes } };
      chunks += 1;
      bytes += size;
      return renumbered;
    };

    const sentences$ = textInput$(text$, plan, scheduler).pipe(
      map((text, index): SentenceRef => ({ index, text })),
      tap({ complete: () => ahead?.close() }),
    );
    const spoken$ = sentences$.pipe(concatMapEager(speakSentence, plan.lookahead + 1), map(deliver));
    const end$ = defer(() =>
      of<SpeechEvent>({
        type: 'end',
        api: 'realtime',
        sentences: traceIds.length,
        chunks,
        bytes,
        traceIds: [...traceIds],
        timings: { firstAudioMs, totalMs: since() },
      }),
    );
    return concat(spoken$, end$).pipe(
      finalize(() => {
        following?.unsubscribe();
        ahead?.close();
      }),
    );
  });
