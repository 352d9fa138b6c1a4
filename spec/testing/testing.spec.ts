/**
 * `rx-sis-tts/testing`: a real client over the kit's fake sockets, and a controller that plays the
 * service. The outcomes are the library's own (the session state machine runs unchanged), in virtual
 * time under `TestScheduler.run`, synchronously with the imperative helpers outside it.
 */
import { expect } from 'chai';
import { type Observable, Subject, map, of, take } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  SisConfigError,
  SisConnectionError,
  SisHandshakeError,
  SisServiceError,
  SisTimeoutError,
  retrySynthesis,
  type SisError,
  type SisEvent,
} from '../../lib/index.js';
import { createTestingClient, type AutoRespond, type TestingClientOptions } from '../../lib/testing/index.js';
import { createTestScheduler } from '../helpers/marbles.js';

/** What an Observable did, with the virtual time of each notification. */
interface Outcome<T> {
  readonly values: { at: number; value: T }[];
  readonly error: { at: number; error: unknown } | undefined;
  readonly completedAt: number | undefined;
}

const record = <T>(scheduler: TestScheduler, source$: Observable<T>): Outcome<T> => {
  const outcome: { values: { at: number; value: T }[]; error: { at: number; error: unknown } | undefined; completedAt: number | undefined } = {
    values: [],
    error: undefined,
    completedAt: undefined,
  };
  source$.subscribe({
    next: (value) => outcome.values.push({ at: scheduler.now(), value }),
    error: (error: unknown) => {
      outcome.error = { at: scheduler.now(), error };
    },
    complete: () => {
      outcome.completedAt = scheduler.now();
    },
  });
  return outcome;
};

const types = (outcome: Outcome<SisEvent>): string[] => outcome.values.map(({ value }) => value.type);

describe('rx-sis-tts/testing', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  const testing = (options: Omit<TestingClientOptions, 'scheduler'> = {}) => createTestingClient({ scheduler, ...options });

  describe('respond(marbles) inside TestScheduler.run', () => {
    it('answers from the moment it is called: START, audio, END complete synthesize$ in virtual time', () => {
      scheduler.run(({ expectObservable }) => {
        const { client } = testing({ autoRespond: () => '-s-a-a-e' });
        expectObservable(client.synthesize$({ text: 'Hello' }).pipe(map((chunk) => [chunk.index, chunk.data.byteLength]))).toBe('---a-b-|', {
          a: [0, 4],
          b: [1, 4],
        });
      });
    });

    it('serves a session taken with expectOne right after subscribing', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing();
        const outcome = record(scheduler, client.events$({ text: 'Hello', voice: 'chinese_xiaoyan_common' }));
        const session = controller.expectOne('Hello').respond('--s-r-a-e');
        flush();
        expect(types(outcome)).to.deep.equal(['open', 'start', 'subtitle', 'audio', 'end']);
        expect(outcome.completedAt).to.equal(8);
        expect(session.state).to.equal('closed');
        expect(session.closed).to.equal(true);
        expect(session.cancelled).to.equal(false);
        expect(session.closeCode).to.equal(1000);
        controller.verify();
      });
    });

    it('exposes the request exactly as the service receives it', () => {
      scheduler.run(() => {
        const { client, controller } = testing();
        client.synthesize$({ text: 'Hello', audioFormat: 'pcm', speed: 10 }).subscribe({ error: () => undefined });
        const session = controller.expectOne();
        expect(session.state).to.equal('connecting');
        session.start();
        expect(session.request).to.deep.equal({
          command: 'START',
          text: 'Hello',
          config: { audio_format: 'pcm', sample_rate: '8000', property: 'chinese_xiaoyan_common', speed: 10, pitch: 0, volume: 50 },
        });
        expect(session.api).to.equal('realtime');
        expect(session.texts).to.deep.equal(['Hello']);
        expect(session.voice).to.equal('chinese_xiaoyan_common');
        expect(session.handshake.url).to.equal('ws://127.0.0.1:9/v1/test-project/rtts');
      });
    });

    it('takes values for its own letters: frame objects, bytes and actions', () => {
      scheduler.run(({ flush }) => {
        const { client } = testing({
          autoRespond: (session) => {
            session.respond('-s-b-z', { b: Uint8Array.of(9, 9), z: { resp_type: 'END', trace_id: 'trace-z', reason: 'NORMAL' } });
          },
        });
        const outcome = record(scheduler, client.events$({ text: 'Hello' }));
        flush();
        const audio = outcome.values.find(({ value }) => value.type === 'audio')?.value;
        expect(audio?.type === 'audio' && Array.from(audio.chunk.data)).to.deep.equal([9, 9]);
        expect(outcome.values.at(-1)?.value).to.include({ type: 'end', traceId: 'trace-z' });
      });
    });

    it('refuses a letter it has no value for, naming the letters it knows', () => {
      scheduler.run(() => {
        const { client, controller } = testing();
        client.synthesize$({ text: 'Hello' }).subscribe({ error: () => undefined });
        expect(() => controller.expectOne('Hello').respond('-s-q')).to.throw("respond('-s-q'): no value for 'q'; the letters are s, a, r, e, x, E, F, # and |");
      });
    });

    it('delivers nothing due after the client closed the socket', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing();
        const outcome = record(scheduler, client.synthesize$({ text: 'Hello' }).pipe(take(1)));
        const session = controller.expectOne('Hello').respond('-s-a-a-a-e');
        flush();
        expect(outcome.values.map(({ at }) => at)).to.deep.equal([3]);
        expect(session.cancelled).to.equal(true);
        expect(session.state).to.equal('cancelled');
      });
    });
  });

  describe('each default letter, as the library reports it', () => {
    const outcomeOf = (marbles: string): Outcome<SisEvent> => {
      let outcome: Outcome<SisEvent> | undefined;
      scheduler.run(() => {
        const { client } = testing({ autoRespond: () => marbles });
        outcome = record(scheduler, client.events$({ text: 'Hello' }));
      });
      if (outcome === undefined) throw new Error('not run');
      return outcome;
    };
    const errorOf = (marbles: string): { at: number; error: SisError } => {
      const { error } = outcomeOf(marbles);
      if (error === undefined) throw new Error(`${marbles} did not error`);
      return error as { at: number; error: SisError };
    };

    it('s, a, r, e: start, audio, subtitle, end', () => {
      const outcome = outcomeOf('s-a-r-e');
      expect(types(outcome)).to.deep.equal(['open', 'start', 'audio', 'subtitle', 'end']);
      expect(outcome.values.find(({ value }) => value.type === 'start')?.value).to.include({ traceId: 'trace-0' });
      const subtitle = outcome.values.find(({ value }) => value.type === 'subtitle')?.value;
      expect(subtitle?.type === 'subtitle' && subtitle.words.map((word) => word.text)).to.deep.equal(['word']);
      expect(outcome.completedAt).to.equal(6);
    });

    it('E: a SisServiceError once errorGrace (1 s) has passed without the END', () => {
      const { at, error } = errorOf('-s-E');
      expect(error).to.be.instanceOf(SisServiceError);
      expect(error).to.include({ errorCode: 'SIS.0401', traceId: 'trace-0', fatal: false });
      expect(at).to.equal(3 + 1_000);
    });

    it('E then x: the SisServiceError at once, with the reason', () => {
      const { at, error } = errorOf('-s-Ex');
      expect(error).to.include({ errorCode: 'SIS.0401', reason: 'ERROR' });
      expect(at).to.equal(4);
    });

    it('x: END/ERROR, a SisServiceError', () => {
      const { error } = errorOf('-s-x');
      expect(error).to.be.instanceOf(SisServiceError);
      expect(error).to.include({ reason: 'ERROR', errorCode: undefined });
    });

    it('F: FATAL_ERROR, a fatal SisServiceError', () => {
      const { error } = errorOf('-s-F');
      expect(error).to.be.instanceOf(SisServiceError);
      expect(error).to.include({ errorCode: 'SIS.0304', fatal: true });
    });

    it('#: a dropped connection, a retryable SisConnectionError with close code 1006', () => {
      const { at, error } = errorOf('-s-a-#');
      expect(error).to.be.instanceOf(SisConnectionError);
      expect(error).to.include({ closeCode: 1006, retryable: true });
      expect(at).to.equal(5);
    });

    it('|: a normal close before END, a SisConnectionError with close code 1000', () => {
      expect(errorOf('-s-|').error).to.include({ closeCode: 1000 });
    });
  });

  describe('timeouts and cancellation in virtual time', () => {
    it("fails with the client's own timeout, and the session shows the client gave up", () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing({ timeouts: { firstAudio: 500 } });
        const outcome = record(scheduler, client.synthesize$({ text: 'Hello' }));
        const session = controller.expectOne('Hello').respond('-s');
        flush();
        expect(outcome.error?.error).to.be.instanceOf(SisTimeoutError).and.include({ phase: 'firstAudio' });
        expect(outcome.error?.at).to.equal(500);
        expect(session.cancelled).to.equal(true);
        expect(session.closeCode).to.equal(1000);
      });
    });

    it('the default timeouts run in virtual time too (firstAudio: 15 s)', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing({ autoRespond: () => '' });
        const outcome = record(scheduler, client.synthesize$({ text: 'Hello' }));
        flush();
        expect(outcome.error?.at).to.equal(15_000);
        expect(controller.expectOne('Hello').state).to.equal('cancelled');
      });
    });

    it('an unsubscription is a cancelled session', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing({ autoRespond: () => '-s-a-a-a-a-e' });
        const subscription = client.synthesize$({ text: 'Hello' }).subscribe();
        scheduler.schedule(() => subscription.unsubscribe(), 4);
        flush();
        const session = controller.expectOne('Hello');
        expect(session).to.include({ closed: true, cancelled: true, closeCode: 1000 });
      });
    });
  });

  describe('autoRespond', () => {
    it('answers each session by a function of it: retrySynthesis gets its second connection', () => {
      scheduler.run(({ expectObservable, flush }) => {
        const { client, controller } = testing({ autoRespond: (session) => (session.index === 0 ? '-#' : '-s-a-e') });
        const audio$ = client.synthesize$({ text: 'Hello' }).pipe(
          retrySynthesis({ initialDelay: 100, jitter: 0, scheduler }),
          map((chunk) => chunk.data.byteLength),
        );
        expectObservable(audio$).toBe('1ms 100ms ---a-|', { a: 4 });
        flush();
        const [first, second] = controller.match('Hello');
        expect(first?.state).to.equal('ended');
        expect(second?.state).to.equal('closed');
        controller.verify();
      });
    });

    it('lets the function drive the session with the imperative helpers', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing({
          autoRespond: (session) => {
            session.start().audio(3).end();
          },
        });
        const outcome = record(scheduler, client.synthesize$({ text: 'Hello' }));
        flush();
        expect(outcome.values).to.have.length(3);
        expect(outcome.completedAt).to.equal(0);
        controller.verify();
      });
    });
  });

  describe('speak$', () => {
    it('realtime: one session per sentence, each answered, the audio in order', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing({ autoRespond: () => '-s-a-a-e' });
        const outcome = record(scheduler, client.speak$(of('Hello there. How are you?')));
        flush();
        expect(outcome.error).to.equal(undefined);
        expect(outcome.completedAt).to.be.a('number');
        const sessions = controller.match((request) => request.command === 'START');
        expect(sessions.map((session) => session.text)).to.deep.equal(['Hello there. ', 'How are you?']);
        expect(sessions.map((session) => session.api)).to.deep.equal(['realtime', 'realtime']);
        expect(outcome.values.map(({ value }) => value.sentence?.index)).to.deep.equal([0, 0, 1, 1]);
        controller.verify();
      });
    });

    it('streaming: one session, the pieces as MSG texts, a notice from event()', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing();
        const outcome = record(scheduler, client.speakEvents$(of('Hello there. How are you?'), { api: 'streaming' }));
        const session = controller.expectOne('How are you?');
        expect(session.api).to.equal('streaming');
        expect(session.texts).to.deep.equal(['Hello there. ', 'How are you?']);
        expect(session.request).to.deep.include({ command: 'START', text_pieces: 'MULTI' });
        expect(session.commands.at(-1)).to.deep.equal({ command: 'END' });
        expect(controller.expectNone()).to.equal(undefined);
        session.start().event('VCS_END').audio(2).end();
        flush();
        expect(outcome.values.map(({ value }) => value.type)).to.deep.equal([
          'sentence',
          'sentence',
          'sent',
          'sent',
          'start',
          'notice',
          'audio',
          'audio',
          'end',
        ]);
        expect(session.state).to.equal('closed');
      });
    });

    it('streaming: matches the whole text sent too', () => {
      scheduler.run(() => {
        const { client, controller } = testing();
        client.speak$(of('Hello there. How are you?'), { api: 'streaming' }).subscribe({ error: () => undefined });
        expect(controller.expectOne('Hello there. How are you?').texts).to.have.length(2);
      });
    });
  });

  describe('the handshake', () => {
    it('reject(status): the client fails with a SisHandshakeError, no START sent', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing();
        const outcome = record(scheduler, client.synthesize$({ text: 'Hello' }));
        const session = controller.expectOne().reject(429, JSON.stringify({ error_code: 'APIGW.0308', error_msg: 'throttled' }));
        flush();
        expect(outcome.error?.error).to.be.instanceOf(SisHandshakeError).and.include({ status: 429, errorCode: 'APIGW.0308', retryable: true });
        expect(session).to.include({ state: 'closed', cancelled: false });
        expect(session.commands).to.deep.equal([]);
        expect(() => session.request).to.throw('session #0 (realtime) has not sent START yet (closed)');
      });
    });

    it('reject(status) takes an HTTP error status only, and audio(n) a positive count', () => {
      scheduler.run(() => {
        const { client, controller } = testing();
        client.synthesize$({ text: 'Hello' }).subscribe({ error: () => undefined });
        const pending = controller.expectOne();
        for (const status of [200, 101, 600, 401.5])
          expect(() => pending.reject(status)).to.throw(`reject(${status}): a rejected handshake is an HTTP error status, 400 to 599`);
        client.synthesize$({ text: 'World' }).subscribe({ error: () => undefined });
        const session = controller.expectOne('World').start();
        for (const count of [0, -1, 2.5, Number.NaN])
          expect(() => session.audio(count)).to.throw(`audio(${count}): give the bytes of a frame, or a count of frames`);
      });
    });

    it('createTestingClient refuses unknown options and an autoRespond that is not a function, with a SisConfigError', () => {
      expect(() => createTestingClient({ autorespond: () => '-s' } as TestingClientOptions)).to.throw(SisConfigError, 'autorespond');
      expect(() => createTestingClient({ autoRespond: '-s-a-e' } as unknown as TestingClientOptions)).to.throw(
        SisConfigError,
        'autoRespond: must be a function',
      );
      expect(() => createTestingClient(null as unknown as TestingClientOptions)).to.throw(SisConfigError);
    });

    it('reject is refused once the handshake is over', () => {
      scheduler.run(() => {
        const { client, controller } = testing();
        client.synthesize$({ text: 'Hello' }).subscribe({ error: () => undefined });
        const session = controller.expectOne('Hello');
        expect(() => session.reject(401)).to.throw('session #0 (realtime): reject(401) is only possible while the handshake is pending, and it is unanswered');
      });
    });
  });

  describe('the controller', () => {
    it('expectOne lists the sessions not yet taken when none matches', () => {
      scheduler.run(() => {
        const { client, controller } = testing();
        client.synthesize$({ text: 'Good morning', voice: 'chinese_xiaoqi_common' }).subscribe({ error: () => undefined });
        client.synthesize$({ text: 'Good night' }).subscribe({ error: () => undefined });
        controller.expectOne('Good night').start();
        expect(() => controller.expectOne('Hello')).to.throw(
          'expectOne("Hello"): expected one session matching "Hello", found none. Sessions not yet taken:\n' +
            '  session #0 (realtime) "Good morning" (voice chinese_xiaoqi_common, unanswered)',
        );
      });
    });

    it('expectOne says so when the client opened no session at all', () => {
      const { controller } = createTestingClient();
      expect(() => controller.expectOne()).to.throw(
        'expectOne(): expected one session, found none. Sessions not yet taken:\n  (none: the client opened no session that was not taken already)',
      );
    });

    it('expectOne lists the sessions when several match; match takes them all', () => {
      scheduler.run(() => {
        const { client, controller } = testing();
        client.synthesize$({ text: 'Hello' }).subscribe({ error: () => undefined });
        client.synthesize$({ text: 'Hello', speed: 100 }).subscribe({ error: () => undefined });
        expect(() => controller.expectOne('Hello')).to.throw(
          'expectOne("Hello"): expected one session matching "Hello", found 2. They are:\n' +
            '  session #0 (realtime) "Hello" (voice chinese_xiaoyan_common, unanswered)\n' +
            '  session #1 (realtime) "Hello" (voice chinese_xiaoyan_common, unanswered)',
        );
        const fast = function fast(request: { config: object }) {
          return 'speed' in request.config && request.config.speed === 100;
        };
        expect(controller.expectOne(fast).index).to.equal(1);
        expect(controller.match('Hello').map((session) => session.index)).to.deep.equal([0]);
        expect(controller.match('Hello')).to.deep.equal([]);
      });
    });

    it('expectNone throws with the sessions that match', () => {
      scheduler.run(() => {
        const { client, controller } = testing();
        controller.expectNone();
        client.synthesize$({ text: 'Hello' }).subscribe({ error: () => undefined });
        controller.expectNone('Bye');
        expect(() => controller.expectNone('Hello')).to.throw(
          'expectNone("Hello"): expected no session matching "Hello", found 1:\n  session #0 (realtime) "Hello" (voice chinese_xiaoyan_common, unanswered)',
        );
      });
    });

    it('verify lists the sessions still open and those never expected', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing({ timeouts: { firstAudio: Infinity, idle: Infinity } });
        client.synthesize$({ text: 'Open' }).subscribe({ error: () => undefined });
        client.synthesize$({ text: 'Answered' }).subscribe();
        client.synthesize$({ text: 'Taken' }).subscribe({ error: () => undefined });
        controller.expectOne('Taken').start().audio();
        flush();
        controller.match('Answered')[0]?.start().end();
        controller.match('Answered');
        expect(() => controller.verify()).to.throw(
          'verify(): 2 sessions need attention:\n' +
            '  session #0 (realtime) "Open" (voice chinese_xiaoyan_common, unanswered): still open; never expected (take it with expectOne or match, or answer it with autoRespond)\n' +
            '  session #2 (realtime) "Taken" (voice chinese_xiaoyan_common, answering): still open',
        );
      });
    });

    it('the helpers refuse to answer a session the client has closed', () => {
      scheduler.run(() => {
        const { client, controller } = testing();
        client.synthesize$({ text: 'Hello' }).pipe(take(1)).subscribe();
        const session = controller.expectOne('Hello').start().audio();
        expect(() => session.end()).to.throw('session #0 (realtime): cannot end(): the client cancelled the session already');
        expect(() => session.respond('-e')).to.throw('cannot respond');
      });
    });
  });

  describe('autoRespond: its answer', () => {
    it('may be { marbles, values }: letters of its own beside the defaults', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing({ autoRespond: () => ({ marbles: '-s-b-e', values: { b: Uint8Array.of(7, 8, 9) } }) });
        const outcome = record(scheduler, client.synthesize$({ text: 'Hello' }).pipe(map((chunk) => Array.from(chunk.data))));
        flush();
        expect(outcome.values).to.deep.equal([{ at: 3, value: [7, 8, 9] }]);
        expect(outcome.completedAt).to.equal(5);
        controller.verify();
      });
    });

    it('is refused, with what to return instead, when it is neither marbles, { marbles, values } nor nothing', () => {
      scheduler.run(({ flush }) => {
        const { client } = testing({ autoRespond: (() => 42) as unknown as AutoRespond });
        client.synthesize$({ text: 'Hello' }).subscribe({ error: () => undefined });
        expect(() => flush()).to.throw('autoRespond returned 42 for session #0: return marbles, { marbles, values }, or nothing');
      });
    });
  });

  describe("a session's trace id", () => {
    it('is trace-<index> in every default letter: a session that fails reports its own', () => {
      scheduler.run(({ flush }) => {
        const { client } = testing({ autoRespond: (session) => (session.index === 0 ? '-s-r-e' : '-s-(Ex)') });
        const first = record(scheduler, client.events$({ text: 'one' }));
        const second = record(scheduler, client.events$({ text: 'two' }));
        flush();
        const traced = first.values.flatMap(({ value }) => ('traceId' in value ? [`${value.type} ${value.traceId}`] : []));
        expect(traced).to.deep.equal(['start trace-0', 'subtitle trace-0', 'end trace-0']);
        expect(second.error?.error).to.be.instanceOf(SisServiceError).and.include({ traceId: 'trace-1', errorCode: 'SIS.0401', reason: 'ERROR' });
      });
    });

    it('can be set before answering, and the letters and helpers carry it', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing();
        const marbled = record(scheduler, client.events$({ text: 'marbles' }));
        const helped = record(scheduler, client.events$({ text: 'helpers' }));
        const started = record(scheduler, client.events$({ text: 'started' }));
        const session = controller.expectOne('marbles');
        session.traceId = 'the-trace';
        session.respond('-s-x');
        controller.expectOne('helpers').start('from-start').audio().fail('SIS.0312');
        const third = controller.expectOne('started');
        third.traceId = 'set';
        third.start().fatal();
        flush();
        expect(marbled.error?.error).to.include({ traceId: 'the-trace', reason: 'ERROR' });
        expect(helped.error?.error).to.include({ traceId: 'from-start', errorCode: 'SIS.0312' });
        expect(started.error?.error).to.include({ traceId: 'set', fatal: true });
        expect(started.values.find(({ value }) => value.type === 'start')?.value).to.include({ traceId: 'set' });
      });
    });
  });

  describe('openedAt, endedAt, closedAt: the teardown timeline', () => {
    it('records when the client opened the socket, and when it gave up on it', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing({ timeouts: { firstAudio: 500 }, autoRespond: () => '-s' });
        scheduler.schedule(() => client.synthesize$({ text: 'Hello' }).subscribe({ error: () => undefined }), 3);
        flush();
        expect(controller.expectOne('Hello')).to.include({ openedAt: 3, endedAt: undefined, closedAt: 503, cancelled: true });
      });
    });

    it('records when the service ended it, and when the client closed it then', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing({ autoRespond: (session) => ['-s-a-#', '-s-a-e'][session.index] });
        client.synthesize$({ text: 'dropped' }).subscribe({ error: () => undefined });
        client.synthesize$({ text: 'spoken' }).subscribe();
        flush();
        expect(controller.expectOne('dropped')).to.include({ openedAt: 0, endedAt: 5, closedAt: undefined, state: 'ended' });
        expect(controller.expectOne('spoken')).to.include({ openedAt: 0, endedAt: 5, closedAt: 5, state: 'closed' });
      });
    });
  });

  describe('pause() and resume(): flow control', () => {
    it('holds the frames due while the client has paused the socket, and delivers them in order once it resumes', () => {
      scheduler.run(({ hot, flush }) => {
        const { client, controller } = testing({ autoRespond: () => '-s-a-a-e' });
        const outcome = record(scheduler, client.synthesize$({ text: 'Hello' }, { paused$: hot('--t---f', { t: true, f: false }) }));
        const session = controller.expectOne('Hello');
        const seen: boolean[] = [];
        scheduler.schedule(() => seen.push(session.paused), 4);
        flush();
        expect(seen).to.deep.equal([true]);
        expect(outcome.values.map(({ at }) => at)).to.deep.equal([6, 6]);
        expect(outcome.completedAt).to.equal(7);
        expect(session.paused).to.equal(false);
        expect(session.pauses).to.deep.equal([{ pausedAt: 2, resumedAt: 6 }]);
      });
    });

    it('holds what the helpers send too, and delivers it on the scheduler, never from inside resume()', () => {
      scheduler.run(({ flush }) => {
        const { client, controller } = testing();
        const paused$ = new Subject<boolean>();
        const chunks: number[] = [];
        let done = false;
        client.synthesize$({ text: 'Hello' }, { paused$ }).subscribe({ next: (chunk) => chunks.push(chunk.data.byteLength), complete: () => (done = true) });
        const session = controller.expectOne('Hello').start();
        paused$.next(true);
        session.audio(2).end();
        expect([chunks, done, session.state]).to.deep.equal([[], false, 'answering']);
        paused$.next(false);
        expect(chunks).to.deep.equal([]);
        flush();
        expect([chunks, done, session.state]).to.deep.equal([[4, 4], true, 'closed']);
        expect(session.pauses).to.deep.equal([{ pausedAt: 0, resumedAt: 0 }]);
      });
    });
  });

  describe('outside TestScheduler.run', () => {
    it('the imperative helpers deliver synchronously, on the default scheduler', () => {
      const { client, controller } = createTestingClient();
      const chunks: number[] = [];
      let done = false;
      client.synthesize$({ text: 'Hello' }).subscribe({ next: (chunk) => chunks.push(chunk.data.byteLength), complete: () => (done = true) });
      const session = controller.expectOne('Hello').start().audio(2).audio(Uint8Array.of(1));
      expect(chunks).to.deep.equal([4, 4, 1]);
      session.end();
      expect(done).to.equal(true);
      controller.verify();
    });

    it('fail(code) sends ERROR then END/ERROR: a SisServiceError at once', () => {
      const { client, controller } = createTestingClient();
      let failure: unknown;
      client.synthesize$({ text: 'Hello' }).subscribe({ error: (error: unknown) => (failure = error) });
      controller.expectOne('Hello').start().fail('SIS.0312', 'maximum concurrency exceeded');
      expect(failure).to.be.instanceOf(SisServiceError).and.include({ errorCode: 'SIS.0312', errorMsg: 'maximum concurrency exceeded', reason: 'ERROR' });
      controller.verify();
    });

    it('drop(code) and fatal() end the session as the service would', () => {
      const { client, controller } = createTestingClient();
      const errors: unknown[] = [];
      client.synthesize$({ text: 'one' }).subscribe({ error: (error: unknown) => errors.push(error) });
      client.synthesize$({ text: 'two' }).subscribe({ error: (error: unknown) => errors.push(error) });
      controller.expectOne('one').start().drop(1011);
      controller.expectOne('two').fatal('SIS.0416');
      expect(errors[0]).to.be.instanceOf(SisConnectionError).and.include({ closeCode: 1011 });
      expect(errors[1]).to.be.instanceOf(SisServiceError).and.include({ errorCode: 'SIS.0416', fatal: true });
      controller.verify();
    });
  });
});
