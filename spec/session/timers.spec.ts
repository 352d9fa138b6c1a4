/**
 * SessionTimers in virtual time: every limit reported exactly at its deadline, none after it was
 * stopped, idle counted from the last frame, and one scheduled action for a whole session.
 */
import { expect } from 'chai';
import type { SchedulerAction, SchedulerLike } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Timeouts } from '../../lib/session/options.js';
import { SessionTimers, type TimerName } from '../../lib/session/timers.js';

const TIMEOUTS: Timeouts = { connect: 100, firstAudio: 150, idle: 100, total: 1_000, errorGrace: 10 };

/** A session that records what ran out, and when; its last frame is set by the test. */
const setup = (scheduler: TestScheduler, timeouts: Timeouts = TIMEOUTS) => {
  const out: { name: TimerName; at: number }[] = [];
  let lastFrame = 0;
  let schedules = 0;
  // Counts the timers the session asks the scheduler for (a re-arm of the running one is not a new timer).
  const counting: SchedulerLike = {
    now: () => scheduler.now(),
    schedule: <T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T) => {
      schedules += 1;
      return scheduler.schedule(work, delay, state);
    },
  };
  const timers = new SessionTimers(counting, timeouts, {
    idleLeft: () => lastFrame + timeouts.idle - scheduler.now(),
    timedOut: (name) => out.push({ name, at: scheduler.now() }),
  });
  const at = (frame: number, run: () => void) => scheduler.schedule(run, frame);
  return { timers, out, at, frame: (time: number) => (lastFrame = time), schedules: () => schedules };
};

describe('SessionTimers', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('reports a limit exactly at its deadline, and one stopped before it never', () => {
    scheduler.run(({ flush }) => {
      const { timers, out, at } = setup(scheduler);
      timers.start('connect');
      at(40, () => {
        timers.stop('connect');
        timers.start('firstAudio');
      });
      flush();
      expect(out).to.deep.equal([{ name: 'firstAudio', at: 190 }]);
    });
  });

  it('counts idle from the last frame: frames push it back without a new timer', () => {
    scheduler.run(({ flush }) => {
      const { timers, out, at, frame, schedules } = setup(scheduler);
      timers.start('idle');
      for (const time of [30, 90, 170]) at(time, () => frame(time));
      flush();
      expect(out).to.deep.equal([{ name: 'idle', at: 270 }]);
      expect(schedules()).to.equal(1);
    });
  });

  it('arms one timer for a whole session: connect, first audio, idle and total, started and stopped in turn', () => {
    scheduler.run(({ flush }) => {
      const { timers, out, at, schedules } = setup(scheduler);
      timers.start('total');
      timers.start('connect');
      at(20, () => {
        timers.stop('connect');
        timers.start('firstAudio');
      });
      at(60, () => {
        timers.stop('firstAudio');
        timers.start('idle');
      });
      at(80, () => timers.clear());
      flush();
      expect(out).to.deep.equal([]);
      // total's deadline was armed first; connect's, earlier, once more.
      expect(schedules()).to.equal(2);
    });
  });

  it('re-arms for the limit left after one that did not end the session, and starts none for Infinity', () => {
    scheduler.run(({ flush }) => {
      const { timers, out } = setup(scheduler, { ...TIMEOUTS, connect: Infinity });
      timers.start('connect');
      timers.start('errorGrace');
      timers.start('total');
      flush();
      expect(out).to.deep.equal([
        { name: 'errorGrace', at: 10 },
        { name: 'total', at: 1_000 },
      ]);
      expect(timers.has('connect')).to.equal(false);
    });
  });

  it('reports limits that run out at the same moment in a fixed order, one per wake', () => {
    scheduler.run(({ flush }) => {
      const { timers, out } = setup(scheduler, { ...TIMEOUTS, connect: 50, total: 50 });
      timers.start('total');
      timers.start('connect');
      flush();
      expect(out).to.deep.equal([
        { name: 'connect', at: 50 },
        { name: 'total', at: 50 },
      ]);
    });
  });

  it('restarts a running limit from now when it is started again', () => {
    scheduler.run(({ flush }) => {
      const { timers, out, at } = setup(scheduler);
      timers.start('firstAudio');
      at(100, () => timers.start('firstAudio'));
      flush();
      expect(out).to.deep.equal([{ name: 'firstAudio', at: 250 }]);
    });
  });
});
