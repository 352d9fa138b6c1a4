/**
 * One WebSocket connection to real-time synthesis on the server side: wait for the START command,
 * check it, then have the session's script (script.ts) played frame by frame (player.ts), paced in
 * real time or as fast as the socket drains, and stop the moment the client goes away.
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import type { StartCommand } from '../protocol/wire.js';
import { textOf } from '../transport/ws-data.js';
import { synthesize } from './audio/synthesize.js';
import { isSessionFault, type Fault, type FaultContext, type SessionFault } from './faults.js';
import type { EmulatorConfig } from './options.js';
import { faultProblems } from './options.js';
import { StepPlayer, SYNTHESIS_OVER, type SessionSocket } from './player.js';
import { recordClose, recordEnding, recordIdleClose, recordServerClose, type EmulatorStats, type Mutable, type RealtimeSessionRecord } from './records.js';
import { errorSteps, fatalSteps, sessionScript, type Outcome, type ScriptSettings } from './script.js';
import { checkStart, ORDER_ERRORS, type ServiceError } from '../protocol/start-check.js';

export { HIGH_WATER_MARK, type SessionSocket } from './player.js';

/** What a session needs from the server; the streaming session takes the same. */
export interface SessionDeps<R = Mutable<RealtimeSessionRecord>> {
  readonly config: EmulatorConfig;
  readonly record: R;
  readonly stats: Mutable<EmulatorStats>;
  readonly context: FaultContext;
  /** A concurrency slot for a running synthesis; false when the cap is reached. */
  readonly acquireSlot: () => boolean;
  readonly releaseSlot: () => void;
  /** Destroys the TCP connection without a close frame. */
  readonly reset: () => void;
  /**
   * The upgraded TCP connection under the WebSocket, for the byte-level faults (see player.ts).
   * Absent (unit tests over a fake socket): those faults send whole frames.
   */
  readonly raw?: Duplex | undefined;
  readonly shuttingDown: () => boolean;
}

/**
 * A fault a START chooser returned: checked like an option (a chooser is user code), then kept in the
 * record. 'invalid' when it is not a session fault.
 */
export const adoptChosenFault = (
  chosen: SessionFault | undefined,
  record: { fault: Fault | undefined },
  stats: Mutable<EmulatorStats>,
): SessionFault | 'invalid' | undefined => {
  if (chosen === undefined) return undefined;
  if (faultProblems(chosen, '').length > 0 || !isSessionFault(chosen)) return 'invalid';
  record.fault = chosen;
  stats.faultsApplied++;
  return chosen;
};

export const runSession = (ws: SessionSocket, deps: SessionDeps): void => {
  const { config, record, stats } = deps;
  const traceId = randomUUID();
  record.traceId = traceId;
  const settings: ScriptSettings = {
    traceId,
    frameBytes: config.frameBytes,
    firstAudioDelayMs: config.firstAudioDelayMs,
    closeGraceMs: config.closeGraceMs,
    errorThenEnd: config.errorThenEnd,
    unknownRespType: 'EVENT',
  };

  // Until the first message: the idle timeout.
  let idleTimer: NodeJS.Timeout | undefined;
  let received = 0;
  let holdsSlot = false;
  let serverClosing = false;
  // silent and stalled sessions ignore whatever the client sends.
  let deaf = record.fault?.kind === 'silent';

  const clearIdleTimer = (): void => {
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    idleTimer = undefined;
  };
  const releaseSlot = (): void => {
    if (holdsSlot) deps.releaseSlot();
    holdsSlot = false;
  };
  const note = (outcome: Outcome | undefined): void => {
    // The first ending that finishes the synthesis stands (an ERROR's END/ERROR completes it):
    // an ERROR answering a message sent after END does not change how the session ended.
    const { ending: previous } = record;
    const replaces = previous === undefined || !SYNTHESIS_OVER.has(previous) || (previous === 'error' && outcome?.ending === 'end-error');
    if (outcome?.ending !== undefined && replaces) {
      recordEnding(record, stats, outcome.ending);
      if (SYNTHESIS_OVER.has(outcome.ending)) releaseSlot();
    }
    if (outcome?.ending === 'stalled') deaf = true;
    if (outcome?.errorCode !== undefined) record.errorCode = outcome.errorCode;
  };

  const player = new StepPlayer({
    ws,
    raw: deps.raw,
    realtimeFactor: config.realtimeFactor,
    record,
    stats,
    note,
    closing: (code) => {
      releaseSlot();
      serverClosing = true;
      if (code !== undefined) recordServerClose(record, code);
    },
    reset: deps.reset,
  });

  const fail = (error: ServiceError, options?: { end: boolean }): void => player.play(errorSteps(settings, error, options));

  const chooseFault = (command: StartCommand): SessionFault | 'invalid' | undefined => {
    if (record.fault !== undefined) return isSessionFault(record.fault) ? record.fault : undefined;
    return adoptChosenFault(config.faultOnStart?.(command, deps.context), record, stats);
  };

  const onStart = (message: string): void => {
    const checked = checkStart(message, config);
    if (!checked.ok) return fail(checked);
    const { command } = checked;
    record.command = command;
    if (!deps.acquireSlot()) return fail({ errorCode: 'SIS.0312', errorMsg: 'the number of concurrent requests exceeds the limit' });
    holdsSlot = true;
    stats.sessionsStarted++;
    const fault = chooseFault(command);
    if (fault === 'invalid') return fail({ errorCode: 'SIS.0001', errorMsg: 'emulator: faultOnStart returned an invalid fault' });
    player.play(sessionScript(command, synthesize(command), fault, settings));
  };

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (deaf || serverClosing || player.midFrame) return;
    received++;
    if (received === 1) clearIdleTimer();
    if (isBinary) {
      // After END the session is over: answer the mistake, but do not end it a second time.
      fail(ORDER_ERRORS.binary, { end: config.errorThenEnd && record.ending === undefined });
      return;
    }
    if (received === 1) return onStart(textOf(data));
    fail(ORDER_ERRORS.secondStart, { end: config.errorThenEnd && record.ending === undefined });
  });

  ws.on('close', (code: number) => {
    clearIdleTimer();
    player.stop();
    releaseSlot();
    recordClose(record, code, deps.shuttingDown() ? 'emulator' : serverClosing ? 'server' : 'client');
  });
  // Socket errors (a reset by the client, …) end in 'close'; without a listener they would crash the process.
  ws.on('error', () => undefined);

  if (deaf) {
    record.ending = 'silent';
  } else if (config.idleTimeoutMs > 0) {
    // The service's close of a connection that sends no START (a warm socket kept too long); not of
    // one the client is closing already.
    idleTimer = setTimeout(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      recordIdleClose(record, stats);
      player.play(fatalSteps(settings, { errorCode: 'SIS.0304', errorMsg: 'wait voice timeout' }));
    }, config.idleTimeoutMs);
  }
};
