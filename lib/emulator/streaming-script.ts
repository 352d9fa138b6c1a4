/**
 * What a streaming session sends, built as the text arrives: the START response, each sentence's
 * audio, the END response, and EVENT notices; and the connection's fault, struck where its point lies
 * in that stream. The frames and the fault actions are real-time synthesis's (script.ts); only the
 * timing differs: a point is reached when the text gets there, after whatever was queued before it.
 */
import type { SynthesizedAudio } from './audio/synthesize.js';
import type { FaultPoint, PointFault, SessionFault } from './faults.js';
import {
  endStep,
  errorStep,
  faultError,
  grace,
  isFrame,
  json,
  outOfOrder,
  resultStep,
  runAction,
  startStep,
  type ScriptSettings,
  type Step,
  type TextStep,
} from './script.js';

/** What a fault that struck leaves of the session. */
export type Aftermath =
  | 'goes-on' // the session carries on (unknown-type, trickle, oversized, flood, out-of-order)
  | 'reset' // an ERROR: back to the initial state
  | 'ended' // END was sent: later commands get EVENT VCS_END
  | 'over'; // the server closes, stalls or sent garbage: nothing the client sends matters any more

/** Steps to queue, and what they leave of the session. */
export interface Emitted {
  readonly steps: readonly Step[];
  readonly aftermath: Aftermath;
}

/** An EVENT notice: a command was ignored, the session goes on. */
export const eventStep = (s: ScriptSettings, event: string): TextStep => ({
  kind: 'text',
  data: json({ resp_type: 'EVENT', trace_id: s.traceId, event, time_stamp: Date.now() }),
});

const goesOn = (steps: readonly Step[]): Emitted => ({ steps, aftermath: 'goes-on' });

const count = (point: FaultPoint, key: 'afterFrames' | 'afterPieces'): number | undefined =>
  typeof point === 'object' && key in point ? (point as Record<typeof key, number>)[key] : undefined;

/** The steps of the syntheses on one connection, and its one fault (it strikes once). */
export class StreamingScript {
  private armed: SessionFault | undefined;
  // A trickle whose point came where no frame was due: it takes the next frame.
  private pendingTrickle: Extract<PointFault, { kind: 'trickle' }> | undefined;
  // Of the current synthesis: audio frames and accepted pieces so far, and the audio's length.
  private frames = 0;
  private pieces = 0;
  private audioMs = 0;

  constructor(private readonly s: ScriptSettings) {}

  /** The connection's fault; it strikes the first time a synthesis reaches its point. */
  arm(fault: SessionFault): void {
    this.armed = fault;
  }

  /** A START was accepted: the START response. */
  start(): Emitted {
    this.frames = 0;
    this.pieces = 0;
    this.audioMs = 0;
    const batch = [startStep(this.s)];
    const fault = this.armed;
    if (fault?.kind === 'out-of-order') {
      this.armed = undefined;
      const { frameBytes } = this.s;
      // No audio exists yet: the frames out of place are made up.
      return goesOn(
        outOfOrder(
          batch,
          fault.what,
          {
            audio: () => ({ kind: 'audio', data: new Uint8Array(frameBytes), atMs: 0 }),
            result: () => resultStep(this.s, { start_time: 0, end_time: 0, text: '' }),
          },
          this.s,
        ),
      );
    }
    return this.strike(batch, (point) =>
      point === 'before-start' ? 0 : point === 'after-start' || count(point, 'afterFrames') === 0 || count(point, 'afterPieces') === 0 ? 1 : undefined,
    );
  }

  /** The n-th accepted MSG arrived: a fault at `{ afterPieces: n }` strikes before its text is synthesised. */
  piece(): Emitted {
    this.pieces++;
    return this.strike([], (point) => (count(point, 'afterPieces') === this.pieces ? 0 : undefined));
  }

  /** A sentence's audio in frames, not before `notBefore` (the think time), after the audio before it. */
  sentence(audio: SynthesizedAudio, notBefore: number): Emitted {
    const { plan, bytes } = audio;
    const durationMs = (plan.totalSamples * 1000) / plan.sampleRate;
    const batch: Step[] = [{ kind: 'anchor', notBefore, atMs: this.audioMs }];
    for (let offset = 0; offset < bytes.length; offset += this.s.frameBytes) {
      batch.push({ kind: 'audio', data: bytes.subarray(offset, offset + this.s.frameBytes), atMs: this.audioMs + (offset / bytes.length) * durationMs });
    }
    const before = this.frames;
    this.frames += batch.length - 1;
    this.audioMs += durationMs;
    return this.strike(batch, (point) => {
      const n = count(point, 'afterFrames');
      // The anchor is step 0, the k-th frame step k.
      return n !== undefined && n > before && n <= this.frames ? n - before + 1 : undefined;
    });
  }

  /** END (or the end of an ONLY text): the END response, then the wait for the client to close. */
  end(): Emitted {
    const batch: Step[] = [endStep(this.s, 'NORMAL', { ending: 'end-normal' }), { kind: 'await-close', graceMs: grace(this.s) }];
    // A count not reached by now is past the last frame or piece: it means 'before-end'.
    const emitted = this.strike(batch, (point) => (point === 'after-end' ? 1 : point === 'before-end' || typeof point === 'object' ? 0 : undefined));
    // An ERROR after END does not bring the session back: it is over for the client.
    return emitted.aftermath === 'reset' && emitted.steps[0] === batch[0] ? { ...emitted, aftermath: 'ended' } : emitted;
  }

  /** Applies the armed fault where `at` finds its point in `batch` (an index; undefined when not in it). */
  private strike(batch: readonly Step[], at: (point: FaultPoint) => number | undefined): Emitted {
    let steps = batch;
    if (this.pendingTrickle !== undefined && steps.some(isFrame)) {
      steps = runAction(this.pendingTrickle, this.s)(steps);
      this.pendingTrickle = undefined;
    }
    const fault = this.armed;
    if (fault === undefined || fault.kind === 'out-of-order') return goesOn(steps);
    const index = at(fault.at);
    if (index === undefined) return goesOn(steps);
    this.armed = undefined;
    const { steps: rest, aftermath } = this.act(fault, steps.slice(index));
    return { steps: [...steps.slice(0, index), ...rest], aftermath };
  }

  private act(fault: PointFault, rest: readonly Step[]): Emitted {
    switch (fault.kind) {
      case 'error':
        return { steps: [errorStep(this.s, faultError(fault))], aftermath: 'reset' };
      case 'end-error':
        return { steps: runAction(fault, this.s)(rest), aftermath: 'ended' };
      case 'fatal':
      case 'drop':
      case 'malformed':
      case 'stall':
        return { steps: runAction(fault, this.s)(rest), aftermath: 'over' };
      case 'trickle':
        if (rest.some(isFrame)) return goesOn(runAction(fault, this.s)(rest));
        this.pendingTrickle = fault;
        return goesOn(rest);
      case 'unknown-type':
      case 'oversized':
      case 'flood':
        return goesOn(runAction(fault, this.s)(rest));
    }
  }
}
