/**
 * The client, for any platform: `makeSisClient(options, platform)` and the one-shot forms. It imports no
 * socket library: each build binds its platform's default socket (client.ts for Node with `ws`,
 * index.browser.ts for the browser's WebSocket), so a bundle for a page never reaches `ws`.
 */
import { defer, type Observable } from 'rxjs';
import type { SynthesisRequest } from '../protocol/request.js';
import type { AudioChunk, SisEvent } from './events.js';
import { integerFrom, oneOf, optional } from '../checks.js';
import { SisClosedError, SisConfigError } from '../errors.js';
import { resolveOptions, type ClientPlatform, type SessionConfig, type SisClientOptions } from './options.js';
import { WarmPools, type WarmStats } from './warm-pool.js';
import { chunks$, events$ as sessionEvents$, type SessionCallOptions } from './session.js';
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

/** A client for one endpoint and project on `platform`; see `createSisClient` for the contract. */
export const makeSisClient = (options: SisClientOptions, platform: ClientPlatform): SisClient => {
  const resolved = resolveOptions(options, platform);
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
    synthesize$: (request: SynthesisRequest, call?: SessionCallOptions) => open('synthesize$', () => chunks$(request, config, call)),
    speakEvents$,
    speak$: (text$: Observable<string>, options?: SpeakOptions) => open('speak$', () => speechEvents$(text$, options, config).pipe(speechAudio())),
    prewarm,
    stats: () => pools?.stats() ?? NO_STATS,
    close,
    [Symbol.asyncDispose]: close,
  });
};

/** `synthesize$(request, options)` on `platform`: one session's audio chunks (see {@link oneShot$}). */
export const synthesizeOnce$ = (request: SynthesisRequest, options: SisClientOptions, platform: ClientPlatform): Observable<AudioChunk> =>
  oneShot$(options, platform, 'synthesize$', (config) => chunks$(request, config));

/** `events$(request, options)` on `platform`: one session's lifecycle events (see {@link oneShot$}). */
export const eventsOnce$ = (request: SynthesisRequest, options: SisClientOptions, platform: ClientPlatform): Observable<SisEvent> =>
  oneShot$(options, platform, 'events$', (config) => sessionEvents$(request, config));

/**
 * A one-shot call on `platform`: cold, its options checked at subscription (a {@link SisConfigError}
 * arrives as an error notification before any socket is opened). It makes no client: a one-shot would
 * never close one, so it keeps no warm sockets, and it never speaks; so a page that imports only
 * `synthesize$` carries neither the warm pool nor `speak$`.
 */
const oneShot$ = <T>(options: SisClientOptions, platform: ClientPlatform, what: string, run: (config: SessionConfig) => Observable<T>): Observable<T> =>
  defer(() => {
    if (typeof options === 'object' && options !== null && (options as { warm?: unknown }).warm !== undefined) {
      throw new SisConfigError(
        [{ path: 'warm', message: `a one-shot ${what} keeps no warm sockets: create a client with createSisClient({ warm }) and reuse it` }],
        `${what} options`,
      );
    }
    return run(checkedOnce(options, platform));
  });

/** The groups compared by their fields (a fresh `auth: { token }` per call is alike), not by identity. */
const NESTED = new Set(['auth', 'timeouts', 'limits']);
/** Stands in a field list for a group's object, whose own fields follow it. */
const GROUP = Symbol('group');

const isGroup = (key: string, value: unknown): value is object => NESTED.has(key) && typeof value === 'object' && value !== null;

/**
 * An options object's fields, one level into its groups, flat: `[depth, key, value, depth, key, value, …]`
 * (`for…in` order; a group's fields right after it, the group itself as {@link GROUP}).
 */
const fieldsOf = (options: object): unknown[] => {
  const fields: unknown[] = [];
  for (const key in options) {
    const value: unknown = (options as Record<string, unknown>)[key];
    if (!isGroup(key, value)) {
      fields.push(0, key, value);
      continue;
    }
    fields.push(0, key, GROUP);
    for (const inner in value) fields.push(1, inner, (value as Record<string, unknown>)[inner]);
  }
  return fields;
};

/** Whether `options` has exactly these fields (see {@link fieldsOf}) with the same values (`Object.is`); allocates nothing. */
const hasFields = (options: object, fields: readonly unknown[]): boolean => {
  let i = 0;
  for (const key in options) {
    const value: unknown = (options as Record<string, unknown>)[key];
    const group = isGroup(key, value);
    if (fields[i] !== 0 || fields[i + 1] !== key || !Object.is(fields[i + 2], group ? GROUP : value)) return false;
    i += 3;
    if (!group) continue;
    for (const inner in value) {
      if (fields[i] !== 1 || fields[i + 1] !== inner || !Object.is(fields[i + 2], (value as Record<string, unknown>)[inner])) return false;
      i += 3;
    }
  }
  return i === fields.length;
};

/** The options a one-shot was last called with (newest first), each with its checked config. */
const recent: { readonly platform: ClientPlatform; readonly fields: readonly unknown[]; readonly config: SessionConfig }[] = [];
const RECENT = 4;

/**
 * `resolveOptions`, once for options alike: a one-shot called in a loop (the usual way: with the same
 * options object, or a literal written in the call) would otherwise check them on every session (8 KB
 * and 11 µs each, some 0.1 ms of time to first audio). Alike means the same fields with the same values
 * (`Object.is`), one level into `auth`, `timeouts` and `limits`, as one of the last four options checked:
 * a token rotated by mutating the options object is seen, and checked, at the next call.
 */
export const checkedOnce = (options: SisClientOptions, platform: ClientPlatform, resolve = resolveOptions): SessionConfig => {
  if (typeof options !== 'object' || options === null) return resolve(options, platform);
  for (let i = 0; i < recent.length; i++) {
    const entry = recent[i];
    if (entry === undefined || entry.platform !== platform || !hasFields(options, entry.fields)) continue;
    if (i > 0) recent.unshift(...recent.splice(i, 1));
    return entry.config;
  }
  const config = resolve(options, platform);
  recent.unshift({ platform, fields: fieldsOf(options), config });
  recent.length = Math.min(recent.length, RECENT);
  return config;
};
