/**
 * The time limits of one session (`Timeouts`), shared by the real-time session and the streaming
 * speech: at most one timer per limit, on the session's scheduler (virtual time in marble tests).
 * The idle timer is re-armed lazily: a frame only records its time (`idleLeft`), the timer checks
 * the gap when it fires.
 */
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import type { Timeouts } from './options.js';

export type TimerName = keyof Timeouts;

/** What the timers ask of their session. */
export interface TimedSession {
  /** Milliseconds left before the idle limit is reached, from the last frame. */
  idleLeft(): number;
  /** A limit ran out (its timer is already gone). */
  timedOut(name: TimerName): void;
}

interface TimerState {
  readonly timers: SessionTimers;
  readonly name: TimerName;
}

// Module-level timer bodies: a timer carries its session as state instead of a closure each.
function fire(this: SchedulerAction<TimerState>, state?: TimerState): void {
  state?.timers.fired(state.name);
}
function checkIdle(this: SchedulerAction<TimerState>, state?: TimerState): void {
  if (state === undefined) return;
  const left = state.timers.session.idleLeft();
  if (left <= 0) state.timers.fired('idle');
  else this.schedule(state, left);
}

export class SessionTimers {
  private readonly running = new Map<TimerName, Subscription>();

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly timeouts: Timeouts,
    readonly session: TimedSession,
  ) {}

  /** (Re)starts the timer of a limit; an `Infinity` limit starts none. */
  start(name: TimerName): void {
    this.stop(name);
    const ms = this.timeouts[name];
    if (ms !== Infinity) this.running.set(name, this.scheduler.schedule(name === 'idle' ? checkIdle : fire, ms, { timers: this, name }));
  }

  stop(name: TimerName): void {
    this.running.get(name)?.unsubscribe();
    this.running.delete(name);
  }

  has(name: TimerName): boolean {
    return this.running.has(name);
  }

  fired(name: TimerName): void {
    this.running.delete(name);
    this.session.timedOut(name);
  }

  /** Stops every timer: part of the session's teardown. */
  clear(): void {
    for (const timer of this.running.values()) timer.unsubscribe();
    this.running.clear();
  }
}
