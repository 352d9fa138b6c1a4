import {
  BehaviorSubject,
  catchError,
  combineLatest,
  defer,
  distinctUntilChanged,
  from,
  identity,
  isObservable,
  map,
  of,
  tap,
  throwError,
  type Observable,
} from 'rxjs';
import { SisConfigError, SisError, SisPartError, type Problem } from '../errors.js';
import { check, clientProblems, objectProblems, optional, positiveInteger, unknownKeyProblems } from '../checks.js';
import { resolveRequest, type SynthesisRequest } from '../protocol/request.js';
import type { SisClient } from '../session/client.js';
import type { AudioChunk } from '../session/events.js';
import { concatMapEager } from '../operators/concat-map-eager.js';
import { retryProblems, retrySynthesis, type RetryOptions } from '../operators/retry-synthesis.js';
import { splitText } from './split-text.js';

/** Options of {@link synthesizeLong$}. */
export interface LongSynthesisOptions {
  /** Runs the sessions, one per part: a {@link SisClient} (or anything with its `synthesize$`). */
  readonly client: Pick<SisClient, 'synthesize$'>;
  /** Sessions at once. Default 2. */
  readonly concurrency?: number | undefined;
  /**
   * Longest part in characters. Default 500: the limit of ordinary voices in the current docs
   * (premium voices take 10,000), and shorter parts bring the first audio sooner.
   */
  readonly maxPartLength?: number | undefined;
  /**
   * Bytes a part running ahead may hold while it waits for its turn before its socket is paused
   * (the meaning `highWaterMark` has in `toReadable`); it resumes as its turn drains it. Nothing
   * fails: memory is bounded by `concurrency − 1` parts of this size. Default 1 MiB.
   */
  readonly highWaterMark?: number | undefined;
  /** Passed on to every session: pauses them all while the consumer lags (see `toReadable`). */
  readonly paused$?: Observable<boolean> | undefined;
  /** Retry each part on its own (safe: a part that already sent audio is never retried). */
  readonly retry?: RetryOptions | undefined;
}

/** A chunk of a long synthesis: `index` and `offset` run across all parts; `traceId` is the part's session. */
export interface LongAudioChunk extends AudioChunk {
  /** 0-based index of the part this chunk belongs to. */
  readonly part: number;
  /** How many parts the text was split into. */
  readonly parts: number;
}

const DEFAULT_MAX_PART_LENGTH = 500;
const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
const LONG_OPTIONS = ['client', 'concurrency', 'maxPartLength', 'highWaterMark', 'paused$', 'retry'] as const;

/** Every problem with the options of `synthesizeLong$`, the retry options included. */
const longProblems = (options: LongSynthesisOptions): Problem[] => {
  if (typeof options !== 'object' || options === null) return objectProblems('options', options, '{ client, concurrency: 2 }');
  const { client, concurrency = 2, maxPartLength = DEFAULT_MAX_PART_LENGTH, highWaterMark = DEFAULT_HIGH_WATER_MARK, paused$, retry } = options;
  return [
    ...unknownKeyProblems(options, [...LONG_OPTIONS, 'maxBufferedBytes']),
    // The old name of highWaterMark: `maxBufferedBytes` elsewhere means "fail past this", which this never does.
    ...(Object.hasOwn(options, 'maxBufferedBytes')
      ? [{ path: 'maxBufferedBytes', message: "is now 'highWaterMark' (a part running ahead is paused past it, never failed)" }]
      : []),
    ...clientProblems(client),
    ...positiveInteger('concurrency', concurrency),
    ...positiveInteger('maxPartLength', maxPartLength),
    ...positiveInteger('highWaterMark', highWaterMark),
    ...optional(check('an Observable of booleans', isObservable))('paused$', paused$),
    ...(retry === undefined ? [] : retryProblems(retry, 'retry.')),
  ];
};

/** How much of a part has arrived and how much has gone out; `hold` pauses a part that ran too far ahead. */
interface PartFlow {
  received: number;
  delivered: number;
  readonly hold: BehaviorSubject<boolean>;
}

/**
 * Speaks a text of any length: splits it with {@link splitText} (parts of blank text are skipped),
 * runs up to `concurrency` sessions at once and emits the audio strictly in text order. Parts
 * waiting for their turn are buffered, each up to `highWaterMark` bytes (then its socket is paused);
 * part `k + concurrency` starts only when part `k` is done. A failed part fails the whole with
 * a {@link SisPartError} carrying the part's index and trace id.
 * @throws {SisConfigError} (as an error notification, before any session) naming every bad option.
 * @example synthesizeLong$({ text: book, voice }, { client, concurrency: 3 }).pipe(writeAudioFile('book.wav'))
 */
export const synthesizeLong$ = (request: SynthesisRequest, options: LongSynthesisOptions): Observable<LongAudioChunk> =>
  defer(() => {
    const problems = longProblems(options);
    if (problems.length > 0) throw new SisConfigError(problems, 'synthesizeLong$ options');
    const { client, concurrency = 2, maxPartLength = DEFAULT_MAX_PART_LENGTH, highWaterMark = DEFAULT_HIGH_WATER_MARK, paused$ = of(false), retry } = options;
    resolveRequest(request, { maxTextLength: Infinity }); // every other field, checked once for all parts
    const parts = splitText(request.text, maxPartLength).filter((part) => part.trim() !== '');
    const flows = new Map<number, PartFlow>();
    let index = 0;
    let offset = 0;

    const speak = (text: string, part: number): Observable<LongAudioChunk> => {
      const flow: PartFlow = { received: 0, delivered: 0, hold: new BehaviorSubject(false) };
      flows.set(part, flow);
      const partPaused$ = combineLatest([paused$, flow.hold]).pipe(
        map(([consumer, ahead]) => consumer || ahead),
        distinctUntilChanged(),
      );
      return client.synthesize$({ ...request, text }, { paused$: partPaused$ }).pipe(
        retry === undefined ? identity : retrySynthesis<AudioChunk>(retry),
        tap((chunk) => {
          flow.received += chunk.data.byteLength;
          if (flow.received - flow.delivered >= highWaterMark) flow.hold.next(true);
        }),
        catchError((error: unknown) => throwError(() => (error instanceof SisError ? new SisPartError({ part, parts: parts.length, cause: error }) : error))),
        map((chunk): LongAudioChunk => ({ ...chunk, part, parts: parts.length })),
      );
    };

    return from(parts).pipe(
      concatMapEager(speak, concurrency),
      map((chunk): LongAudioChunk => {
        const flow = flows.get(chunk.part);
        if (flow !== undefined) {
          flow.delivered += chunk.data.byteLength;
          if (flow.hold.value && flow.received - flow.delivered < highWaterMark) flow.hold.next(false);
        }
        const renumbered = { ...chunk, index, offset };
        index += 1;
        offset += chunk.data.byteLength;
        return renumbered;
      }),
    );
  });
