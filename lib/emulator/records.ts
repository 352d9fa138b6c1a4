/** What the emulator remembers of each connection, for tests to assert on. */
import type { StreamingStartCommand } from '../protocol/streaming.js';
import type { StartCommand } from '../protocol/wire.js';
import type { EmulatedApi, Fault, RedactedHeaders } from './faults.js';
import type { SessionEnding } from './script.js';

/** What every connection's record holds, whichever API it asked for. */
interface CommonRecord {
  /** 1-based, in order of arrival. */
  readonly connection: number;
  /** The API the path asks for; a path that names neither counts as `'realtime'` (it got 404). */
  readonly api: EmulatedApi;
  readonly path: string;
  /** Request headers with `x-auth-token` and `authorization` values replaced by `'<redacted>'`. */
  readonly headers: RedactedHeaders;
  /** The HTTP status answered to the handshake: 101 when the WebSocket opened. */
  readonly status: number | undefined;
  /** Whether authentication passed (true when it is not required); undefined when not checked (wrong path). */
  readonly authenticated: boolean | undefined;
  readonly traceId: string | undefined;
  /** The fault applied to this connection, if any. */
  readonly fault: Fault | undefined;
  readonly audioBytes: number;
  readonly audioFrames: number;
  /** Text frames sent (START, RESULT, END, ERROR, EVENT, …). */
  readonly textFrames: number;
  /**
   * How it ended; undefined while it runs. A streaming connection may hold several syntheses (a new
   * START may follow an ERROR): its ending is that of the last one.
   */
  readonly ending: SessionEnding | undefined;
  /** The error code of the last ERROR or FATAL_ERROR sent. */
  readonly errorCode: string | undefined;
  /**
   * True when the idle close struck: no command came for `idleTimeoutMs` while no synthesis ran
   * (real-time: no START at all), so the server sent FATAL_ERROR SIS.0304 and closed, as the service
   * does after about 20 s. Such a record also has `ending: 'fatal'`, `errorCode: 'SIS.0304'` and
   * `closedBy: 'server'` once closed; a warm socket kept too long ends so.
   */
  readonly idleClosed: boolean;
  /** Who closed the WebSocket, once it is closed. */
  readonly closedBy: 'client' | 'server' | 'emulator' | undefined;
  /**
   * The close code of the side that closed, once closed: the emulator's (`serverCloseCode`) when the
   * server closed with a close frame, otherwise the client's; 1006 when neither sent one (a reset, a
   * client gone without a close frame).
   */
  readonly closeCode: number | undefined;
  /** The code of the close frame the emulator sent (its own, or its echo of the client's); undefined when it sent none. */
  readonly serverCloseCode: number | undefined;
  /** The code of the close frame the client sent (1005 when it carried none); undefined when it sent none. */
  readonly clientCloseCode: number | undefined;
}

/** A connection to real-time synthesis (`/v1/{projectId}/rtts`). */
export interface RealtimeSessionRecord extends CommonRecord {
  readonly api: 'realtime';
  /** The START command, once a valid one arrived. */
  readonly command: StartCommand | undefined;
}

/** A MSG command received by a streaming session. */
export interface PieceRecord {
  readonly text: string;
  /**
   * Whether its text was taken into the session's buffer: false when it was answered with ERROR (too
   * long, no START before it) or ignored with an EVENT (over the session's total, after END).
   */
  readonly accepted: boolean;
}

/** A connection to streaming synthesis (`/v1/{projectId}/vcs/voices/clone`). */
export interface StreamingSessionRecord extends CommonRecord {
  readonly api: 'streaming';
  /** The last START command accepted, as received (no defaults applied). */
  readonly command: StreamingStartCommand | undefined;
  /** Every well-formed MSG received, in order, including ignored ones (an ONLY START's text is not a piece). */
  readonly pieces: readonly PieceRecord[];
  /** The sentences synthesised, in order (an ONLY text's too): the audio is theirs, one after the other. */
  readonly sentences: readonly string[];
  /** The `event` of every EVENT frame sent, in order. */
  readonly events: readonly string[];
}

/** One connection (handshake), from the upgrade request to the socket's close. Updated live. */
export type SessionRecord = RealtimeSessionRecord | StreamingSessionRecord;

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
  /** Connections the idle close ended (see {@link SessionRecord}'s `idleClosed`); counted in `fatalErrorsSent` too. */
  readonly idleClosed: number;
  /** EVENT frames sent (streaming). */
  readonly eventsSent: number;
  /** MSG commands received (streaming), accepted or not. */
  readonly piecesReceived: number;
  readonly faultsApplied: number;
  readonly audioBytesSent: number;
  readonly audioFramesSent: number;
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A streaming record as its session fills it: the lists grow in place. */
export type MutableStreamingRecord = Mutable<Omit<StreamingSessionRecord, 'pieces' | 'sentences' | 'events'>> & {
  readonly pieces: PieceRecord[];
  readonly sentences: string[];
  readonly events: string[];
};

const common = (connection: number, api: EmulatedApi, path: string, headers: RedactedHeaders): Mutable<CommonRecord> => ({
  connection,
  api,
  path,
  headers,
  status: undefined,
  authenticated: undefined,
  traceId: undefined,
  fault: undefined,
  audioBytes: 0,
  audioFrames: 0,
  textFrames: 0,
  ending: undefined,
  errorCode: undefined,
  idleClosed: false,
  closedBy: undefined,
  closeCode: undefined,
  serverCloseCode: undefined,
  clientCloseCode: undefined,
});

export const newRecord = (connection: number, path: string, headers: RedactedHeaders): Mutable<RealtimeSessionRecord> => ({
  ...common(connection, 'realtime', path, headers),
  api: 'realtime',
  command: undefined,
});

export const newStreamingRecord = (connection: number, path: string, headers: RedactedHeaders): MutableStreamingRecord => ({
  ...common(connection, 'streaming', path, headers),
  api: 'streaming',
  command: undefined,
  pieces: [],
  sentences: [],
  events: [],
});

export const newStats = (): Mutable<EmulatorStats> => ({
  connections: 0,
  rejectedHandshakes: 0,
  httpRequests: 0,
  sessionsStarted: 0,
  sessionsCompleted: 0,
  errorsSent: 0,
  fatalErrorsSent: 0,
  idleClosed: 0,
  eventsSent: 0,
  piecesReceived: 0,
  faultsApplied: 0,
  audioBytesSent: 0,
  audioFramesSent: 0,
});

/** Keeps a synthesis's ending in the record and counts it. */
export const recordEnding = (record: { ending: SessionEnding | undefined }, stats: Mutable<EmulatorStats>, ending: SessionEnding): void => {
  record.ending = ending;
  if (ending === 'end-normal') stats.sessionsCompleted++;
  if (ending === 'error') stats.errorsSent++;
  if (ending === 'fatal') stats.fatalErrorsSent++;
};

/** The idle close struck (its FATAL_ERROR is recorded as it is sent). */
export const recordIdleClose = (record: { idleClosed: boolean }, stats: Mutable<EmulatorStats>): void => {
  record.idleClosed = true;
  stats.idleClosed++;
};

/** What the close of a WebSocket leaves in its record. */
type CloseFields = Pick<Mutable<CommonRecord>, 'closeCode' | 'serverCloseCode' | 'clientCloseCode' | 'closedBy' | 'ending'>;

/** The server is closing with a close frame of `code` (the player's close step, the close grace). */
export const recordServerClose = (record: Pick<CloseFields, 'serverCloseCode'>, code: number): void => {
  record.serverCloseCode ??= code;
};

/**
 * Keeps how the WebSocket closed; a session still running ends as the closer ended it. `received` is
 * the code of `ws`'s 'close' event: the client's close frame, or 1006 when none came (a peer may not
 * send 1006 itself).
 */
export const recordClose = (record: CloseFields, received: number, closedBy: 'client' | 'server' | 'emulator'): void => {
  const fromClient = received === 1006 ? undefined : received;
  record.clientCloseCode = fromClient;
  // A close frame from the client is answered by ws with the same code (an empty one for 1005).
  if (closedBy === 'client' && fromClient !== undefined) record.serverCloseCode ??= fromClient;
  record.closeCode = closedBy === 'server' ? (record.serverCloseCode ?? received) : received;
  record.closedBy = closedBy;
  record.ending ??= closedBy === 'emulator' ? 'emulator-closed' : 'client-closed';
};
