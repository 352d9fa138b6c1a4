import { expect } from 'chai';
import { NEVER, type Observable, of, take } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  SisAuthError,
  SisConnectionError,
  SisHandshakeError,
  SisProtocolError,
  SisRequestError,
  SisServiceError,
  SisTimeoutError,
  audioOnly,
  createSisClient,
  type SisConnectionOptions,
  type SisEvent,
} from '../../lib/index.js';
import {
  TRACE,
  activity,
  binary,
  close,
  endFrame,
  errorFrame,
  fail,
  fakeSockets,
  fatalFrame,
  open,
  startFrame,
  text,
  type ServerAction,
} from '../helpers/fake-socket.js';
import { audioChunk } from '../helpers/chunks.js';
import { createTestScheduler } from '../helpers/marbles.js';

const URL = 'ws://127.0.0.1:9/v1/project-1/rtts';
const TOKEN = 'token-for-marble-tests';

const setup = (scheduler: TestScheduler, script: Observable<ServerAction>, extra: Partial<SisConnectionOptions> = {}) => {
  const fake = fakeSockets(scheduler, () => script);
  const client = createSisClient({
    endpoint: 'ws://127.0.0.1:9',
    projectId: 'project-1',
    auth: { token: TOKEN },
    timeouts: { connect: 50, firstAudio: 50, idle: 50, errorGrace: 20 },
    webSocketFactory: fake.factory,
    scheduler,
    ...extra,
  });
  return { fake, client };
};

// Script values used across the tests.
const v = {
  o: open,
  s: startFrame(),
  a: binary(1, 2),
  b: binary(3, 4, 5),
  e: endFrame(),
  x: endFrame('ERROR'),
  r: errorFrame('SIS.0032', "'audio_format' is invalid"),
  f: fatalFrame(),
  c: close(1006),
};

describe('synthesize$ (marble tests over a fake socket)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  it('emits one chunk per binary frame, completes on END/NORMAL and closes the socket at that moment', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const script = cold('-o-s-a-b-e', v);
      const { fake, client } = setup(scheduler, script);
      expectObservable(client.synthesize$({ text: '你好' })).toBe('-----a-b-|', {
        a: audioChunk([1, 2]),
        b: audioChunk([3, 4, 5], { index: 1, offset: 2 }),
      });
      expectSubscriptions(script.subscriptions).toBe('^--------!');
      flush();
      expect(fake.sockets).to.have.length(1);
      expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: 9 }]);
    });
  });

  it('is cold: no socket before subscription, one socket per subscription', () => {
    scheduler.run(({ cold, expectObservable, flush }) => {
      const script = cold('-o-s-a-e', v);
      const { fake, client } = setup(scheduler, script);
      const audio$ = client.synthesize$({ text: 'hello' });
      flush();
      expect(fake.sockets).to.have.length(0);
      expectObservable(audio$).toBe('-----a-|', { a: audioChunk([1, 2]) });
      expectObservable(audio$).toBe('-----a-|', { a: audioChunk([1, 2]) });
      flush();
      expect(fake.sockets).to.have.length(2);
    });
  });

  it('sends START once, after open, with the wire config and the handshake headers', () => {
    scheduler.run(({ cold, flush }) => {
      const { fake, client } = setup(scheduler, cold('-o-s-e', v), { enterpriseProjectId: 'ep-1' });
      client.synthesize$({ text: 'hi', audioFormat: 'alaw', sampleRate: 16000, speed: -20, subtitle: 'word_level' }).subscribe();
      flush();
      const socket = fake.sockets[0];
      expect(socket?.request.url).to.equal(URL);
      expect(socket?.request.headers).to.deep.equal({ 'X-Auth-Token': TOKEN, 'Enterprise-Project-Id': 'ep-1' });
      expect(socket?.sent.map((s) => JSON.parse(s))).to.deep.equal([
        {
          command: 'START',
          text: 'hi',
          config: {
            audio_format: 'alaw',
            sample_rate: '16000',
            property: 'chinese_xiaoyan_common',
            speed: -20,
            pitch: 0,
            volume: 50,
            subtitle: 'word_level',
          },
        },
      ]);
    });
  });

  it('reports the whole lifecycle with timings on events$', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const { client } = setup(scheduler, cold('-o-s-a-e', v));
      expectObservable(client.events$({ text: 'hello' })).toBe('-o-s-a-(e|)', {
        o: { type: 'open', url: URL, connectMs: 1 },
        s: { type: 'start', traceId: TRACE, elapsedMs: 3 },
        a: { type: 'audio', chunk: audioChunk([1, 2]) },
        e: {
          type: 'end',
          traceId: TRACE,
          reason: 'NORMAL',
          chunks: 1,
          bytes: 2,
          timings: { connectMs: 1, firstAudioMs: 5, totalMs: 7 },
        },
      } satisfies Record<string, SisEvent>);
    });
  });

  it('tells on synthesize$ exactly what events$ piped through audioOnly() tells, however the session goes', () => {
    const future = text({ resp_type: 'PROGRESS', trace_id: TRACE, percent: 50 });
    const result = text({ resp_type: 'RESULT', trace_id: TRACE, result: [{ start_time: 0, end_time: 200, text: '你', word_index: 0 }] });
    const scripts = ['-o-s-a-b-e', '-o-s-u-t-a-e', '-o-s-a-x', '-o-s-a-r-x', '-o-s-a-r', '-o-s-a-f', '-o-s-a-c', '-o-a', '-o-s-a-e-e', '-o-s-a', '-o', '-'];
    for (const marbles of scripts) {
      scheduler = createTestScheduler();
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold(marbles, { ...v, u: future, t: result }));
        expectObservable(client.synthesize$({ text: '你' })).toEqual(client.events$({ text: '你' }).pipe(audioOnly()));
      });
    }
  });

  it('maps RESULT frames to subtitle events and keeps going', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const result = text({
        resp_type: 'RESULT',
        trace_id: TRACE,
        result: [{ start_time: 0, end_time: 200, text: '你', word_index: 0, phonemes: [{ phoneme: 'n', start_time: 0, end_time: 90, phoneme_index: 0 }] }],
      });
      const { client } = setup(scheduler, cold('-o-s-t-e', { ...v, t: result }));
      expectObservable(client.events$({ text: '你', subtitle: 'phoneme_level' })).toBe('-o-s-t-(e|)', {
        o: { type: 'open', url: URL, connectMs: 1 },
        s: { type: 'start', traceId: TRACE, elapsedMs: 3 },
        t: {
          type: 'subtitle',
          traceId: TRACE,
          words: [{ text: '你', startTime: 0, endTime: 200, wordIndex: 0, phonemes: [{ phoneme: 'n', startTime: 0, endTime: 90, phonemeIndex: 0 }] }],
        },
        e: { type: 'end', traceId: TRACE, reason: 'NORMAL', chunks: 0, bytes: 0, timings: { connectMs: 1, firstAudioMs: undefined, totalMs: 7 } },
      });
    });
  });

  it('reports a well-formed frame of an unknown resp_type as an unknown event and goes on', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const future = text({ resp_type: 'PROGRESS', trace_id: TRACE, percent: 50 });
      const { client } = setup(scheduler, cold('-o-s-u-a-e', { ...v, u: future }));
      expectObservable(client.events$({ text: 'x' }).pipe(take(4))).toBe('-o-s-u-(a|)', {
        o: { type: 'open', url: URL, connectMs: 1 },
        s: { type: 'start', traceId: TRACE, elapsedMs: 3 },
        u: { type: 'unknown', respType: 'PROGRESS', frame: { resp_type: 'PROGRESS', trace_id: TRACE, percent: 50 } },
        a: { type: 'audio', chunk: audioChunk([1, 2]) },
      });
    });
  });

  describe('errors', () => {
    it('errors with the trace id on END/ERROR', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const script = cold('-o-s-a-x', v);
        const { client } = setup(scheduler, script);
        expectObservable(client.synthesize$({ text: 'x' })).toBe(
          '-----a-#',
          { a: audioChunk([1, 2]) },
          new SisServiceError({ traceId: TRACE, reason: 'ERROR' }),
        );
        expectSubscriptions(script.subscriptions).toBe('^------!');
      });
    });

    it('carries the code and message of an ERROR frame into the END/ERROR that follows it', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const script = cold('-o-s-r-x', v);
        const { client } = setup(scheduler, script);
        const expected = new SisServiceError({ traceId: TRACE, errorCode: 'SIS.0032', errorMsg: "'audio_format' is invalid", reason: 'ERROR' });
        expectObservable(client.synthesize$({ text: 'x' })).toBe('-------#', {}, expected);
        expectSubscriptions(script.subscriptions).toBe('^------!');
        expect(expected.retryable).to.equal(false);
      });
    });

    it('errors on an ERROR frame alone once timeouts.errorGrace has passed, ignoring audio after it', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s-r-a', v));
        expectObservable(client.synthesize$({ text: 'x' })).toBe(
          '----- 20ms #',
          {},
          new SisServiceError({ traceId: TRACE, errorCode: 'SIS.0032', errorMsg: "'audio_format' is invalid" }),
        );
      });
    });

    it('keeps the service error when a malformed frame follows an ERROR frame', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s-r-j', { ...v, j: text('{"resp_type":') }));
        expectObservable(client.synthesize$({ text: 'x' })).toBe(
          '-------#',
          {},
          new SisServiceError({ traceId: TRACE, errorCode: 'SIS.0032', errorMsg: "'audio_format' is invalid" }),
        );
      });
    });

    it('errors with SisProtocolError on a frame that breaks the WebSocket protocol', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s-w', { ...v, w: fail({ kind: 'invalid-frame', message: 'invalid opcode 3' }) }));
        expectObservable(client.synthesize$({ text: 'x' })).toBe(
          '-----#',
          {},
          new SisProtocolError('an invalid WebSocket frame (invalid opcode 3)', { at: 'after START and 0 audio frames (1 frame received)', traceId: TRACE }),
        );
      });
    });

    it('reports the service error, not a timeout, when timeouts.total runs out while it waits for END after ERROR', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s-r', v), { timeouts: { total: 10, errorGrace: 20 } });
        expectObservable(client.synthesize$({ text: 'x' })).toBe(
          '10ms #',
          {},
          new SisServiceError({ traceId: TRACE, errorCode: 'SIS.0032', errorMsg: "'audio_format' is invalid" }),
        );
      });
    });

    it('errors at once on FATAL_ERROR, marked fatal', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const script = cold('-o---f', v);
        const { client } = setup(scheduler, script);
        const expected = new SisServiceError({ traceId: TRACE, errorCode: 'SIS.0304', errorMsg: 'wait voice timeout', fatal: true });
        expectObservable(client.synthesize$({ text: 'x' })).toBe('-----#', {}, expected);
        expectSubscriptions(script.subscriptions).toBe('^----!');
        expect(expected.retryable).to.equal(true);
      });
    });

    it('errors with the close code and the trace id when the connection closes before END', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s-a-c', v));
        expectObservable(client.synthesize$({ text: 'x' })).toBe(
          '-----a-#',
          { a: audioChunk([1, 2]) },
          new SisConnectionError('connection closed after START and 1 audio frame (2 frames received) (code 1006)', {
            closeCode: 1006,
            closeReason: '',
            traceId: TRACE,
          }),
        );
        flush();
        // The server closed it: nothing left to close.
        expect(fake.sockets[0]?.endedBy).to.deep.equal([]);
      });
    });

    it('errors with SisHandshakeError carrying the gateway body when the handshake is rejected', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const body = JSON.stringify({ error_code: 'APIG.0301', error_msg: 'Incorrect IAM authentication information', request_id: 'r-1' });
        const { client } = setup(scheduler, cold('--h', { h: fail({ kind: 'handshake-rejected', status: 401, body }) }));
        const expected = new SisHandshakeError({ status: 401, errorCode: 'APIG.0301', errorMsg: 'Incorrect IAM authentication information', requestId: 'r-1' });
        expectObservable(client.synthesize$({ text: 'x' })).toBe('--#', {}, expected);
        expect(expected.message).not.to.include(TOKEN);
      });
    });

    it('errors with SisConnectionError on a network failure while connecting, and terminates the socket', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, cold('--n', { n: fail({ kind: 'network', message: 'connect ECONNREFUSED 127.0.0.1:9' }) }));
        expectObservable(client.synthesize$({ text: 'x' })).toBe(
          '--#',
          {},
          new SisConnectionError('connection failed while connecting: connect ECONNREFUSED 127.0.0.1:9'),
        );
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'terminate', at: 2 }]);
      });
    });

    it('errors with a protocol error when a frame exceeds maxPayload', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s-a-m', { ...v, m: fail({ kind: 'frame-too-large', limit: 4096 }) }), { maxPayload: 4096 });
        expectObservable(client.synthesize$({ text: 'x' })).toBe(
          '-----a-#',
          { a: audioChunk([1, 2]) },
          new SisProtocolError('a frame larger than maxPayload (4096 bytes)', { at: 'after START and 1 audio frame (2 frames received)', traceId: TRACE }),
        );
      });
    });

    const violations: [string, string, Record<string, ServerAction>, string][] = [
      ['audio before the START response', '-o-a', v, 'audio arrived before the START response'],
      ['a second START', '-o-s-s', v, 'a second START response'],
      ['END/NORMAL before START', '-o-e', v, 'END before the START response'],
      ['RESULT before START', '-o-t', { ...v, t: text({ resp_type: 'RESULT', trace_id: TRACE, result: [] }) }, 'a RESULT frame before the START response'],
      ['a frame that is not JSON', '-o-s-j', { ...v, j: text('{"resp_type":') }, 'a text frame that is not JSON: "{\\"resp_type\\":"'],
      [
        'a frame without resp_type',
        '-o-s-j',
        { ...v, j: text({ trace_id: TRACE }) },
        `a frame without a string resp_type: ${JSON.stringify(JSON.stringify({ trace_id: TRACE }))}`,
      ],
      [
        'a known frame with a mistyped field',
        '-o-s-j',
        { ...v, j: text({ resp_type: 'END', trace_id: TRACE, reason: 'DONE' }) },
        `a malformed END frame (reason: must be "NORMAL" or "ERROR", got "DONE"): ${JSON.stringify(JSON.stringify({ resp_type: 'END', trace_id: TRACE, reason: 'DONE' }))}`,
      ],
    ];
    for (const [name, marbles, values, problem] of violations) {
      it(`errors with SisProtocolError on ${name}`, () => {
        scheduler.run(({ cold, expectSubscriptions, flush }) => {
          const script = cold(marbles, values);
          const { client } = setup(scheduler, script);
          const at = marbles.length - 1;
          const seen: { error: unknown; at: number }[] = [];
          client.synthesize$({ text: 'x' }).subscribe({ error: (error: unknown) => seen.push({ error, at: scheduler.now() }) });
          expectSubscriptions(script.subscriptions).toBe(`^${'-'.repeat(at - 1)}!`);
          flush();
          expect(seen).to.have.length(1);
          expect(seen[0]?.at).to.equal(at);
          const error = seen[0]?.error;
          expect(error).to.be.instanceOf(SisProtocolError);
          expect((error as SisProtocolError).message).to.include(problem);
          expect((error as SisProtocolError).retryable).to.equal(false);
        });
      });
    }
  });

  describe('timeouts', () => {
    it('times out connecting (timeouts.connect) and terminates the socket', () => {
      scheduler.run(({ expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, NEVER);
        expectObservable(client.synthesize$({ text: 'x' })).toBe('50ms #', {}, new SisTimeoutError('connect', 50));
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'terminate', at: 50 }]);
      });
    });

    it('times out waiting for the first audio (timeouts.firstAudio), counted from open', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s', v));
        expectObservable(client.synthesize$({ text: 'x' })).toBe('- 50ms #', {}, new SisTimeoutError('firstAudio', 50, TRACE));
      });
    });

    it('does not time out while frames keep flowing, and times out on a gap longer than timeouts.idle', () => {
      scheduler.run(({ cold, expectObservable }) => {
        // a frame every 30 ms (idle is 50), then silence
        const script = cold('-o-s-a 29ms a 29ms a 29ms a', v);
        const { client } = setup(scheduler, script);
        const a = (i: number) => audioChunk([1, 2], { index: i, offset: i * 2 });
        expectObservable(client.synthesize$({ text: 'x' })).toBe(
          '-----a 29ms b 29ms c 29ms d 49ms #',
          { a: a(0), b: a(1), c: a(2), d: a(3) },
          new SisTimeoutError('idle', 50, TRACE),
        );
      });
    });

    it('does not time out idle while the bytes of a frame are still arriving', () => {
      scheduler.run(({ cold, expectObservable }) => {
        // after the first chunk, only partial-frame activity every 40 ms (idle is 50), then a chunk
        const script = cold('-o-s-a 39ms y 39ms y 39ms a', { ...v, y: activity });
        const { client } = setup(scheduler, script);
        expectObservable(client.synthesize$({ text: 'x' }).pipe(take(2))).toBe('-----a 119ms (b|)', {
          a: audioChunk([1, 2]),
          b: audioChunk([1, 2], { index: 1, offset: 2 }),
        });
      });
    });

    it('times out the whole session (timeouts.total)', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const script = cold('-o-s-a 29ms a 29ms a 29ms a', v);
        const { client } = setup(scheduler, script, { timeouts: { connect: 50, firstAudio: 50, idle: 50, total: 70 } });
        const a = (i: number) => audioChunk([1, 2], { index: i, offset: i * 2 });
        expectObservable(client.synthesize$({ text: 'x' })).toBe(
          '-----a 29ms b 29ms c 4ms #',
          { a: a(0), b: a(1), c: a(2) },
          new SisTimeoutError('total', 70, TRACE),
        );
      });
    });
  });

  describe('flow control (paused$)', () => {
    it('pauses and resumes the socket, and suspends the idle timeout while paused', () => {
      scheduler.run(({ cold, hot, expectObservable, expectSubscriptions, flush }) => {
        const script = cold('-o-s-a', v);
        const paused$ = hot('-------t 72ms f', { t: true, f: false });
        const { fake, client } = setup(scheduler, script);
        expectObservable(client.synthesize$({ text: 'x' }, { paused$ })).toBe(
          '-----a 74ms 50ms #',
          { a: audioChunk([1, 2]) },
          new SisTimeoutError('idle', 50, TRACE),
        );
        expectSubscriptions(paused$.subscriptions).toBe('^ 129ms !');
        flush();
        expect(fake.sockets[0]?.flow).to.deep.equal([
          { call: 'pause', at: 7 },
          { call: 'resume', at: 80 },
        ]);
      });
    });
  });

  describe('teardown', () => {
    it('closes the socket with 1000 when the subscriber unsubscribes mid-stream', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
        const script = cold('-o-s-a-a-a-a-e', v);
        const { fake, client } = setup(scheduler, script);
        expectObservable(client.synthesize$({ text: 'x' }), '^------!').toBe('-----a-', { a: audioChunk([1, 2]) });
        expectSubscriptions(script.subscriptions).toBe('^------!');
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: 7 }]);
      });
    });

    it('closes the socket as soon as take(1) has its chunk', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const script = cold('-o-s-a-a-a-e', v);
        const { client } = setup(scheduler, script);
        expectObservable(client.synthesize$({ text: 'x' }).pipe(take(1))).toBe('-----(a|)', { a: audioChunk([1, 2]) });
        expectSubscriptions(script.subscriptions).toBe('^----!');
      });
    });

    it('terminates a socket that is still connecting when the subscriber leaves', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, cold('-----o-s-e', v));
        expectObservable(client.synthesize$({ text: 'x' }), '^--!').toBe('---');
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'terminate', at: 3 }]);
      });
    });

    it('closes the socket after an error it raised itself (a timeout)', () => {
      scheduler.run(({ cold, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s', v));
        client.synthesize$({ text: 'x' }).subscribe({ error: () => undefined });
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: 51 }]);
      });
    });
  });

  describe('credentials and validation', () => {
    it('fails an invalid request with SisRequestError before any socket is opened', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s-e', v));
        const request = { text: '', speed: 501 };
        expectObservable(client.synthesize$(request)).toBe(
          '#',
          {},
          new SisRequestError([
            { path: 'text', message: 'must contain something to speak, got an empty or blank text' },
            { path: 'speed', message: 'must be an integer from -500 to 500, got 501' },
          ]),
        );
        flush();
        expect(fake.sockets).to.have.length(0);
      });
    });

    it('asks a token provider once per connection (sync or Observable)', () => {
      scheduler.run(({ cold, flush }) => {
        let calls = 0;
        const { fake, client } = setup(scheduler, cold('-o-s-e', v), { auth: { token: () => `t${++calls}` } });
        client.synthesize$({ text: 'x' }).subscribe();
        flush();
        const observableClient = setup(scheduler, cold('-o-s-e', v), { auth: { token: () => of('from-observable') } });
        observableClient.client.synthesize$({ text: 'x' }).subscribe();
        client.synthesize$({ text: 'x' }).subscribe();
        flush();
        expect(fake.sockets.map((s) => s.request.headers['X-Auth-Token'])).to.deep.equal(['t1', 't2']);
        expect(observableClient.fake.sockets[0]?.request.headers['X-Auth-Token']).to.equal('from-observable');
      });
    });

    it('fails with SisAuthError when the token provider fails or gives nothing usable, without opening a socket', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const boom = setup(scheduler, cold('-o'), {
          auth: {
            token: () => {
              throw new Error('vault unreachable');
            },
          },
        });
        const empty = setup(scheduler, cold('-o'), { auth: { token: () => '' } });
        expectObservable(boom.client.synthesize$({ text: 'x' })).toBe(
          '#',
          {},
          new SisAuthError('the token provider failed (see error.cause)', { retryable: true, cause: new Error('vault unreachable') }),
        );
        expectObservable(empty.client.synthesize$({ text: 'x' })).toBe('#', {}, new SisAuthError('the token provider gave an empty token'));
        flush();
        expect(boom.fake.sockets).to.have.length(0);
        expect(empty.fake.sockets).to.have.length(0);
      });
    });
  });
});
