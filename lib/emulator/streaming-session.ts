/**
 * One WebSocket connection to streaming synthesis (protocol.md §2) on the server side: START, then the
 * text in MSG pieces, then END. Text is buffered as the service does (sentence-buffer.ts): each
 * sentence is synthesised as soon as its end arrives, after the think time, and an unpunctuated tail
 * waits for END. The steps come from streaming-script.ts and are played by player.ts.
 *
 *             ┌──────── ERROR (bad command, START twice, MSG too long, fault): text not yet ────────┐
 *             ▼         synthesised is dropped, the session is back where it began                    │
 *   ┌─────────────┐  START/MULTI   ┌─────────────┐  END: the tail, then END/NORMAL   ┌─────────┐        │
 *   │   initial   │ ─────────────▶ │  receiving  │ ─────────────────────────────────▶ │  ended  │        │
 *   └─────────────┘                └─────────────┘                                     └─────────┘        │
 *     │     │  START/ONLY: its text, then END/NORMAL          ▲  │ MSG: buffered;           │ any command:
 *     │     └─────────────────────────────────────────────────┼──┼─ each sentence spoken ───▶ EVENT VCS_END;
 *     │                                                       └──┘  over the total: EVENT   │ the client
 *     │ idleTimeoutMs without a command:                      textTimeoutMs without MSG/END: │ closes, or
 *     └─▶ FATAL_ERROR SIS.0304, server closes                 FATAL_ERROR SIS.0416, closes  ▼ closeGraceMs
 *                                                                                        (closed)
 * A fault that stalls, drops, closes or sends garbage leaves the session `over`: it hears nothing more.
 * `teardown` (the socket's close) is the one place timers and waits are released.
 */
import { randomUUID } from 'node:crypto';
import { WebSocket, type RawData } from 'ws';
import { codePointLength } from '../protocol/request.js';
import type { StreamingStartCommand } from '../protocol/streaming.js';
import { textOf } from '../transport/ws-data.js';
import { streamingSpec, synthesizeSpec } from './audio/synthesize.js';
import { isSessionFault, type SessionFault } from './faults.js';
import { StepPlayer, SYNTHESIS_OVER, type SessionSocket } from './player.js';
import { recordClose, recordEnding, recordIdleClose, recordServerClose, type MutableStreamingRecord } from './records.js';
import { errorStep, fatalSteps, type Outcome, type ScriptSettings } from './script.js';
import { SentenceBuffer } from './sentence-buffer.js';
import { adoptChosenFault, type SessionDeps } from './session.js';
import { ORDER_ERRORS, type ServiceError } from '../protocol/start-check.js';
import { pieceProblem, readCommand, startProblem } from '../protocol/streaming-commands.js';
import { eventStep, StreamingScript, type Emitted } from './streaming-script.js';

type State = 'initial' | 'receiving' | 'ended' | 'over';

/** A timeout that can be restarted; 0 ms disables it. */
class Timeout {
  private handle: NodeJS.Timeout | undefined;
  constructor(private readonly expired: () => void) {}
  start(ms: number): void {
    this.stop();
    if (ms > 0) this.handle = setTimeout(this.expired, ms);
  }
  stop(): void {
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
  }
}

class StreamingSession {
  private state: State = 'initial';
  private readonly settings: ScriptSettings;
  private readonly player: StepPlayer;
  private readonly script: StreamingScript;
  private buffer = new SentenceBuffer();
  // The START of the running synthesis, and the characters it has taken in.
  private command: StreamingStartCommand | undefined;
  private total = 0;
  // idle: in the initial state (SIS.0304); text: while receiving (SIS.0416).
  private readonly idleTimer = new Timeout(() => {
    // Not when the client is closing already: then there is nothing to close.
    if (this.ws.readyState !== WebSocket.OPEN) return;
    recordIdleClose(this.deps.record, this.deps.stats);
    this.fatal({ errorCode: 'SIS.0304', errorMsg: 'wait voice timeout' });
  });
  private readonly textTimer = new Timeout(() => this.fatal({ errorCode: 'SIS.0416', errorMsg: 'vcs wait text time out' }));
  private holdsSlot = false;
  private serverClosing = false;

  constructor(
    private readonly ws: SessionSocket,
    private readonly deps: SessionDeps<MutableStreamingRecord>,
  ) {
    const { config, record, stats } = deps;
    record.traceId = randomUUID();
    this.settings = {
      traceId: record.traceId,
      frameBytes: config.frameBytes,
      firstAudioDelayMs: config.firstAudioDelayMs,
      closeGraceMs: config.closeGraceMs,
      errorThenEnd: false,
      unknownRespType: 'NOTICE',
    };
    this.player = new StepPlayer({
      ws,
      raw: deps.raw,
      realtimeFactor: config.realtimeFactor,
      record,
      stats,
      note: (outcome) => this.note(outcome),
      closing: (code) => {
        this.releaseSlot();
        this.serverClosing = true;
        if (code !== undefined) recordServerClose(record, code);
      },
      reset: deps.reset,
    });
    this.script = new StreamingScript(this.settings);
    if (record.fault !== undefined && isSessionFault(record.fault)) this.script.arm(record.fault);

    // A frame written by hand (trickle, oversized) must not be cut by an answer: commands wait for it.
    ws.on('message', (data: RawData, isBinary: boolean) => this.player.whenFrameDone(() => this.onMessage(data, isBinary)));
    ws.on('close', (code: number) => this.teardown(code));
    // Socket errors (a reset by the client, …) end in 'close'; without a listener they would crash the process.
    ws.on('error', () => undefined);

    if (record.fault?.kind === 'silent') {
      this.state = 'over';
      record.ending = 'silent';
    } else {
      this.idleTimer.start(this.deps.config.idleTimeoutMs);
    }
  }

  // ---- commands ------------------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.state === 'over' || this.serverClosing) return;
    const read = isBinary ? ({ ok: false, ...ORDER_ERRORS.binary } as const) : readCommand(textOf(data));
    if (read.ok && read.command.command === 'MSG') this.deps.stats.piecesReceived++;
    if (this.state === 'ended') {
      if (read.ok && read.command.command === 'MSG') this.deps.record.pieces.push({ text: read.command.text, accepted: false });
      return this.notice('VCS_END');
    }
    this.idleTimer.stop();
    if (!read.ok) return this.fail(read);
    const { command } = read;
    if (command.command === 'START') return this.onStart(command);
    if (command.command === 'MSG') return this.onPiece(command.text);
    return this.onEnd();
  }

  private onStart(command: StreamingStartCommand): void {
    const { config, record, stats } = this.deps;
    if (this.state === 'receiving') return this.fail({ errorCode: 'SIS.0031', errorMsg: 'START was already sent: a synthesis is running' });
    const problem = startProblem(command, config);
    if (problem !== undefined) return this.fail(problem);
    record.command = command;
    if (!this.holdsSlot) {
      if (!this.deps.acquireSlot()) return this.fail({ errorCode: 'SIS.0312', errorMsg: 'the number of concurrent requests exceeds the limit' });
      this.holdsSlot = true;
    }
    stats.sessionsStarted++;
    if (this.chooseFault(command) === 'invalid')
      return this.fail({ errorCode: 'SIS.0001', errorMsg: 'emulator: faultOnStreamingStart returned an invalid fault' });
    this.state = 'receiving';
    this.command = command;
    this.total = 0;
    if (!this.emit(this.script.start())) return;
    if (command.text_pieces !== 'ONLY') return this.textTimer.start(this.deps.config.textTimeoutMs);
    // ONLY: the whole text came with START, as if sent in one MSG followed by END.
    this.total = codePointLength(command.text ?? '');
    if (this.take(command.text ?? '')) this.endOfText();
  }

  private onPiece(text: string): void {
    const { config, record } = this.deps;
    if (this.state !== 'receiving') {
      record.pieces.push({ text, accepted: false });
      return this.fail(ORDER_ERRORS.notStarted);
    }
    this.textTimer.start(this.deps.config.textTimeoutMs);
    const problem = pieceProblem(text, config);
    const length = codePointLength(text);
    const overTotal = problem === undefined && this.total + length > config.streamingTotalLimit;
    record.pieces.push({ text, accepted: problem === undefined && !overTotal });
    if (problem !== undefined) return this.fail(problem);
    if (overTotal) return this.notice('EXCEEDED_TOTAL_TEXT_LENGTH');
    this.total += length;
    if (this.emit(this.script.piece())) this.take(text);
  }

  private onEnd(): void {
    if (this.state !== 'receiving') return this.fail(ORDER_ERRORS.notStarted);
    this.endOfText();
  }

  // ---- what is sent --------------------------------------------------------------------------

  /** Buffers text and speaks the sentences it completes; false when a fault ended the synthesis. */
  private take(text: string): boolean {
    return this.buffer.push(text).every((sentence) => this.speak(sentence));
  }

  private speak(sentence: string): boolean {
    const { config, record } = this.deps;
    if (this.command === undefined) return false;
    record.sentences.push(sentence);
    const audio = synthesizeSpec(streamingSpec(this.command.config, sentence));
    return this.emit(this.script.sentence(audio, performance.now() + config.firstAudioDelayMs));
  }

  /** No more text: the tail is spoken, then END/NORMAL. */
  private endOfText(): void {
    this.textTimer.stop();
    const tail = this.buffer.flush();
    if (tail !== '' && !this.speak(tail)) return;
    if (this.emit(this.script.end())) this.toState('ended');
  }

  /** Queues steps and moves to what a fault among them leaves; false when the synthesis cannot go on. */
  private emit({ steps, aftermath }: Emitted): boolean {
    this.player.append(steps);
    if (aftermath === 'goes-on') return true;
    if (aftermath === 'reset') this.toInitial();
    else this.toState(aftermath);
    return false;
  }

  /** ERROR after what was already synthesised; the rest of the text is dropped. */
  private fail(error: ServiceError): void {
    this.player.append([errorStep(this.settings, error)]);
    this.toInitial();
  }

  /** A notice answering a command, ahead of queued audio; the session goes on. */
  private notice(event: string): void {
    this.player.sendNow(eventStep(this.settings, event));
    this.deps.record.events.push(event);
    this.deps.stats.eventsSent++;
  }

  /** FATAL_ERROR now, whatever was queued, then the server closes. */
  private fatal(error: ServiceError): void {
    this.toState('over');
    this.player.whenFrameDone(() => this.player.play(fatalSteps(this.settings, error)));
  }

  // ---- state ---------------------------------------------------------------------------------

  private toInitial(): void {
    this.textTimer.stop();
    this.state = 'initial';
    this.command = undefined;
    this.buffer = new SentenceBuffer();
    this.idleTimer.start(this.deps.config.idleTimeoutMs);
  }

  private toState(state: 'ended' | 'over'): void {
    this.textTimer.stop();
    this.idleTimer.stop();
    this.state = state;
  }

  private chooseFault(command: StreamingStartCommand): SessionFault | 'invalid' | undefined {
    const { config, record, stats, context } = this.deps;
    if (record.fault !== undefined) return undefined;
    const chosen = adoptChosenFault(config.faultOnStreamingStart?.(command, context), record, stats);
    if (chosen !== undefined && chosen !== 'invalid') this.script.arm(chosen);
    return chosen;
  }

  private note(outcome: Outcome | undefined): void {
    const { record, stats } = this.deps;
    // A connection may run several syntheses (START again after an ERROR): the last one's ending
    // stands, but nothing after END changes how the session ended.
    const ended = record.ending === 'end-normal' || record.ending === 'end-error';
    if (outcome?.ending !== undefined && !ended) {
      recordEnding(record, stats, outcome.ending);
      if (SYNTHESIS_OVER.has(outcome.ending)) this.releaseSlot();
    }
    if (outcome?.errorCode !== undefined) record.errorCode = outcome.errorCode;
  }

  private releaseSlot(): void {
    if (this.holdsSlot) this.deps.releaseSlot();
    this.holdsSlot = false;
  }

  /** The socket closed: release everything and keep how it ended. */
  private teardown(code: number): void {
    this.idleTimer.stop();
    this.textTimer.stop();
    this.player.stop();
    this.releaseSlot();
    this.state = 'over';
    const { deps } = this;
    recordClose(deps.record, code, deps.shuttingDown() ? 'emulator' : this.serverClosing ? 'server' : 'client');
  }
}

/** Serves one streaming synthesis connection (see the file comment). */
export const runStreamingSession = (ws: SessionSocket, deps: SessionDeps<MutableStreamingRecord>): void => {
  new StreamingSession(ws, deps);
};
