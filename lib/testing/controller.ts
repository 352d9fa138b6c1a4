/**
 * The test's view of every session the testing client opened, after Angular's `HttpTestingController`:
 * take one with `expectOne`, several with `match`, none with `expectNone`, and `verify` at the end.
 */
import type { SchedulerLike } from 'rxjs';
import type { ConnectRequest, SocketListener, WebSocketFactory } from '../transport/websocket-like.js';
import { FakeSession, type ResponseValue, type TestRequest, type TestSession } from './test-session.js';

/**
 * Which sessions a controller call is about: a text (real-time: the START text; streaming: the whole
 * text sent so far, or any one piece of it), a predicate on the request (and the session), or nothing (any).
 */
export type SessionMatch = string | ((request: TestRequest, session: TestSession) => boolean);

/** Marbles and the values of their letters, as {@link TestSession.respond} takes them: what an {@link AutoRespond} may return. */
export interface AutoResponse {
  /** The marbles, from the moment the request was sent. */
  readonly marbles: string;
  /** Letters added to (or overriding) the defaults, which carry the session's own trace id. */
  readonly values?: Readonly<Record<string, ResponseValue>> | undefined;
}

/**
 * Answers every session as soon as its request (START) is sent, on the scheduler: return marbles for
 * {@link TestSession.respond} (from that moment), `{ marbles, values }` for letters of your own, or
 * drive the session yourself (`session.start()…`, `session.respond(…)`) and return nothing.
 * @example (session) => ['-#', '-s-a-e'][session.index] // the first connection drops, the second speaks
 * @example (session) => ({ marbles: '-s-b-e', values: { b: Uint8Array.of(1, 2) } })
 */
export type AutoRespond = (session: TestSession) => string | AutoResponse | undefined;

/** The test's side of the testing client: its sessions, and expectations about them. */
export interface TestingController {
  /** Every socket the client opened, in order (sockets opened ahead of a sentence included). */
  readonly sessions: readonly TestSession[];
  /**
   * The one session not yet taken (by `expectOne` or `match`) that matches, now taken. Sessions whose
   * handshake is pending are opened first, so that their request can be read (not with no argument:
   * then a pending session is returned as it is, and can still be rejected).
   * @throws {Error} if none or several match, listing the sessions not yet taken (text, voice, state).
   */
  expectOne(match?: SessionMatch): TestSession;
  /** Every session not yet taken that matches (all of them with no argument), now taken. */
  match(match?: SessionMatch): TestSession[];
  /**
   * @throws {Error} if a session not yet taken matches (any session, with no argument), listing them.
   */
  expectNone(match?: SessionMatch): void;
  /**
   * @throws {Error} if a session is still open (neither ended by the service nor closed by the client),
   * or was never expected (taken by `expectOne`/`match`, or answered by `autoRespond`), listing them.
   */
  verify(): void;
}

const describeMatch = (match: SessionMatch | undefined): string =>
  match === undefined ? '' : typeof match === 'string' ? JSON.stringify(match) : match.name === '' ? '<predicate>' : match.name;

const list = (sessions: readonly FakeSession[]): string =>
  sessions.length === 0 ? '  (none: the client opened no session that was not taken already)' : sessions.map((session) => `  ${session.describe()}`).join('\n');

/** The controller and the socket factory it watches. */
export class Controller implements TestingController {
  private readonly all: FakeSession[] = [];

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly autoRespond: AutoRespond | undefined,
  ) {}

  /** The client's `webSocketFactory`: every socket is a {@link FakeSession}. */
  readonly factory: WebSocketFactory = (request: ConnectRequest, listener: SocketListener) => {
    const session = new FakeSession(this.all.length, request, listener, this.scheduler, {
      onRequest: (started) => {
        const { autoRespond } = this;
        if (autoRespond === undefined) return;
        started.autoAnswered = true;
        // Not from inside the client's send(): the answer comes after the command, as from a server.
        this.scheduler.schedule(() => {
          if (started.closed) return;
          const answer: unknown = autoRespond(started);
          if (answer === undefined) return;
          if (typeof answer === 'string') started.respond(answer);
          else if (typeof answer === 'object' && answer !== null && 'marbles' in answer && typeof answer.marbles === 'string') {
            started.respond(answer.marbles, (answer as AutoResponse).values);
          } else {
            throw new Error(`autoRespond returned ${String(answer)} for session #${started.index}: return marbles, { marbles, values }, or nothing`);
          }
        });
      },
    });
    this.all.push(session);
    return session.socket;
  };

  get sessions(): readonly TestSession[] {
    return [...this.all];
  }

  expectOne(match?: SessionMatch): TestSession {
    const candidates = this.candidates(match);
    const found = candidates.filter((session) => this.matches(session, match));
    const [first] = found;
    if (found.length === 1 && first !== undefined) {
      first.matched = true;
      return first;
    }
    const what = match === undefined ? 'one session' : `one session matching ${describeMatch(match)}`;
    const shown = found.length === 0 ? candidates : found;
    throw new Error(
      `expectOne(${describeMatch(match)}): expected ${what}, found ${found.length === 0 ? 'none' : found.length}. ${
        found.length === 0 ? 'Sessions not yet taken' : 'They are'
      }:\n${list(shown)}`,
    );
  }

  match(match?: SessionMatch): TestSession[] {
    const found = this.candidates(match).filter((session) => this.matches(session, match));
    for (const session of found) session.matched = true;
    return found;
  }

  expectNone(match?: SessionMatch): void {
    const found = this.candidates(match).filter((session) => this.matches(session, match));
    if (found.length === 0) return;
    throw new Error(
      `expectNone(${describeMatch(match)}): expected no session${match === undefined ? '' : ` matching ${describeMatch(match)}`}, found ${found.length}:\n${list(found)}`,
    );
  }

  verify(): void {
    const problems = this.all.flatMap((session) => {
      const open = !session.closed && session.state !== 'ended';
      const unexpected = session.hasRequest && !session.matched && !session.autoAnswered;
      const why = [...(open ? ['still open'] : []), ...(unexpected ? ['never expected (take it with expectOne or match, or answer it with autoRespond)'] : [])];
      return why.length === 0 ? [] : [`  ${session.describe()}: ${why.join('; ')}`];
    });
    if (problems.length === 0) return;
    throw new Error(`verify(): ${problems.length} session${problems.length === 1 ? ' needs' : 's need'} attention:\n${problems.join('\n')}`);
  }

  /** Sessions not yet taken; a match needs their requests, so their pending handshakes are completed first. */
  private candidates(match: SessionMatch | undefined): FakeSession[] {
    const untaken = this.all.filter((session) => !session.matched);
    if (match === undefined) return untaken.filter((session) => session.hasRequest || session.state === 'connecting');
    for (const session of untaken) session.openNow();
    return untaken.filter((session) => session.hasRequest);
  }

  private matches(session: FakeSession, match: SessionMatch | undefined): boolean {
    if (match === undefined) return true;
    if (typeof match === 'function') return match(session.request, session);
    return session.text === match || (session.api === 'streaming' && session.texts.includes(match));
  }
}
