/**
 * What a session sends, as a list of steps computed when the START command arrives: the normal
 * script (START, audio with interleaved RESULTs, END), which a fault then rewrites. The session
 * (session.ts) only has the steps played (player.ts); everything about order and content is decided
 * here. The streaming session builds its steps from the same frames and fault actions as the text
 * arrives (streaming-script.ts).
 */
import type { EventResponse } from '../protocol/streaming.js';
import type { EndReason, EndResponse, ErrorResponse, FatalErrorResponse, ResultResponse, StartCommand, StartResponse, SubtitleItem } from '../protocol/wire.js';
import type { SynthesizedAudio } from './audio/synthesize.js';
import type { AudioPlan, Word } from './audio/plan.js';
import type { FaultPoint, PointFault, SessionFault } from './faults.js';
import type { ServiceError } from '../protocol/start-check.js';

/** How a session ended, as kept in its record. */
export type SessionEnding =
  | 'end-normal' // END with reason NORMAL
  | 'end-error' // END with reason ERROR
  | 'error' // an ERROR frame without END (errorThenEnd: false)
  | 'fatal' // FATAL_ERROR, then the server closed
  | 'dropped' // the server closed with a close frame (drop fault)
  | 'reset' // the server destroyed the TCP connection (drop fault, how: 'reset')
  | 'malformed' // a non-JSON frame, then nothing
  | 'stalled' // the server stopped sending and waited for the client
  | 'silent' // the server never answered
  | 'rejected' // the handshake was answered with an HTTP error
  | 'client-closed' // the client closed before the session was over
  | 'emulator-closed'; // emulator.close() ended it

/** What a sent frame means for the session record. */
export interface Outcome {
  readonly ending?: SessionEnding | undefined;
  readonly errorCode?: string | undefined;
}

export type TextStep = { readonly kind: 'text'; readonly data: string; readonly outcome?: Outcome; readonly role?: 'start' | 'end' | 'result' };
export type AudioStep = { readonly kind: 'audio'; readonly data: Uint8Array /** Position of the frame in the audio, in ms. */; readonly atMs: number };

export type Step =
  | TextStep
  | AudioStep
  | { readonly kind: 'wait'; readonly ms: number }
  /**
   * A sentence's audio begins (streaming): wait until `notBefore` (a `performance.now()` time: the think
   * time), and when paced, restart the real-time clock at the audio position `atMs` if it fell behind.
   */
  | { readonly kind: 'anchor'; readonly notBefore: number; readonly atMs: number }
  /** A frame written to the TCP socket `bytesPerTick` bytes every `intervalMs`. */
  | { readonly kind: 'trickle'; readonly frame: TextStep | AudioStep; readonly intervalMs: number; readonly bytesPerTick: number }
  /** One binary frame of `bytes` zero bytes, streamed to the TCP socket as it drains. */
  | { readonly kind: 'oversized'; readonly bytes: number }
  /** `frames` binary frames of `data`, as fast as the socket drains. */
  | { readonly kind: 'flood'; readonly frames: number; readonly data: Uint8Array }
  | { readonly kind: 'close'; readonly code: number; readonly reason: string; readonly outcome?: Outcome }
  | { readonly kind: 'reset' }
  /** Send nothing more; with `graceMs` the server closes if the client has not after that long. */
  | { readonly kind: 'await-close'; readonly graceMs: number | undefined; readonly outcome?: Outcome };

export interface ScriptSettings {
  readonly traceId: string;
  readonly frameBytes: number;
  readonly firstAudioDelayMs: number;
  readonly closeGraceMs: number;
  readonly errorThenEnd: boolean;
  /** The `resp_type` of the `unknown-type` fault when it names none: one the API does not know. */
  readonly unknownRespType: string;
}

// ---- frames, typed by the wire codecs -------------------------------------------------------

export const json = (
  frame: StartResponse | EndResponse | ErrorResponse | FatalErrorResponse | ResultResponse | EventResponse | { resp_type: string; trace_id: string },
): string => JSON.stringify(frame);

export const grace = (s: ScriptSettings): number | undefined => (s.closeGraceMs > 0 ? s.closeGraceMs : undefined);

export const startStep = (s: ScriptSettings): Step => ({ kind: 'text', role: 'start', data: json({ resp_type: 'START', trace_id: s.traceId }) });

export const endStep = (s: ScriptSettings, reason: EndReason, outcome?: Outcome): Step => ({
  kind: 'text',
  role: 'end',
  data: json({ resp_type: 'END', trace_id: s.traceId, reason }),
  ...(outcome === undefined ? {} : { outcome }),
});

/** The ERROR frame alone. */
export const errorStep = (s: ScriptSettings, error: ServiceError): TextStep => ({
  kind: 'text',
  data: json({ resp_type: 'ERROR', trace_id: s.traceId, error_code: error.errorCode, error_msg: error.errorMsg }),
  outcome: { ending: 'error', errorCode: error.errorCode },
});

/** ERROR, then (by default) END/ERROR, then wait for the client to close. */
export const errorSteps = (s: ScriptSettings, error: ServiceError, options: { end: boolean } = { end: s.errorThenEnd }): Step[] => [
  errorStep(s, error),
  ...(options.end ? [endStep(s, 'ERROR', { ending: 'end-error' })] : []),
  { kind: 'await-close', graceMs: grace(s) },
];

/** FATAL_ERROR, then the server closes. */
export const fatalSteps = (s: ScriptSettings, error: ServiceError): Step[] => [
  {
    kind: 'text',
    data: json({ resp_type: 'FATAL_ERROR', trace_id: s.traceId, error_code: error.errorCode, error_msg: error.errorMsg }),
    outcome: { ending: 'fatal', errorCode: error.errorCode },
  },
  { kind: 'close', code: 1000, reason: '' },
];

const msOf = (plan: AudioPlan, sample: number): number => Math.round((sample * 1000) / plan.sampleRate);

const subtitleItem = (plan: AudioPlan, word: Word, index: number, phonemes: boolean): SubtitleItem => {
  const syllables = plan.syllables.slice(word.from, word.to);
  const first = syllables[0];
  const last = syllables[syllables.length - 1];
  const start = first === undefined ? 0 : first.start;
  const end = last === undefined ? start : last.start + last.length;
  const item: SubtitleItem = { start_time: msOf(plan, start), end_time: msOf(plan, end), text: word.text, word_index: index };
  if (!phonemes) return item;
  return {
    ...item,
    phonemes: syllables.map((s, i) => ({
      phoneme: s.char.toLowerCase(),
      start_time: msOf(plan, s.start),
      end_time: msOf(plan, s.start + s.length),
      phoneme_index: i,
    })),
  };
};

export const resultStep = (s: ScriptSettings, item: SubtitleItem): Step => ({
  kind: 'text',
  role: 'result',
  data: json({ resp_type: 'RESULT', trace_id: s.traceId, result: [item] }),
});

/** The normal session: START, audio frames (each word's RESULT just before the frame where it starts), END/NORMAL. */
export const normalScript = (command: StartCommand, audio: SynthesizedAudio, s: ScriptSettings): Step[] => {
  const { plan, bytes } = audio;
  const durationMs = (plan.totalSamples * 1000) / plan.sampleRate;
  const frameCount = Math.ceil(bytes.length / s.frameBytes);
  const subtitle = command.config.subtitle;
  const resultsByFrame = new Map<number, Step[]>();
  if (subtitle !== undefined) {
    plan.words.forEach((word, index) => {
      const start = plan.syllables[word.from]?.start ?? 0;
      const frame = Math.min(frameCount - 1, Math.floor(Math.floor((start / plan.totalSamples) * bytes.length) / s.frameBytes));
      const steps = resultsByFrame.get(frame) ?? [];
      steps.push(resultStep(s, subtitleItem(plan, word, index, subtitle === 'phoneme_level')));
      resultsByFrame.set(frame, steps);
    });
  }
  const steps: Step[] = [startStep(s)];
  if (s.firstAudioDelayMs > 0) steps.push({ kind: 'wait', ms: s.firstAudioDelayMs });
  for (let frame = 0; frame < frameCount; frame++) {
    const offset = frame * s.frameBytes;
    steps.push(...(resultsByFrame.get(frame) ?? []));
    steps.push({ kind: 'audio', data: bytes.subarray(offset, offset + s.frameBytes), atMs: (offset / bytes.length) * durationMs });
  }
  steps.push(endStep(s, 'NORMAL', { ending: 'end-normal' }));
  steps.push({ kind: 'await-close', graceMs: grace(s) });
  return steps;
};

// ---- faults -----------------------------------------------------------------------------------

/** Index of the step before which a point lies in a normal script. */
const indexOf = (steps: readonly Step[], point: FaultPoint): number => {
  const end = steps.findIndex((step) => step.kind === 'text' && step.role === 'end');
  if (point === 'before-start') return 0;
  if (point === 'after-start') return 1;
  if (point === 'before-end') return end;
  if (point === 'after-end') return end + 1;
  // A real-time session has no pieces: after none is after START, after any is before END.
  if ('afterPieces' in point) return point.afterPieces === 0 ? 1 : end;
  let frames = 0;
  for (let i = 1; i < end; i++) {
    if (frames === point.afterFrames) return i;
    if (steps[i]?.kind === 'audio') frames++;
  }
  return end;
};

/** What a point fault makes of the rest of the script, from its point on. */
export type PointAction = (rest: readonly Step[]) => Step[];

export const isFrame = (step: Step | undefined): step is TextStep | AudioStep => step?.kind === 'text' || step?.kind === 'audio';

/** The ERROR an `error` fault sends, its defaults applied. */
export const faultError = (f: Extract<PointFault, { kind: 'error' }>): ServiceError => ({
  errorCode: f.errorCode ?? 'SIS.0401',
  errorMsg: f.errorMsg ?? 'synthesis error',
});

const pointActions: { readonly [K in PointFault['kind']]: (fault: Extract<PointFault, { kind: K }>, s: ScriptSettings) => PointAction } = {
  error: (f, s) => () => errorSteps(s, faultError(f)),
  fatal: (f, s) => () => fatalSteps(s, { errorCode: f.errorCode ?? 'SIS.0413', errorMsg: f.errorMsg ?? 'engine internal error' }),
  'end-error': (_, s) => () => [endStep(s, 'ERROR', { ending: 'end-error' }), { kind: 'await-close', graceMs: grace(s) }],
  drop: (f) => () => [
    f.how === 'reset' ? { kind: 'reset' } : { kind: 'close', code: f.closeCode ?? 1011, reason: f.closeReason ?? '', outcome: { ending: 'dropped' } },
  ],
  malformed: (f, s) => () => [
    { kind: 'text', data: f.payload ?? '{"resp_type":', outcome: { ending: 'malformed' } },
    { kind: 'await-close', graceMs: grace(s) },
  ],
  'unknown-type': (f, s) => (rest) => [{ kind: 'text', data: json({ resp_type: f.respType ?? s.unknownRespType, trace_id: s.traceId }) }, ...rest],
  stall: () => () => [{ kind: 'await-close', graceMs: undefined, outcome: { ending: 'stalled' } }],
  trickle: (f) => (rest) => {
    const at = rest.findIndex(isFrame);
    const frame = rest[at];
    if (!isFrame(frame)) return [...rest];
    const trickled: Step = { kind: 'trickle', frame, intervalMs: f.intervalMs ?? 1_000, bytesPerTick: f.bytesPerTick ?? 1 };
    return [...rest.slice(0, at), trickled, ...rest.slice(at + 1)];
  },
  oversized: (f) => (rest) => [{ kind: 'oversized', bytes: f.bytes ?? 100 * 1024 * 1024 }, ...rest],
  flood: (f, s) => (rest) => [{ kind: 'flood', frames: f.frames ?? 10_000, data: new Uint8Array(f.bytes ?? s.frameBytes) }, ...rest],
};

export const runAction = <K extends PointFault['kind']>(fault: Extract<PointFault, { kind: K }>, s: ScriptSettings): PointAction =>
  (pointActions[fault.kind] as (f: typeof fault, s: ScriptSettings) => PointAction)(fault, s);

/** The frames an out-of-order fault puts before START when the script has none of their kind (yet). */
export interface OutOfOrderFallbacks {
  readonly audio: () => AudioStep;
  readonly result: () => Step;
}

/** Moves or adds one frame before the START response (the first step); the rest of the session is unchanged. */
export const outOfOrder = (
  steps: readonly Step[],
  what: Extract<SessionFault, { kind: 'out-of-order' }>['what'],
  fallbacks: OutOfOrderFallbacks,
  s: ScriptSettings,
): Step[] => {
  const [start, ...rest] = steps;
  if (start === undefined) return [];
  const moveFirst = (pick: (step: Step) => boolean, fallback: () => Step): Step[] => {
    const at = rest.findIndex(pick);
    const moved = at < 0 ? undefined : rest[at];
    return [moved ?? fallback(), start, ...(at < 0 ? rest : rest.filter((_, i) => i !== at))];
  };
  switch (what) {
    case 'audio-before-start':
      return moveFirst((step) => step.kind === 'audio', fallbacks.audio);
    case 'duplicate-start':
      return [start, start, ...rest];
    case 'end-before-start':
      return [endStep(s, 'NORMAL'), start, ...rest];
    case 'result-before-start':
      return moveFirst((step) => step.kind === 'text' && step.role === 'result', fallbacks.result);
  }
};

/** The steps of a session with a fault applied (the normal script when there is none). */
export const sessionScript = (command: StartCommand, audio: SynthesizedAudio, fault: SessionFault | undefined, s: ScriptSettings): Step[] => {
  const steps = normalScript(command, audio, s);
  if (fault === undefined) return steps;
  if (fault.kind === 'out-of-order') {
    return outOfOrder(
      steps,
      fault.what,
      {
        audio: () => ({ kind: 'audio', data: audio.bytes.subarray(0, s.frameBytes), atMs: 0 }),
        result: () => {
          const word = audio.plan.words[0] ?? { text: command.text, from: 0, to: audio.plan.syllables.length };
          return resultStep(s, subtitleItem(audio.plan, word, 0, false));
        },
      },
      s,
    );
  }
  const at = indexOf(steps, fault.at);
  return [...steps.slice(0, at), ...runAction(fault, s)(steps.slice(at))];
};
