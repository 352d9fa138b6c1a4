/**
 * Property tests of the session over a fake socket in virtual time (fuzz-harness.ts): whatever the
 * server sends and whenever the subscriber leaves, the session ends once, says nothing after, closes
 * its socket exactly when it should, leaves no timer, and every error is a typed SisError.
 * `FUZZ_RUNS=100000 npm run fuzz` raises the number of runs (2,000 by default).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { SisError } from '../../lib/index.js';
import { action, runScenario, scenario, type Action, type Outcome, type Scenario } from './fuzz-harness.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 2_000);
// Long runs report their progress and are not cut short by mocha's per-test timeout.
const TIMEOUT = Math.max(10_000, RUNS * 5);

const comparable = (outcome: Outcome): unknown => ({
  events: outcome.events.filter((e) => e.type !== 'unknown'),
  cause: outcome.cause,
  terminal:
    outcome.terminal?.kind === 'error' ? { class: outcome.terminal.error.constructor.name, ...withoutPosition(outcome.terminal.error) } : outcome.terminal,
});

// The message and `at` of an error count the frames received, unknown ones included.
const withoutPosition = (error: SisError): Record<string, unknown> => {
  const { message: _message, at: _at, ...rest } = error.toJSON();
  return rest;
};

const UNKNOWN: Action = { kind: 'text', text: JSON.stringify({ resp_type: 'PROGRESS', trace_id: 'x', percent: 50 }) };

describe('fuzzing the session over a fake socket (fast-check, virtual time)', function () {
  this.timeout(TIMEOUT);

  it(`ends exactly once, emits nothing after, closes its socket exactly once and leaves no timer (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        runScenario(s);
      }),
      { numRuns: RUNS },
    );
  });

  it('goes on past frames of an unknown resp_type: inserting them anywhere changes nothing else', () => {
    const withInsertions = fc.tuple(scenario(), fc.array(fc.nat(), { minLength: 1, maxLength: 5 }));
    fc.assert(
      fc.property(withInsertions, ([plain, points]) => {
        // Right before another frame, at the same virtual time: the idle timer cannot tell the difference.
        const frames = plain.actions.flatMap((a, i) => (a.kind === 'text' || a.kind === 'binary' ? [i] : []));
        const at = new Set(points.map((p) => frames[p % Math.max(1, frames.length)]));
        const actions = plain.actions.flatMap((a, i) => (at.has(i) ? [UNKNOWN, a] : [a]));
        const inserted: Scenario = { ...plain, actions };
        expect(comparable(runScenario(inserted))).to.deep.equal(comparable(runScenario(plain)));
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });

  it('completes with every audio byte in order when a well-formed session is followed by anything', () => {
    const body = fc.array(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 6 }).map((data): Action => ({ kind: 'binary', data })),
        fc.constant<Action>({
          kind: 'text',
          text: JSON.stringify({ resp_type: 'RESULT', trace_id: 't', result: [{ start_time: 0, end_time: 10, text: '你' }] }),
        }),
        fc.constant(UNKNOWN),
        fc.constant<Action>({ kind: 'activity' }),
        fc.integer({ min: 0, max: 50 }).map((ms): Action => ({ kind: 'wait', ms })),
      ),
      { maxLength: 12 },
    );
    const tail = fc.array(
      action.filter((a) => a.kind !== 'unsubscribe'),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(body, tail, (middle, after) => {
        const actions: Action[] = [
          { kind: 'open' },
          { kind: 'text', text: JSON.stringify({ resp_type: 'START', trace_id: 't' }) },
          ...middle,
          { kind: 'text', text: JSON.stringify({ resp_type: 'END', trace_id: 't', reason: 'NORMAL' }) },
          ...after,
        ];
        // No time limit: the waits in the body are not the point here.
        const timeouts = { connect: Infinity, firstAudio: Infinity, idle: Infinity, total: Infinity, errorGrace: 10 };
        const outcome = runScenario({ timeouts, flowControl: false, sendThrows: false, leaky: false, leaveOn: null, actions });
        expect(outcome.terminal).to.deep.equal({ kind: 'complete' });
        const sent = middle.flatMap((a) => (a.kind === 'binary' ? Array.from(a.data) : []));
        const received = outcome.events.flatMap((e) => (e.type === 'audio' ? Array.from(e.chunk.data) : []));
        expect(received).to.deep.equal(sent);
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });
});
