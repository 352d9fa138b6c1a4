/** The public entry points: a client bound to options, and one-shot functions. */
import { defer, type Observable } from 'rxjs';
import { audioOnly } from '../operators/audio-only.js';
import type { SynthesisRequest } from '../protocol/request.js';
import type { AudioChunk, SisEvent } from './events.js';
import { integerFrom, oneOf, optional } from '../checks.js';
import { SisClosedError, SisConfigError } from '../errors.js';
import { resolveOptions, type SessionConfig, type SisClientOptions } from './options.js';
import { WarmPools, type WarmStats } from './warm-pool.js';
import { events$ as sessionEvents$, type SessionCallOptions } from './session.js';
import type { SpeechChunk, SpeechEvent } from '../speak/events.js';
import type { SpeakOptions } from '../speak/options.js';
import { speechAudio, speechEvents$ } from '../speak/speak.js';

/** A client bound to one endpoint, project and set of credentials; see {@link createSisClient}. */
export interface SisClient {
  /** Cold: each subscription is one session on its own socket. Completes on END/NORMAL. */
  synthesize$(request: SynthesisRequest, call?: SessionCallOptions): Observable<AudioChunk>;
  /** The same session with its whole lifecycle: open, start, audio, subtitle, unknown, end. */
  events$(request: SynthesisRequest, call?: SessionCallOptions): Observable<SisEvent>;
  /**
   * Speaks text while it is still being written (an LLM's tokens): cold; each subscription reads
   * `text$`, cuts it into sentences with `sentences()` and speaks them in order, the first as soon
   * as it is complete. Completes when `text$` has completed and everything is spoken; unsubscribing
   * closes every socket at once. `options.api` picks one real-time session per sentence (default)
   * or the streaming API's one socket. Each chunk says which sentence it speaks (real-time mode).
   */
  speak$(text$: Observable<string>, options?: SpeakOptions): Observable<SpeechChunk>;
  /** The same speech with its lifecycle: sentence, sent, start, audio, spoken, notice, unknown, end. */
  speakEvents$(text$: Observable<string>, options?: SpeakOptions): Observable<SpeechEvent>;
  /**
   * Resolves once `count` sockets (default: the `warm.size` option) are warm for `api` (default
   * `'realtime'`), or once the connects under way are over, with the number actually warm. A failed
   * connect never rejects it: compare the result, and see `stats().failed`.
   * @throws {SisConfigError} (a rejection) if the client keeps no warm sockets or `count` is not 1..size.
   * @throws {SisClosedError} (a rejection) after `close()`.
   */
  prewarm(count?: number, options?: { readonly api?: 'realtime' | 'streaming' | undefined }): Promise<number>;
  /** What the warm sockets did so far; all zero when the client keeps none. */
  stats(): WarmStats;
  /**
   * Closes the warm sockets and stops refilling. Sessions running finish normally; any session (or
   * `prewarm`) asked for afterwards fails with {@link SisClosedError}. Idempotent.
   */
  close(): Promise<void>;
  /** `await using client = createSisClient(…)`: {@link close} at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

const NO_STATS: WarmStats = { warm: 0, connecting: 0, hits: 0, misses: 0, expired: 0, lost: 0, failed: 0, backoffMs: 0 };

/**
 * A client for one endpoint and project. Options are checked now; credentials stay inside the
 * closure (the client object shows nothing of them).
 * @throws {SisConfigError} if the options are invalid.
 * @example
 * const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token } });
 * client.synthesize$({ text: '你好' }).subscribe((chunk) => speaker.write(chunk.data));
 */
export const createSisClient = (options: SisClientOptions): SisClient => {
  const resolved = resolveOptions(options);
  const pools = resolved.warm === undefined ? undefined : new WarmPools(resolved, resolved.warm);
  const config: SessionConfig = pools === undefined ? resolved : { ...resolved, pools };
  // The real-time path starts filling now; the streaming path on its first use (or prewarm).
  pools?.get(config.url);
  let closed = false;
  const open = <T>(what: string, run: () => Observable<T>): Observable<T> =>
    defer(() => {
      if (closed) throw new SisClosedError(what);
      return run();
    });

  const events$ = (request: SynthesisRequest, call?: SessionCallOptions): Observable<SisEvent> => open('events$', () => sessionEvents$(request, config, call));
  const speakEvents$ = (text$: Observable<string>, options?: SpeakOptions): Observable<SpeechEvent> =>
    open('speakEvents$', () => speechEvents$(text$, options, config));
  const prewarm = async (count?: number, options?: { readonly api?: 'realtime' | 'streaming' | undefined }): Promise<number> => {
    if (closed) throw new SisClosedError('prewarm');
    const size = config.warm?.size;
    const api = options?.api ?? 'realtime';
    const problems = [
      ...(size === undefined ? [{ path: 'warm', message: 'is not set: create the client with warm: { size } to keep sockets warm' }] : []),
      ...(size === undefined ? [] : optional(integerFrom(1, size))('count', count)),
      ...oneOf(['realtime', 'streaming'])('options.api', api),
    ];
    if (problems.length > 0 || size === undefined) throw new SisConfigError(problems, 'prewarm arguments');
    // Only now: getting the streaming path's pool starts filling it.
    const pool = pools?.get(api === 'streaming' ? config.streamingUrl : config.url);
    if (pool === undefined) throw new SisClosedError('prewarm');
    return pool.prewarm(count ?? size);
  };
  const close = async (): Promise<void> => {
    closed = true;
    pools?.close();
  };
  return Object.freeze({
    events$,
    synthesize$: (request: SynthesisRequest, call?: SessionCallOptions) => open('synthesize$', () => sessionEvents$(request, config, call).pipe(audioOnly())),
    speakEvents$,
    speak$: (text$: Observable<string>, options?: SpeakOptions) => open('speak$', () => speechEvents$(text$, options, config).pipe(speechAudio())),
    prewarm,
    stats: () => pools?.stats() ?? NO_STATS,
    close,
    [Symbol.asyncDispose]: close,
  });
};

/**
 * One synthesis as a cold Observable of audio chunks. Invalid options or request arrive as an error
 * notification ({@link SisConfigError} / {@link SisRequestError}) before any socket is opened.
 */
export const synthesize$ = (request: SynthesisRequest, options: SisClientOptions): Observable<AudioChunk> =>
  defer(() => oneShotClient(options, 'synthesize$').synthesize$(request));

/** One synthesis as a cold Observable of its lifecycle events: the one-shot form of `client.events$`. */
export const events$ = (request: SynthesisRequest, options: SisClientOptions): Observable<SisEvent> =>
  defer(() => oneShotClient(options, 'events$').events$(request));

/** A client for one call: it would never be closed, so it may not keep warm sockets. */
const oneShotClient = (options: SisClientOptions, what: string): SisClient => {
  if (typeof options === 'object' && options !== null && (options as { warm?: unknown }).warm !== undefined) {
    throw new SisConfigError(
      [{ path: 'warm', message: `a one-shot ${what} keeps no warm sockets: create a client with createSisClient({ warm }) and reuse it` }],
      `${what} options`,
    );
  }
  return createSisClient(options);
};
