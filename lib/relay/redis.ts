/**
 * `rx-sis-tts/relay/redis`: the relay's limits in Redis, so that a fleet of relays holds one user to one
 * limit (two sessions at most, say, whichever relays they reach). The app makes the ioredis client and
 * passes it in; this module only imports ioredis's types.
 *
 * ```
 * Redis, under keyPrefix (default 'rx-sis-tts:relay:')
 *   slots:<key>               sorted set: one member per slot held, scored by when it expires (Redis time)
 *   window:<windowMs>:<key>   integer: what was counted in the current window; expires with the window
 *
 * acquire(key, max) ─ script: drop expired slots; fewer than max? add one ─────▶ true  (slot id kept here)
 *                                                                    └─ no ───▶ false (nothing added)
 * release(key) ────── ZREM one slot id this store took ─ none held: nothing to give back (never below zero)
 * consume(key, n, max, windowMs) ─ script: used + n ≤ max? count n (a new window
 *                                  starts at its first count) ─────────────────▶ true / false (nothing counted)
 * close() ─────────── gives back every slot still held; quits the client only with closeClient
 * ```
 *
 * Why hand-written scripts rather than rate-limiter-flexible's `RateLimiterRedis`: its increment counts a
 * refused consume (`INCRBY` before comparing, so one oversized request spends the rest of a user's window),
 * its `reward` at zero goes negative (one more slot than `max`), its windows are whole seconds (under 1 s the
 * counter never expires), and a key's expiry is fixed at creation, so a slot count would reset an hour after a
 * busy user's first session while their sessions still run. The documented fix, `customIncrTtlLuaScript`, is
 * installed as `rlflxIncr` on the client itself and would replace the script of any limiter the app runs on the
 * same client. Two scripts of a few lines, atomic in Redis, keep every rule of {@link RelayLimitStore}.
 *
 * A slot is a member with its own expiry, not a shared counter: a slot held by a relay that crashed expires
 * `sessionTtlMs` after it was taken even while the user keeps other relays busy.
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { boolean, check, isObject, objectProblems, optional, positiveInteger, unknownKeyProblems } from '../checks.js';
import { SisConfigError, SisConnectionError, type Problem } from '../errors.js';
import { checkStoreCall, type RelayLimitStore } from './store.js';

/** Options of {@link redisLimitStore}. */
export interface RedisLimitStoreOptions {
  /** An ioredis client (or cluster) the app made and connected; the app owns it unless `closeClient`. */
  readonly redis: Redis | Cluster;
  /** Put before every key this store writes, to share a Redis with other data (default `'rx-sis-tts:relay:'`). */
  readonly keyPrefix?: string | undefined;
  /**
   * How long a slot lives if it is never given back (its relay crashed), in ms (default 1 hour). Make it
   * longer than the longest session: a slot older than this stops counting.
   */
  readonly sessionTtlMs?: number | undefined;
  /** `close()` also quits the client (default `false`: the app owns it). */
  readonly closeClient?: boolean | undefined;
  /**
   * How long a call waits for Redis, in ms (default 1000), before it rejects with a
   * {@link SisConnectionError}: a Redis that is down or stuck never holds a session waiting.
   */
  readonly timeoutMs?: number | undefined;
}

const DEFAULT_KEY_PREFIX = 'rx-sis-tts:relay:';
const DEFAULT_SESSION_TTL_MS = 60 * 60 * 1000;
const DEFAULT_TIMEOUT_MS = 1000;

// Redis time, so that every relay of the fleet ages slots by one clock. Before Redis 5 a script must ask
// for its effects to be replicated before it may write after reading the time; from 7 on that is the rule.
const ACQUIRE = `
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

// A fixed window that starts at its first count (SET NX PX) and that INCRBY leaves running. A key without an
// expiry (written by something else) is given one rather than counting forever.
const CONSUME = `
local amount = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + amount > tonumber(ARGV[2]) then return 0 end
if amount > 0 then
  redis.call('SET', KEYS[1], 0, 'PX', ARGV[3], 'NX')
  redis.call('INCRBY', KEYS[1], amount)
  if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
end
return 1
`;

const OPTION_NAMES = ['redis', 'keyPrefix', 'sessionTtlMs', 'closeClient', 'timeoutMs'];

const aString = check('a string', (value) => typeof value === 'string');
const STORE = 'Redis limit store';

const isRedisClient = (value: unknown): boolean =>
  isObject(value) &&
  typeof (value as { eval?: unknown }).eval === 'function' &&
  typeof (value as { zrem?: unknown }).zrem === 'function' &&
  typeof (value as { status?: unknown }).status === 'string';

const optionProblems = (options: unknown): Problem[] => {
  const shape = "{ redis: new Redis(url), keyPrefix?: 'rx-sis-tts:relay:' }";
  if (!isObject(options)) return objectProblems('options', options, shape);
  const { redis, keyPrefix, sessionTtlMs, closeClient, timeoutMs } = options as Record<string, unknown>;
  return [
    ...unknownKeyProblems(options, OPTION_NAMES),
    ...check("an ioredis client (new Redis(url) from 'ioredis')", isRedisClient)('redis', redis),
    ...optional(aString)('keyPrefix', keyPrefix),
    ...optional(positiveInteger)('sessionTtlMs', sessionTtlMs),
    ...optional(boolean)('closeClient', closeClient),
    ...optional(positiveInteger)('timeoutMs', timeoutMs),
  ];
};

/** The reason Redis gave, which names no secret (ioredis reports `ECONNREFUSED 127.0.0.1:6379`, `NOAUTH …`). */
const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : 'an error that is not an Error');

/** The store: one class, the held slots its only state, `close()` its one teardown. */
class RedisLimitStore implements RelayLimitStore {
  private readonly redis: Redis | Cluster;
  private readonly prefix: string;
  private readonly sessionTtlMs: number;
  private readonly closeClient: boolean;
  private readonly timeoutMs: number;
  /** The ids of the slots this store took and has not given back, per key: what `release` may remove. */
  private readonly held = new Map<string, string[]>();
  private closed = false;

  constructor(options: RedisLimitStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.sessionTtlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.closeClient = options.closeClient ?? false;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async acquire(key: string, max: number): Promise<boolean> {
    checkStoreCall(STORE, 'acquire', { key, max });
    this.failIfClosed('acquire');
    const id = randomUUID();
    const slots = this.slotsKey(key);
    const taken = await this.ask(
      'acquire a slot',
      this.redis.eval(ACQUIRE, 1, slots, max, this.sessionTtlMs, id),
      // The caller was told "unavailable" and will not release: a slot taken after all is given back.
      (result) => {
        if (result === 1) this.redis.zrem(slots, id).catch(() => undefined);
      },
    );
    if (taken !== 1) return false;
    if (this.closed) {
      // close() gave back what was held while this was on its way: this slot would outlive the store.
      await this.redis.zrem(slots, id).catch(() => undefined);
      return false;
    }
    this.held.set(key, [...(this.held.get(key) ?? []), id]);
    return true;
  }

  /**
   * A Redis that fails never makes it reject: a slot Redis could not be told about expires after
   * `sessionTtlMs`, and the {@link SisConnectionError} is still published on the library's error channel
   * (`ERROR_CHANNEL`) for the app's logs.
   */
  async release(key: string): Promise<void> {
    checkStoreCall(STORE, 'release', { key });
    const ids = this.held.get(key);
    const id = ids?.pop();
    if (ids === undefined || id === undefined) return;
    if (ids.length === 0) this.held.delete(key);
    await this.ask('give back a slot', this.redis.zrem(this.slotsKey(key), id)).catch(() => undefined);
  }

  async consume(key: string, amount: number, max: number, windowMs: number): Promise<boolean> {
    checkStoreCall(STORE, 'consume', { key, amount, max, windowMs });
    this.failIfClosed('consume');
    const counted = await this.ask('count against a budget', this.redis.eval(CONSUME, 1, `${this.prefix}window:${windowMs}:${key}`, amount, max, windowMs));
    return counted === 1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const held = [...this.held];
    this.held.clear();
    // Slots left when the relay stops would block their users across the fleet until they expire.
    await Promise.all(held.map(([key, ids]) => this.ask('give back the slots still held', this.redis.zrem(this.slotsKey(key), ...ids)).catch(() => undefined)));
    if (this.closeClient) await this.quit();
  }

  private slotsKey(key: string): string {
    return `${this.prefix}slots:${key}`;
  }

  private failIfClosed(what: string): void {
    if (this.closed) throw new SisConnectionError(`the Redis limit store cannot ${what}: it was closed (store.close()); make a new one`);
  }

  /**
   * The command's answer, or a {@link SisConnectionError} when Redis fails it or does not answer within
   * `timeoutMs` (ioredis queues commands while it reconnects: without a limit, a session would wait for
   * as long as Redis is down). `late` sees an answer that came after the caller was given up on.
   */
  private async ask<T>(what: string, command: Promise<T>, late?: (result: T) => void): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(
          new SisConnectionError(
            `Redis did not answer within ${this.timeoutMs} ms when the relay tried to ${what} (status ${this.redis.status}): check that Redis is up and reachable, or raise timeoutMs`,
          ),
        );
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([command, timeout]);
    } catch (error) {
      if (timedOut) throw error;
      throw new SisConnectionError(`Redis failed when the relay tried to ${what}: ${reasonOf(error)}; check that Redis is up and reachable`, { cause: error });
    } finally {
      clearTimeout(timer);
      if (timedOut && late !== undefined) command.then(late, () => undefined);
    }
  }

  /**
   * Quits politely when Redis answers, otherwise (down, stuck) drops the connection, which stops ioredis
   * reconnecting; resolves once the client has ended (or `timeoutMs` later).
   */
  private async quit(): Promise<void> {
    if (this.redis.status === 'end') return;
    const ended = new Promise<void>((resolve) => this.redis.once('end', () => resolve()));
    const quitted =
      this.redis.status === 'ready' &&
      (await this.ask('quit', this.redis.quit()).then(
        () => true,
        () => false,
      ));
    if (!quitted) this.redis.disconnect();
    await this.ask('close its connection', ended).catch(() => undefined);
  }
}

/**
 * A {@link RelayLimitStore} in Redis, for a fleet of relays: every relay given a store on the same Redis
 * shares each user's concurrent slots and budgets. Calls reject with a {@link SisConnectionError}
 * (retryable) when Redis fails or does not answer within `timeoutMs`: the relay then refuses the session
 * (503) rather than let it through unlimited.
 * @throws {SisConfigError} naming every bad option.
 * @example
 * import { Redis } from 'ioredis';
 * const redis = new Redis(process.env.REDIS_URL);
 * redis.on('error', (error) => log.warn(error)); // ioredis reconnects by itself
 * const limits = redisLimitStore({ redis });
 */
export const redisLimitStore = (options: RedisLimitStoreOptions): RelayLimitStore => {
  const problems = optionProblems(options);
  if (problems.length > 0) throw new SisConfigError(problems, 'Redis limit store options');
  return new RedisLimitStore(options);
};

export type { RelayLimitStore } from './store.js';
