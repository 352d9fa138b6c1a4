/**
 * The time limits of one session (`Timeouts`), shared by the real-time session and the streaming
 * speech, on the session's scheduler (virtual time in marble tests).
 *
 * One timer for all of them: starting a limit records its deadline, stopping it forgets the
 * deadline, and a single scheduled action is kept armed no later than the nearest deadline. When it
 * fires it looks at the deadlines: one that has passed is reported, the others re-arm it. A limit
 * started and stopped before its time (connect, first audio: the common case) thus costs two
 * assignments, not a timer of its own created and cancelled; a session sets and clears one timer.
 * The idle limit is re-armed lazily the same way: a frame only records its time (`idleLeft`), and the
 * deadline is checked against it when reached.
 *
 * On RxJS's default `asyncScheduler` the one timer is the host's own `setTimeout` (Node's or the
 * page's): the scheduler's action wraps that same call in a subscription and a `setInterval`, which is
 * a third of what a session's setup costs before its socket is asked for. Any other scheduler (a
 * `TestScheduler`) gets its own action, so marble tests run in virtual time.
 */
import { asyncScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import type { Timeouts } from './options.js';

export type TimerName = keyof Timeouts;

/** What the timers ask of their session. */
export interface TimedSession {
  /** Milliseconds left before the idle limit is reached, from the last frame. */
  idleLeft(): number;
  /** A limit ran out (it is no longer running). */
  timedOut(name: TimerName): void;
}

/** The order limits are reported in when several run out at the same moment. */
const NAMES: readonly TimerName[] = ['connect', 'firstAudio', 'idle', 'errorGrace', 'total'];

// Module-level bodies: the timer carries its timers as state instead of a closure each.
function wake(this: SchedulerAction<SessionTimers>, timers?: SessionTimers): void {
  timers?.woke(this);
}
const wakeHost = (timers: SessionTimers): void => timers.woke(undefined);

export class SessionTimers {
  /** When each limit runs out, on the scheduler's clock; NaN: not running. (A fixed shape, lighter than a Map.) */
  private readonly deadlines: Record<TimerName, number> = {
    connect: Number.NaN,
    firstAudio: Number.NaN,
    idle: Number.NaN,
    errorGrace: Number.NaN,
    total: Number.NaN,
  };
  /** The one timer (the host's on the default scheduler, else the scheduler's action), and the time it is due. */
  private host: ReturnType<typeof setTimeout> | undefined;
  private action: Subscription | undefined;
  private due = Number.POSITIVE_INFINITY;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly timeouts: Timeouts,
    readonly session: TimedSession,
  ) {}

  /** (Re)starts a limit from now; an `Infinity` limit starts none. */
  start(name: TimerName): void {
    const ms = this.timeouts[name];
    if (ms === Infinity) return this.stop(name);
    const deadline = this.scheduler.now() + ms;
    this.deadlines[name] = deadline;
    if (deadline < this.due) this.arm(deadline);
  }

  /** Stops a limit. The action stays armed: if it fires first, it finds nothing due and re-arms or ends. */
  stop(name: TimerName): void {
    this.deadlines[name] = Number.NaN;
  }

  has(name: TimerName): boolean {
    return !Number.isNaN(this.deadlines[name]);
  }

  /** Stops every limit and the timer: part of the session's teardown. */
  clear(): void {
    for (const name of NAMES) this.deadlines[name] = Number.NaN;
    this.disarm();
  }

  /**
   * The timer fired (`action`: the scheduler's, undefined for the host's): report the first limit
   * that ran out, or re-arm for the nearest one left.
   */
  woke(action: SchedulerAction<SessionTimers> | undefined): void {
    this.host = undefined;
    const now = this.scheduler.now();
    for (const name of NAMES) {
      const deadline = this.deadlines[name];
      if (Number.isNaN(deadline) || deadline > now) continue;
      // Idle counts from the last frame, which may have come since the deadline was set.
      const left = name === 'idle' ? this.session.idleLeft() : 0;
      if (left > 0) {
        this.deadlines[name] = now + left;
        continue;
      }
      this.deadlines[name] = Number.NaN;
      this.action = undefined;
      this.due = Number.POSITIVE_INFINITY;
      this.session.timedOut(name);
      // The session may have ended (teardown cleared everything) or gone on: re-arm for what is left.
      if (this.action === undefined && this.host === undefined) this.rearm(action);
      return;
    }
    this.action = undefined;
    this.due = Number.POSITIVE_INFINITY;
    this.rearm(action);
  }

  /**
   * Re-arms for the nearest deadline, if any: the scheduler's action that just ran is re-scheduled
   * (no new action), the host's timer set anew.
   */
  private rearm(action: SchedulerAction<SessionTimers> | undefined): void {
    const next = this.nearest();
    if (next === undefined) return;
    if (action === undefined) return this.arm(next);
    this.due = next;
    this.action = action.schedule(this, Math.max(0, next - this.scheduler.now()));
  }

  private arm(deadline: number): void {
    this.disarm();
    this.due = deadline;
    const delay = Math.max(0, deadline - this.scheduler.now());
    if (this.scheduler === asyncScheduler) this.host = setTimeout(wakeHost, delay, this);
    else this.action = this.scheduler.schedule(wake, delay, this);
  }

  private disarm(): void {
    if (this.host !== undefined) clearTimeout(this.host);
    this.host = undefined;
    this.action?.unsubscribe();
    this.action = undefined;
    this.due = Number.POSITIVE_INFINITY;
  }

  private nearest(): number | undefined {
    let next: number | undefined;
    for (const name of NAMES) {
      const deadline = this.deadlines[name];
      if (!Number.isNaN(deadline) && (next === undefined || deadline < next)) next = deadline;
    }
    return next;
  }
}
