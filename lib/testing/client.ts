/**
 * `createTestingClient`: a real {@link SisClient} over the kit's fake sockets. The session state machine
 * is the library's own (validation, timeouts, errors, teardown); only the service is played by the test.
 * It is the platform-free client core (client-core.ts), so `rx-sis-tts/testing` never loads `ws`.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { fn, isObject, objectProblems, optional, unknownKeyProblems } from '../checks.js';
import { SisConfigError } from '../errors.js';
import type { RequestLimits } from '../protocol/request.js';
import { makeSisClient, type SisClient } from '../session/client-core.js';
import type { Timeouts } from '../session/options.js';
import type { WarmOptions } from '../session/warm-pool.js';
import { Controller, type AutoRespond, type TestingController } from './controller.js';

/** Options of {@link createTestingClient}; every one is optional. */
export interface TestingClientOptions {
  /**
   * Where the handshakes, the answers of `respond` and the client's timeouts run: the `TestScheduler` in
   * marble tests (pass it: everything then runs in virtual time). Default `asyncScheduler`.
   */
  readonly scheduler?: SchedulerLike | undefined;
  /** Answers every session by itself (see {@link AutoRespond}); by default the test answers each one. */
  readonly autoRespond?: AutoRespond | undefined;
  /** The client's time limits (see {@link Timeouts}): they run on `scheduler` too. */
  readonly timeouts?: Partial<Timeouts> | undefined;
  /** The client's request limits. */
  readonly limits?: Partial<RequestLimits> | undefined;
  /** The client's warm sockets (`warm: { size }`): they come from the fake service too. */
  readonly warm?: WarmOptions | undefined;
}

/** What {@link createTestingClient} returns: the client to give the code under test, and the test's controller. */
export interface TestingClient {
  /** A real client (`createSisClient`) whose sockets are the controller's. */
  readonly client: SisClient;
  /** The sessions the client opened, and the service's answers. */
  readonly controller: TestingController;
}

/** The endpoint, project and token the testing client uses: no socket ever leaves the process. */
export const TESTING_ENDPOINT = 'ws://127.0.0.1:9';
/** The project id of the testing client. */
export const TESTING_PROJECT_ID = 'test-project';

/**
 * A client for testing code that uses `rx-sis-tts`, and the controller that plays the service.
 * Each handshake succeeds on `scheduler` right after the client asked for it (or as soon as the test
 * answers); then nothing comes until the test (or `autoRespond`) answers. The imperative helpers
 * (`start()`, `audio()`, `end()`…) deliver synchronously; `respond(marbles)` delivers on `scheduler`.
 * @example
 * testScheduler.run(({ expectObservable }) => {
 *   const { client, controller } = createTestingClient({ scheduler: testScheduler, autoRespond: () => '-s-a-e' });
 *   expectObservable(client.synthesize$({ text: 'Hello' }).pipe(map((chunk) => chunk.data.byteLength))).toBe('---a-|', { a: 4 });
 * });
 * @example
 * const { client, controller } = createTestingClient();
 * const chunks: AudioChunk[] = [];
 * client.synthesize$({ text: 'Hello' }).subscribe((chunk) => chunks.push(chunk));
 * controller.expectOne('Hello').start().audio(2).end();
 * controller.verify();
 */
export const createTestingClient = (options: TestingClientOptions = {}): TestingClient => {
  const shape = '{ scheduler?, autoRespond?, timeouts?, limits?, warm? }';
  const problems = isObject(options)
    ? [
        ...unknownKeyProblems(options, ['scheduler', 'autoRespond', 'timeouts', 'limits', 'warm']),
        ...optional(fn('a function (session) => marbles, { marbles, values } or nothing'))('autoRespond', options.autoRespond),
      ]
    : objectProblems('', options, shape);
  if (problems.length > 0) throw new SisConfigError(problems, 'createTestingClient options');
  const scheduler = options.scheduler ?? asyncScheduler;
  const controller = new Controller(scheduler, options.autoRespond);
  // Node's rules (a token is accepted), with the controller's sockets in place of `ws`.
  const client = makeSisClient(
    {
      endpoint: TESTING_ENDPOINT,
      projectId: TESTING_PROJECT_ID,
      auth: { token: 'testing-token' },
      webSocketFactory: controller.factory,
      scheduler,
      timeouts: options.timeouts,
      limits: options.limits,
      warm: options.warm,
    },
    { kind: 'node', webSocketFactory: controller.factory },
  );
  return { client, controller };
};
