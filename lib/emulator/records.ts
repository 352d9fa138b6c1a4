/** What the emulator remembers of each connection, for tests to assert on. */
import type { StartCommand } from '../protocol/wire.js';
import type { Fault, RedactedHeaders } from './faults.js';
import type { SessionEnding } from './script.js';

/** One connection (handshake), from the upgrade request to the socket's close. Updated live. */
export interface SessionRecord {
  /** 1-based, in order of arrival. */
  readonly connection: number;
  readonly path: string;
  /** Request headers with `x-auth-token` and `authorization` values replaced by `'<redacted>'`. */
  readonly headers: RedactedHeaders;
  /** The HTTP status answered to the handshake: 101 when the WebSocket opened. */
  readonly status: number | undefined;
  /** Whether authentication passed (true when it is not required); undefined when not checked (wrong path). */
  readonly authenticated: boolean | undefined;
  /** The START command, once a valid one arrived. */
  readonly command: StartCommand | undefined;
  readonly traceId: string | undefined;
  /** The fault applied to this connection, if any. */
  readonly fault: Fault | undefined;
  readonly audioBytes: number;
  readonly audioFrames: number;
  /** Text frames sent (START, RESULT, END, ERROR, …). */
  readonly textFrames: number;
  /** How it ended; undefined while it runs. */
  readonly ending: SessionEnding | undefined;
  /** The error code of the last ERROR or FATAL_ERROR sent. */
  readonly errorCode: string | undefined;
  /** Who closed the WebSocket, once it is closed. */
  readonly closedBy: 'client' | 'server' | 'emulator' | undefined;
  readonly closeCode: number | undefined;
}

/** Counters since the emulator started. */
export interface EmulatorStats {
  /** Upgrade requests received. */
  readonly connections: number;
  /** Handshakes answered with an HTTP error. */
  readonly rejectedHandshakes: number;
  /** Plain HTTP requests (not upgrades), all answered with a JSON error. */
  readonly httpRequests: number;
  /** START commands accepted. */
  readonly sessionsStarted: number;
  /** Sessions that sent END with reason NORMAL. */
  readonly sessionsCompleted: number;
  readonly errorsSent: number;
  readonly fatalErrorsSent: number;
  readonly faultsApplied: number;
  readonly audioBytesSent: number;
  readonly audioFramesSent: number;
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export const newRecord = (connection: number, path: string, headers: RedactedHeaders): Mutable<SessionRecord> => ({
  connection,
  path,
  headers,
  status: undefined,
  authenticated: undefined,
  command: undefined,
  traceId: undefined,
  fault: undefined,
  audioBytes: 0,
  audioFrames: 0,
  textFrames: 0,
  ending: undefined,
  errorCode: undefined,
  closedBy: undefined,
  closeCode: undefined,
});

export const newStats = (): Mutable<EmulatorStats> => ({
  connections: 0,
  rejectedHandshakes: 0,
  httpRequests: 0,
  sessionsStarted: 0,
  sessionsCompleted: 0,
  errorsSent: 0,
  fatalErrorsSent: 0,
  faultsApplied: 0,
  audioBytesSent: 0,
  audioFramesSent: 0,
});
