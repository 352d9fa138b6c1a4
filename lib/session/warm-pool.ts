/**
 * Warm connections: sockets whose handshake (and authentication) is done and which have not sent
 * START yet, kept ready so that a session skips the handshake. A connection carries one synthesis,
 * so a warm socket is taken once and never returned (protocol.md §1).
 *
 *   connecting ──open──▶ warm ──take──▶ (the session's)
 *       │                  │
 *       │                  ├── older than maxIdleMs ──▶ closed (1000), replaced      (expired)
 *       │                  └── closed or failed while idle ──▶ dropped, replaced     (lost)
 *       └── rejected / failed ──▶ dropped; refills back off (250 ms doubling to 30 s) (failed)
 *
 * A taken socket whose first frame is the server's idle close (it crossed the START) is reported to
 * its session as a close, which the session answers with its one transparent reconnect.
 *
 * After each take (once the taker has its START response, or is over), and after each socket
 * leaves, the pool refills in the background to `size` (warm + connecting). Idle warm sockets and the pool's timers do not keep a Node process alive.
 */
import { asyncScheduler, Subscription, type SchedulerLike } from 'rxjs';
import { authHeaders$, tokenInvalidator } from '../auth/token.js';
import { decodeServerFrame } from '../protocol/decode.js';
import { isRight } from '../protocol/either.js';
import type { SocketListener, TransportFailure, WebSocketLike } from '../transport/websocket-like.js';
import type { SessionConfig } from './options.js';
import { connectRequest, credentialsFailure, factoryFailure, type OpeningSession } from './socket-opener.js';

/** How many sockets to keep warm, and for how long. */
export interface WarmOptions {
  /** Sockets kept warm per API path (real-time; streaming once a streaming speech has run or been prewarmed). */
  readonly size: number;
  /**
   * A warm socket older than this (ms) is closed and replaced. Default 15,000: below the ~20 s after
   * which the service closes a connection that has not sent START.
   */
  readonly maxIdleMs?: number | undefined;
}

/** What the warm pools did so far (sums over the real-time and streaming paths). */
export interface WarmStats {
  /** Sockets open and waiting to be taken. */
  readonly warm: number;
  /** Sockets being opened for the pool. */
  readonly connecting: number;
  /** Sessions that took a warm socket. */
  readonly hits: number;
  /** Sessions that found none and connected themselves. */
  readonly misses: number;
  /** Warm sockets closed for being older than `maxIdleMs`. */
  readonly expired: number;
  /** Warm sockets the server or the network closed while they waited. */
  readonly lost: number;
  /** Connects of the pool that failed (handshake rejected, network, credentials). */
  readonly failed: number;
  /** The wait before the next refill after failed connects (0: no back-off). */
  readonly backoffMs: number;
}

export const DEFAULT_MAX_IDLE_MS = 15_000;
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 30_000;

/**
 * A timer that does not keep the process alive. With the default scheduler it is an unref'd
 * `setTimeout`; with any other (a `TestScheduler`), the scheduler's own, so tests run in virtual time.
 */
const backgroundTimer = (scheduler: SchedulerLike, ms: number, run: () => void): Subscription => {
  if (scheduler !== asyncScheduler) return scheduler.schedule(run, ms);
  const handle = setTimeout(run, ms);
  // Node's timer can be unref'd; a page's is a number, and a page has no process to keep alive.
  (handle as { unref?: () => void }).unref?.();
  return new Subscription(() => clearTimeout(handle));
};

/** The service's close of a connection that sent nothing for ~20 s: FATAL_ERROR SIS.0304 (protocol.md §1). */
const isIdleClose = (data: string | Uint8Array): boolean => {
  if (typeof data !== 'string' || !data.includes('SIS.0304')) return false;
  const decoded = decodeServerFrame(data);
  return isRight(decoded) && decoded.right.known && decoded.right.response.resp_type === 'FATAL_ERROR' && decoded.right.response.error_code === 'SIS.0304';
};

type SlotState = 'connecting' | 'warm' | 'taken' | 'gone';

/** A socket handed to a session: already open, or still connecting (the session then waits for its `onOpen`). */
export interface Taken {
  readonly open: boolean;
  /** The socket; undefined while an adopted connect still waits for its credentials. */
  socket(): WebSocketLike | undefined;
  /** The session ended: an adopted connect still waiting for its credentials opens nothing any more. */
  release(): void;
}

const releaseSlot = (slot: Slot): void => {
  slot.credentials?.unsubscribe();
  slot.owner = undefined;
  slot.state = 'gone';
};

/** One socket of the pool: its listener until a session takes it, then a relay to that session. */
class Slot implements SocketListener {
  state: SlotState = 'connecting';
  socket: WebSocketLike | undefined;
  owner: OpeningSession | undefined;
  openedAt = 0;
  expiry: Subscription | undefined;
  credentials: Subscription | undefined;
  refreshed = false;
  /** A frame has reached the owner: past the START response, or past a frame that was not the idle close. */
  private answered = false;

  constructor(private readonly pool: WarmPool) {}

  onOpen(): void {
    // Adopted while connecting: the session was waiting for this open.
    if (this.owner !== undefined) return this.owner.onOpen();
    if (this.state === 'connecting') this.pool.warmed(this);
  }
  onMessage(data: string | Uint8Array): void {
    const { owner } = this;
    if (owner !== undefined) {
      if (!this.answered && isIdleClose(data)) return this.crossedByIdleClose(owner);
      this.answered = true;
      return owner.onMessage(data);
    }
    // Nothing is owed before START: a frame now means the connection is not what we think it is.
    if (this.state === 'warm') this.pool.lost(this, true);
  }
  onActivity(): void {
    this.owner?.onActivity();
  }
  onClose(code: number, reason: string): void {
    if (this.owner !== undefined) return this.owner.onClose(code, reason);
    if (this.state === 'warm') this.pool.lost(this, false);
    else if (this.state === 'connecting') this.pool.connectFailed(this, undefined);
  }
  onError(failure: TransportFailure): void {
    if (this.owner !== undefined) return this.owner.onError(failure);
    if (this.state === 'warm') this.pool.lost(this, false);
    else if (this.state === 'connecting') this.pool.connectFailed(this, failure);
  }

  /**
   * The server's idle close (FATAL_ERROR SIS.0304, then its close) crossed the START of the session
   * that took this socket: the service never took the request. The session is told of a close, which
   * it answers with its one transparent reconnect, and hears nothing more from this socket.
   */
  private crossedByIdleClose(owner: OpeningSession): void {
    this.owner = undefined;
    this.state = 'gone';
    this.socket?.close(1000);
    owner.onClose(1000, 'the service closed the idle connection as START was sent (SIS.0304)');
  }
}

interface Waiter {
  readonly count: number;
  readonly resolve: (ready: number) => void;
}

/** The warm sockets of one URL (the real-time or the streaming path). */
export class WarmPool {
  /** Connecting and warm slots: what counts against `size`. */
  private readonly slots = new Set<Slot>();
  /** Warm slots, oldest first; a session takes the youngest. */
  private readonly warm: Slot[] = [];
  private readonly waiters: Waiter[] = [];
  private failures = 0;
  private backoff: Subscription | undefined;
  private closed = false;
  readonly counts = { hits: 0, misses: 0, expired: 0, lost: 0, failed: 0, backoffMs: 0 };

  constructor(
    private readonly config: SessionConfig,
    private readonly url: string,
    private readonly size: number,
    private readonly maxIdleMs: number,
    /** On a miss, hand over a socket still connecting rather than let the session connect itself. */
    private readonly adoptConnecting = false,
  ) {}

  /**
   * A warm socket for `owner`, which from now on gets its events (the socket is already open: the
   * owner proceeds as after `onOpen`, then calls {@link refill} once START is answered); with `adoptConnecting`, one still
   * connecting (its `onOpen` reaches the owner); undefined when none is ready (a miss: connect yourself).
   */
  take(owner: OpeningSession): Taken | undefined {
    const now = this.config.scheduler.now();
    for (let slot = this.warm.pop(); slot !== undefined; slot = this.warm.pop()) {
      // The expiry timer may not have run yet (a busy event loop): the age is checked again here.
      if (now - slot.openedAt >= this.maxIdleMs) {
        this.expire(slot);
        continue;
      }
      slot.expiry?.unsubscribe();
      slot.socket?.ref?.();
      // No refill here: the taker sends START first and calls refill() once it is answered (a connect
      // started now would delay that START, and compete with the service's answer, for a fresh socket).
      return this.hand(slot, owner, true);
    }
    const connecting = this.adoptConnecting ? this.oldestConnecting() : undefined;
    if (connecting !== undefined) {
      // Its connect started before this session's would: the session waits for it instead.
      if (owner.isPaused()) connecting.socket?.pause?.();
      const taken = this.hand(connecting, owner, false);
      this.refill();
      return taken;
    }
    this.counts.misses += 1;
    this.refill();
    return undefined;
  }

  /** Gives a slot to its session for good: it no longer counts against `size`. */
  private hand(slot: Slot, owner: OpeningSession, open: boolean): Taken {
    this.slots.delete(slot);
    slot.state = 'taken';
    slot.owner = owner;
    this.counts.hits += 1;
    return { open, socket: () => slot.socket, release: () => releaseSlot(slot) };
  }

  private oldestConnecting(): Slot | undefined {
    for (const slot of this.slots) if (slot.state === 'connecting') return slot;
    return undefined;
  }

  /** Resolves with the number of warm sockets once `count` are warm, or once the connects under way are over. */
  prewarm(count: number): Promise<number> {
    this.refill();
    return new Promise((resolve) => {
      this.waiters.push({ count, resolve });
      this.settleWaiters();
    });
  }

  stats(): WarmStats {
    return { warm: this.warm.length, connecting: this.slots.size - this.warm.length, ...this.counts };
  }

  /** Closes the warm sockets, abandons the connects and stops refilling. Taken sockets are their sessions'. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.backoff?.unsubscribe();
    this.backoff = undefined;
    for (const slot of [...this.slots]) this.discard(slot);
    this.settleWaiters();
  }

  // ---- the slots' reports --------------------------------------------------------------------------

  warmed(slot: Slot): void {
    if (this.closed) return this.discard(slot);
    slot.state = 'warm';
    slot.openedAt = this.config.scheduler.now();
    this.failures = 0;
    this.counts.backoffMs = 0;
    slot.socket?.unref?.();
    slot.expiry = backgroundTimer(this.config.scheduler, this.maxIdleMs, () => this.expire(slot));
    this.warm.push(slot);
    this.settleWaiters();
  }

  /** A warm socket closed, failed or spoke while idle: it leaves at once and is replaced. */
  lost(slot: Slot, stillOpen: boolean): void {
    this.counts.lost += 1;
    if (stillOpen) this.discard(slot);
    else this.forget(slot);
    this.refill();
  }

  connectFailed(slot: Slot, failure: TransportFailure | undefined): void {
    if (this.closed) return this.discard(slot);
    if (failure?.kind === 'handshake-rejected' && failure.status === 401 && !slot.refreshed) {
      // A cached token went stale: drop it and try once more, as a session does.
      const invalidate = tokenInvalidator(this.config.auth);
      if (invalidate !== undefined) {
        slot.refreshed = true;
        slot.socket?.terminate();
        slot.socket = undefined;
        invalidate();
        return this.open(slot);
      }
    }
    this.discard(slot);
    this.counts.failed += 1;
    // The connects that fail while a wait runs were made in the same round: the wait doubles per round, not per connect.
    if (this.backoff !== undefined) return this.settleWaiters();
    this.failures += 1;
    this.counts.backoffMs = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(this.failures - 1, 16));
    this.backoff = backgroundTimer(this.config.scheduler, this.counts.backoffMs, () => {
      this.backoff = undefined;
      this.refill();
    });
    this.settleWaiters();
  }

  // ---- inside --------------------------------------------------------------------------------------

  /** Opens sockets until `size` are warm or connecting (unless closed or backing off). */
  refill(): void {
    while (!this.closed && this.backoff === undefined && this.slots.size < this.size) {
      const slot = new Slot(this);
      this.slots.add(slot);
      this.open(slot);
    }
  }

  private open(slot: Slot): void {
    const { config } = this;
    slot.credentials?.unsubscribe();
    slot.credentials = authHeaders$(config.auth, this.url).subscribe({
      next: (headers) => {
        if (slot.state === 'gone' || slot.state === 'warm') return;
        try {
          slot.socket = config.webSocketFactory(connectRequest(config, this.url, headers, 'pool'), slot);
          if (slot.owner?.isPaused() === true) slot.socket.pause?.();
        } catch (cause) {
          if (slot.owner !== undefined) return slot.owner.fail(factoryFailure(cause));
          this.connectFailed(slot, undefined);
        }
      },
      error: (error: unknown) => {
        if (slot.owner === undefined) return this.connectFailed(slot, undefined);
        slot.owner.fail(credentialsFailure(error));
      },
    });
  }

  private expire(slot: Slot): void {
    if (slot.state !== 'warm') return;
    this.counts.expired += 1;
    this.discard(slot);
    this.refill();
  }

  /** Closes a slot's socket (1000 if open, else aborted) and forgets it. */
  private discard(slot: Slot): void {
    const { socket, state } = slot;
    this.forget(slot);
    if (socket === undefined) return;
    if (state === 'warm') socket.close(1000);
    else socket.terminate();
  }

  private forget(slot: Slot): void {
    slot.state = 'gone';
    slot.expiry?.unsubscribe();
    slot.credentials?.unsubscribe();
    this.slots.delete(slot);
    const at = this.warm.indexOf(slot);
    if (at >= 0) this.warm.splice(at, 1);
    this.settleWaiters();
  }

  private settleWaiters(): void {
    const ready = this.warm.length;
    const connecting = this.slots.size - ready;
    for (let i = this.waiters.length - 1; i >= 0; i -= 1) {
      const waiter = this.waiters[i];
      if (waiter === undefined || (ready < waiter.count && connecting > 0 && !this.closed)) continue;
      this.waiters.splice(i, 1);
      waiter.resolve(ready);
    }
  }
}

/** The pools of one client: the real-time path's from the start, the streaming path's from its first use. */
export class WarmPools {
  private readonly pools = new Map<string, WarmPool>();
  private closed = false;

  constructor(
    private readonly config: SessionConfig,
    private readonly options: { readonly size: number; readonly maxIdleMs: number; readonly adoptConnecting?: boolean },
  ) {}

  /** The pool of `url`, created (and filling) on first use; undefined once closed. */
  get(url: string): WarmPool | undefined {
    if (this.closed) return undefined;
    let pool = this.pools.get(url);
    if (pool === undefined) {
      pool = new WarmPool(this.config, url, this.options.size, this.options.maxIdleMs, this.options.adoptConnecting === true);
      this.pools.set(url, pool);
      pool.refill();
    }
    return pool;
  }

  stats(): WarmStats {
    const sum = { warm: 0, connecting: 0, hits: 0, misses: 0, expired: 0, lost: 0, failed: 0, backoffMs: 0 };
    for (const pool of this.pools.values()) {
      const stats = pool.stats();
      for (const key of Object.keys(sum) as (keyof WarmStats)[]) sum[key] = key === 'backoffMs' ? Math.max(sum[key], stats[key]) : sum[key] + stats[key];
    }
    return sum;
  }

  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) pool.close();
  }
}
