/**
 * The relay's counters: concurrent sessions (per user, per relay or fleet) and character budgets
 * (per user per minute), behind one small interface so that a fleet of relays can share them.
 */
import { check, fn, nonNegativeInteger, objectProblems, optional, positiveInteger, unknownKeyProblems } from '../checks.js';
import { SisConfigError } from '../errors.js';

/** Where the relay's per-user and per-relay counters live: in memory (one relay) or shared (a fleet). */
export interface RelayLimitStore {
  /** Takes one of `max` concurrent slots under `key`; resolves false, taking nothing, when all are taken. */
  acquire(key: string, max: number): Promise<boolean>;
  /** Gives back a slot taken by `acquire` (never below zero). */
  release(key: string): Promise<void>;
  /** Counts `amount` against `key`'s budget of `max` per `windowMs` (a fixed or sliding window); resolves false, counting nothing, when it would go over. */
  consume(key: string, amount: number, max: number, windowMs: number): Promise<boolean>;
  /** Frees the store's resources (connections, timers). */
  close(): Promise<void>;
}

/** The in-memory {@link RelayLimitStore}, with a look at its counters (for tests and metrics). */
export interface MemoryLimitStore extends RelayLimitStore {
  /** The slots taken now, per key; keys with none are left out. */
  slots(): ReadonlyMap<string, number>;
}

const aString = check('a string', (value) => typeof value === 'string');

/**
 * Checks the arguments of a store's call, the same for every store: bad ones are the caller's bug, refused
 * before any counter (or Redis) is touched.
 * @throws {SisConfigError} naming each bad argument.
 */
export const checkStoreCall = (store: string, call: 'acquire' | 'release' | 'consume', args: Readonly<Record<string, unknown>>): void => {
  const { key, max, amount, windowMs } = args;
  const problems = [
    ...aString('key', key),
    ...(call === 'release' ? [] : nonNegativeInteger('max', max)),
    ...(call === 'consume' ? [...nonNegativeInteger('amount', amount), ...positiveInteger('windowMs', windowMs)] : []),
  ];
  if (problems.length > 0) throw new SisConfigError(problems, `arguments of the ${store}'s ${call}`);
};

/** Budgets past their window are swept after this many `consume` calls, so that users who left cost nothing. */
const SWEEP_EVERY = 1_024;

const STORE = 'memory limit store';

/**
 * The relay's default {@link RelayLimitStore}: counters in this process (one relay; for a fleet use a
 * shared store, e.g. `redisLimitStore` from `rx-sis-tts/relay/redis`). Budgets use a fixed window that
 * starts at a key's first `consume`. It keeps no timer, so it never keeps a process alive. `now`
 * replaces the clock (ms), for tests.
 * @throws {SisConfigError} for options other than `{ now? }`; its calls reject bad arguments the same way.
 */
export const memoryLimitStore = (options: { readonly now?: (() => number) | undefined } = {}): MemoryLimitStore => {
  const problems = [
    ...objectProblems('options', options, '{ now? }'),
    ...unknownKeyProblems(options, ['now']),
    ...optional(fn('a function returning the time in ms'))('now', options?.now),
  ];
  if (problems.length > 0) throw new SisConfigError(problems, 'memoryLimitStore options');
  const clock = options.now ?? Date.now;
  const taken = new Map<string, number>();
  const budgets = new Map<string, { start: number; used: number; windowMs: number }>();
  let calls = 0;
  const sweep = (now: number): void => {
    for (const [key, budget] of budgets) if (now - budget.start >= budget.windowMs) budgets.delete(key);
  };
  return {
    acquire: async (key, max) => {
      checkStoreCall(STORE, 'acquire', { key, max });
      const count = taken.get(key) ?? 0;
      if (count >= max) return false;
      taken.set(key, count + 1);
      return true;
    },
    release: async (key) => {
      checkStoreCall(STORE, 'release', { key });
      const count = taken.get(key) ?? 0;
      if (count <= 1) taken.delete(key);
      else taken.set(key, count - 1);
    },
    consume: async (key, amount, max, windowMs) => {
      checkStoreCall(STORE, 'consume', { key, amount, max, windowMs });
      const now = clock();
      calls += 1;
      if (calls % SWEEP_EVERY === 0) sweep(now);
      let budget = budgets.get(key);
      if (budget === undefined || now - budget.start >= windowMs) {
        budget = { start: now, used: 0, windowMs };
        budgets.set(key, budget);
      }
      if (budget.used + amount > max) return false;
      budget.used += amount;
      return true;
    },
    close: async () => {
      taken.clear();
      budgets.clear();
    },
    slots: () => new Map(taken),
  };
};
