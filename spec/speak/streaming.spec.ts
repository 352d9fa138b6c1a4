/**
 * `speak$` / `speakEvents$` with `api: 'streaming'`, marble-tested over the fake socket: one socket to
 * the streaming endpoint, START (MULTI) at open, a MSG per piece as soon as it is assembled, END when
 * `text$` completes; what each server frame does; timeouts that let a slow LLM be slow; barge-in.
 */
import { expect } from 'chai';
import { EMPTY, NEVER, type Observable, ignoreElements, of, take } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  SisConnectionError,
  SisHandshakeError,
  SisInputError,
  SisProtocolError,
  SisRequestError,
  SisServiceError,
  SisTimeoutError,
  createSisClient,
  speak,
  type SisConnectionOptions,
  type SpeakOptions,
  type SpeechChunk,
  type SpeechEvent,
} from '../../lib/index.js';
import { STREAMING_TOTAL_LIMIT } from '../../lib/protocol/streaming.js';
import {
  TRACE,
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
  type FakeSocketRecord,
  type ServerAction,
} from '../helpers/fake-socket.js';
import { createTestScheduler } from '../helpers/marbles.js';
import { refreshable } from '../helpers/refreshable-token.js';

const TOKEN = 'token-for-streaming-marble-tests';
const URL = 'ws://127.0.0.1:9/v1/project-1/vcs/voices/clone';
const STREAMING: SpeakOptions = { api: 'streaming' };

const setup = (
  scheduler: TestScheduler,
  script: Observable<ServerAction> | ((socket: number) => Observable<ServerAction>),
  extra: Partial<SisConnectionOptions> & { endpoint?: string } = {},
) => {
  const fake = fakeSockets(scheduler, typeof script === 'function' ? script : () => script);
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

/** What the client sent on a socket, parsed. */
const sentOn = (socket: FakeSocketRecord | undefined): unknown[] => (socket?.sent ?? []).map((frame) => JSON.parse(frame) as unknown);

const chunk = (index: number, offset: number, ...bytes: number[]): SpeechChunk => ({
  data: Uint8Array.from(bytes),
  index,
  offset,
  traceId: TRACE,
  sentence: undefined,
});

const DEFAULT_CONFIG = { voice_name: 'chinese_huaxiaoli_common', audio_format: 'pcm', sample_rate: '16kHz', speed: 0, pitch: 0, volume: 50 };
const START = { command: 'START', text_pieces: 'MULTI', config: DEFAULT_CONFIG };
const END = { command: 'END' };
const msg = (piece: string) => ({ command: 'MSG', text: piece });

// Script values used across the tests.
const v = {
  o: open,
  s: startFrame(),
  a: binary(1, 2),
  b: binary(3, 4, 5),
  e: endFrame(),
  x: endFrame('ERROR'),
  r: errorFrame('SIS.0401', 'synthesis error'),
  f: fatalFrame('SIS.0416', 'vcs wait text time out'),
  n: text({ resp_type: 'EVENT', trace_id: TRACE, event: 'VCS_END', time_stamp: 1700000000000 }),
  t: text({ resp_type: 'EVENT', trace_id: TRACE, event: 'EXCEEDED_TOTAL_TEXT_LENGTH' }),
  u: text({ resp_type: 'PROGRESS', trace_id: TRACE, percent: 50 }),
  c: close(1006),
};
// Text values: a piece is assembled once the next one begins, or when the text completes.
const w = { a: '你好。', b: '世界！', c: 'Hello', d: ' world.', x: '   ' };

describe("speak$ with api 'streaming' (marble tests over a fake socket)", () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  describe('the socket', () => {
    it('connects to /v1/{project_id}/vcs/voices/clone with the handshake headers', () => {
      scheduler.run(({ cold, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s-a-e', v), { enterpriseProjectId: 'ep-1' });
        client.speak$(cold('(a|)', w), STREAMING).subscribe({ error: () => undefined });
        flush();
        expect(fake.sockets).to.have.length(1);
        expect(fake.sockets[0]?.request.url).to.equal(URL);
        expect(fake.sockets[0]?.request.headers).to.deep.equal({ 'X-Auth-Token': TOKEN, 'Enterprise-Project-Id': 'ep-1' });
      });
    });

    it('connects to a custom streamingPath, {project_id} replaced, under the base path of the endpoint', () => {
      scheduler.run(({ cold, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s-a-e', v), {
          endpoint: 'ws://127.0.0.1:9/relay/',
          projectId: 'project 2',
          streamingPath: '/v2/{project_id}/tts/stream/{project_id}',
        });
        client.speak$(cold('(a|)', w), STREAMING).subscribe({ error: () => undefined });
        flush();
        expect(fake.sockets[0]?.request.url).to.equal('ws://127.0.0.1:9/relay/v2/project%202/tts/stream/project%202');
      });
    });

    it('is cold: neither text$ nor a socket is touched before subscription, and each subscription has its own', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const text$ = cold('--a-|', w);
        const { fake, client } = setup(scheduler, cold('-o-s---a-e', v));
        const speech$ = client.speak$(text$, STREAMING);
        flush();
        expect(fake.sockets).to.have.length(0);
        expect(text$.subscriptions).to.have.length(0);
        expectObservable(speech$).toBe('-------a-|', { a: chunk(0, 0, 1, 2) });
        expectObservable(speech$).toBe('-------a-|', { a: chunk(0, 0, 1, 2) });
        flush();
        expect(fake.sockets).to.have.length(2);
      });
    });

    it('is the same speech in its pipeable form, speak(client, options)', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s---a-e', v));
        expectObservable(cold('--a-|', w).pipe(speak(client, STREAMING))).toBe('-------a-|', { a: chunk(0, 0, 1, 2) });
      });
    });
  });

  describe('what is sent', () => {
    it('sends START (MULTI, default config) at open, each piece as a MSG as soon as it is assembled, and END when text$ completes', () => {
      scheduler.run(({ cold, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s', v));
        // a at 3, b at 6 (so a is assembled), c at 9 (b assembled), d at 12, then complete at 15 (c + d assembled).
        const text$ = cold('---a--b--c--d--|', w);
        const seen: { at: number; sent: unknown[] }[] = [];
        client.speak$(text$, STREAMING).subscribe({ error: () => undefined });
        for (const at of [2, 5, 7, 8, 10, 14, 16]) {
          scheduler.schedule(() => seen.push({ at, sent: sentOn(fake.sockets[0]) }), at);
        }
        flush();
        expect(seen).to.deep.equal([
          { at: 2, sent: [START] },
          { at: 5, sent: [START] },
          { at: 7, sent: [START, msg('你好。')] },
          { at: 8, sent: [START, msg('你好。')] },
          { at: 10, sent: [START, msg('你好。'), msg('世界！')] },
          { at: 14, sent: [START, msg('你好。'), msg('世界！')] },
          { at: 16, sent: [START, msg('你好。'), msg('世界！'), msg('Hello world.'), END] },
        ]);
      });
    });

    it('sends the voice fields as the streaming API spells them', () => {
      scheduler.run(({ cold, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s', v));
        const options: SpeakOptions = {
          api: 'streaming',
          voice: 'chinese_huaxiaobo_common',
          audioFormat: 'mp3',
          sampleRate: 24000,
          speed: 100,
          pitch: -50,
          volume: 80,
        };
        client.speak$(cold('--a', w), options).subscribe({ error: () => undefined });
        flush();
        expect(sentOn(fake.sockets[0])[0]).to.deep.equal({
          command: 'START',
          text_pieces: 'MULTI',
          config: { voice_name: 'chinese_huaxiaobo_common', audio_format: 'mp3', sample_rate: '24kHz', speed: 100, pitch: -50, volume: 80 },
        });
        for (const [sampleRate, wire] of [
          [8000, '8kHz'],
          [16000, '16kHz'],
        ] as const) {
          const other = setup(scheduler, cold('-o-s', v));
          other.client.speak$(cold('--a', w), { api: 'streaming', sampleRate }).subscribe({ error: () => undefined });
          flush();
          expect(sentOn(other.fake.sockets[0])[0]).to.have.nested.property('config.sample_rate', wire);
        }
      });
    });

    it('sends the pieces assembled before the socket opened right after START, and END after them', () => {
      scheduler.run(({ cold, flush }) => {
        const { fake, client } = setup(scheduler, cold('----o-s---a-e', v));
        client.speak$(cold('-a-b|', w), STREAMING).subscribe({ error: () => undefined });
        scheduler.schedule(() => expect(fake.sockets[0]?.sent).to.deep.equal([]), 3);
        flush();
        expect(sentOn(fake.sockets[0])).to.deep.equal([START, msg('你好。'), msg('世界！'), END]);
      });
    });

    it('refuses with SisRequestError (path text$) the piece that would pass 100,000 characters, sending nothing past the limit', () => {
      scheduler.run(({ cold, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s', v));
        // 300-character sentences: 333 of them are 99,900 characters, the 334th would make 100,200.
        const sentence = `${'好'.repeat(299)}。`;
        const fragments = Array.from({ length: 340 }, () => sentence);
        const seen: { at: number; error: unknown }[] = [];
        client.speak$(cold('--(a|)', { a: fragments.join('') }), STREAMING).subscribe({ error: (error: unknown) => seen.push({ at: scheduler.now(), error }) });
        flush();
        expect(seen).to.have.length(1);
        expect(seen[0]?.at).to.equal(2);
        const error = seen[0]?.error;
        expect(error).to.be.instanceOf(SisRequestError);
        expect((error as SisRequestError).problems).to.have.length(1);
        expect((error as SisRequestError).problems[0]?.path).to.equal('text$');
        expect((error as SisRequestError).problems[0]?.message)
          .to.include(`${STREAMING_TOTAL_LIMIT}`)
          .and.include('piece 333');
        const sent = sentOn(fake.sockets[0]);
        expect(sent[0]).to.deep.equal(START);
        expect(sent.slice(1)).to.deep.equal(Array.from({ length: 333 }, () => msg(sentence)));
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: 2 }]);
      });
    });

    it('refuses the same way a text queued whole before the socket opened, and sends no END after the refusal', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s', v));
        const sentence = `${'好'.repeat(299)}。`;
        expectObservable(client.speak$(of(sentence.repeat(340)), STREAMING).pipe(ignoreElements())).toBe(
          '-#',
          {},
          new SisRequestError([
            {
              path: 'text$',
              message: `passes the streaming API's 100000 characters per session at piece 333 (99900 sent, 300 more): use api 'realtime', or speak the text in several speeches`,
            },
          ]),
        );
        flush();
        const sent = sentOn(fake.sockets[0]);
        expect(sent).to.have.length(334);
        expect(sent[0]).to.deep.equal(START);
        expect(sent.at(-1)).to.deep.equal(msg(sentence));
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: 1 }]);
      });
    });

    it('counts the 100,000 characters in code points, and takes a text of exactly 100,000', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s 8ms a-e', v));
        // 500 pieces of 200 emoji (one code point, two UTF-16 units each): exactly the limit.
        const sentence = `${'😀'.repeat(199)}。`;
        expectObservable(client.speak$(cold('--(a|)', { a: sentence.repeat(500) }), STREAMING)).toBe('------------a-|', { a: chunk(0, 0, 1, 2) });
        flush();
        expect(sentOn(fake.sockets[0])).to.have.length(502);
      });
    });
  });

  describe('what it emits', () => {
    it('reports sentence, sent, start, audio, unknown, notice and end on speakEvents$, and completes on END/NORMAL after END was sent', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
        // text$: a at 2, b at 12 (a assembled), complete at 22 (b assembled, END sent).
        const text$ = cold('--a 9ms b 9ms |', w);
        // o 1, s 3, a 19, u 29, b 39, n 44, e 49
        const script = cold('-o-s 15ms a 9ms u 9ms b 4ms n 4ms e', v);
        const { fake, client } = setup(scheduler, script);
        const p0 = { index: 0, text: '你好。' };
        const p1 = { index: 1, text: '世界！' };
        expectObservable(client.speakEvents$(text$, STREAMING)).toBe('---s 8ms (AB) 3ms a 2ms (CD) 3ms u 9ms b 4ms n 4ms (e|)', {
          s: { type: 'start', traceId: TRACE, sentence: undefined, elapsedMs: 3 },
          A: { type: 'sentence', sentence: p0 },
          B: { type: 'sent', sentence: p0, elapsedMs: 12 },
          a: { type: 'audio', chunk: chunk(0, 0, 1, 2) },
          C: { type: 'sentence', sentence: p1 },
          D: { type: 'sent', sentence: p1, elapsedMs: 22 },
          u: { type: 'unknown', respType: 'PROGRESS', frame: { resp_type: 'PROGRESS', trace_id: TRACE, percent: 50 } },
          b: { type: 'audio', chunk: chunk(1, 2, 3, 4, 5) },
          n: { type: 'notice', event: 'VCS_END', traceId: TRACE },
          e: {
            type: 'end',
            api: 'streaming',
            sentences: 2,
            chunks: 2,
            bytes: 5,
            traceIds: [TRACE],
            timings: { firstAudioMs: 19, totalMs: 49 },
          },
        } satisfies Record<string, SpeechEvent>);
        expectSubscriptions(script.subscriptions).toBe('^ 48ms !');
        expectSubscriptions(text$.subscriptions).toBe('^ 21ms !');
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: 49 }]);
      });
    });

    it('emits on speak$ only the audio: index and offset across the speech, sentence undefined', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s-a-n-u-b-a-e', v));
        expectObservable(client.speak$(cold('-a-b-c|', w), STREAMING)).toBe('-----a-----b-c-|', {
          a: chunk(0, 0, 1, 2),
          b: chunk(1, 2, 3, 4, 5),
          c: chunk(2, 5, 1, 2),
        });
      });
    });

    it('reports an EVENT without a trace id with the trace id of the START response, and a RESULT as unknown', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const bare = text({ resp_type: 'EVENT', event: 'SOMETHING_NEW' });
        const result = text({ resp_type: 'RESULT', trace_id: TRACE, result: [] });
        const { client } = setup(scheduler, cold('-o-s-m-r', { ...v, m: bare, r: result }));
        const notices = client.speakEvents$(cold('-', w), STREAMING).pipe(take(3));
        expectObservable(notices).toBe('---s-m-(r|)', {
          s: { type: 'start', traceId: TRACE, sentence: undefined, elapsedMs: 3 },
          m: { type: 'notice', event: 'SOMETHING_NEW', traceId: TRACE },
          r: { type: 'unknown', respType: 'RESULT', frame: { resp_type: 'RESULT', trace_id: TRACE, result: [] } },
        });
      });
    });
  });

  describe('errors', () => {
    const failure = (
      name: string,
      marbles: string,
      at: number,
      expected: (traceId: string) => SisServiceError | SisProtocolError | SisConnectionError,
      textMarbles = '-a-|',
    ): void => {
      const serverCloses = marbles.endsWith('c');
      it(name, () => {
        scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
          const script = cold(marbles, v);
          const text$ = cold(textMarbles, w);
          const { fake, client } = setup(scheduler, script);
          expectObservable(client.speakEvents$(text$, STREAMING).pipe(ignoreElements())).toBe(`${'-'.repeat(at)}#`, {}, expected(TRACE));
          if (!serverCloses) expectSubscriptions(script.subscriptions).toBe(`^${'-'.repeat(at - 1)}!`);
          flush();
          // text$ is not read past the error (it may have completed before).
          expect(text$.subscriptions[0]?.unsubscribedFrame).to.be.at.most(at);
          // A socket the server closed has nothing left to close; any other is closed with 1000 at once.
          expect(fake.sockets[0]?.endedBy).to.deep.equal(serverCloses ? [] : [{ how: 'close', code: 1000, at }]);
        });
      });
    };

    failure(
      'errors with SisProtocolError on END/NORMAL before the client sent END (text would be left unspoken)',
      '-o-s-a-e',
      7,
      (traceId) =>
        new SisProtocolError('END/NORMAL before the client sent END: text may be left unspoken', {
          at: 'after START and 1 audio frame, 1 piece of text, text still coming (3 frames received)',
          traceId,
        }),
      '-a-b-----|',
    );
    failure(
      'errors with SisServiceError (code, message, trace id) on ERROR: the service dropped the text not yet spoken',
      '-o-s-a-r',
      7,
      (traceId) => new SisServiceError({ traceId, errorCode: 'SIS.0401', errorMsg: 'synthesis error' }),
    );
    failure(
      'errors with a fatal SisServiceError on FATAL_ERROR SIS.0416 (the service tired of waiting for text)',
      '-o-s-----f',
      9,
      (traceId) => new SisServiceError({ traceId, errorCode: 'SIS.0416', errorMsg: 'vcs wait text time out', fatal: true }),
      '-a',
    );
    failure('errors with SisServiceError on END/ERROR', '-o-s-a-x', 7, (traceId) => new SisServiceError({ traceId, reason: 'ERROR' }), '-a-|');
    failure(
      'errors with SisServiceError on EVENT EXCEEDED_TOTAL_TEXT_LENGTH (the rest would go unspoken)',
      '-o-s-a-t',
      7,
      (traceId) =>
        new SisServiceError({
          traceId,
          errorCode: 'EXCEEDED_TOTAL_TEXT_LENGTH',
          errorMsg: `the service ignored text past its total per session (${STREAMING_TOTAL_LIMIT.toLocaleString('en-US')} characters documented)`,
        }),
      '-a-b',
    );
    failure(
      'errors with SisConnectionError, with the close code and the trace id, when the connection closes mid-speech',
      '-o-s-a-c',
      7,
      (traceId) =>
        new SisConnectionError('connection closed after START and 1 audio frame, 2 pieces of text, END sent (2 frames received) (code 1006)', {
          closeCode: 1006,
          closeReason: '',
          traceId,
        }),
      '-a-b|',
    );
    failure(
      'errors with SisProtocolError on audio before the START response',
      '-o-a',
      3,
      () => new SisProtocolError('audio arrived before the START response', { at: 'before the START response, 1 piece of text, END sent (1 frame received)' }),
    );
    failure(
      'errors with SisProtocolError on a second START response',
      '-o-s-s',
      5,
      (traceId) =>
        new SisProtocolError('a second START response', { at: 'after START and 0 audio frames, 1 piece of text, END sent (2 frames received)', traceId }),
    );

    it('errors with SisConnectionError on a network failure while connecting, and terminates the socket', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, cold('--n', { n: fail({ kind: 'network', message: 'connect ECONNREFUSED 127.0.0.1:9' }) }));
        expectObservable(client.speak$(cold('-a', w), STREAMING)).toBe(
          '--#',
          {},
          new SisConnectionError('connection failed while connecting: connect ECONNREFUSED 127.0.0.1:9'),
        );
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'terminate', at: 2 }]);
      });
    });

    it('keeps the ERROR it reported: frames after it change nothing', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s-r-a-e', v));
        expectObservable(client.speak$(cold('-a-|', w), STREAMING)).toBe(
          '-----#',
          {},
          new SisServiceError({ traceId: TRACE, errorCode: 'SIS.0401', errorMsg: 'synthesis error' }),
        );
      });
    });
  });

  describe('timeouts', () => {
    it('lets a slow LLM be slow: silences longer than timeouts.firstAudio and .idle are no error while text$ is open', () => {
      scheduler.run(({ cold, expectObservable }) => {
        // text$: a at 1, b at 200 (a assembled), complete at 400 (b assembled, END sent).
        const text$ = cold('-a 198ms b 199ms |', w);
        // o 1, s 3, audio of a at 210, then nothing until the audio of b at 410 and END at 412.
        const script = cold('-o-s 206ms a 199ms b-e', v);
        const { client } = setup(scheduler, script);
        expectObservable(client.speak$(text$, STREAMING)).toBe('210ms a 199ms b-|', { a: chunk(0, 0, 1, 2), b: chunk(1, 2, 3, 4, 5) });
      });
    });

    it('lets text$ be silent before its first piece for longer than every limit', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s 260ms a-e', v));
        expectObservable(client.speak$(cold('250ms (a|)', w), STREAMING)).toBe('264ms a-|', { a: chunk(0, 0, 1, 2) });
      });
    });

    it('times out (timeouts.firstAudio, with the trace id) when no audio comes within the limit after END', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s', v));
        // END is sent at 100, when text$ completes; nothing was an error before.
        expectObservable(client.speak$(cold('-a 98ms |', w), STREAMING)).toBe('150ms #', {}, new SisTimeoutError('firstAudio', 50, TRACE));
      });
    });

    it('times out (timeouts.firstAudio) when END went before the START response and no audio follows the START response', () => {
      scheduler.run(({ cold, expectObservable }) => {
        // END at 2, the START response at 6: the wait for the first audio counts from it.
        const { client } = setup(scheduler, cold('-o----s', v));
        expectObservable(client.speak$(cold('-a|', w), STREAMING)).toBe('56ms #', {}, new SisTimeoutError('firstAudio', 50, TRACE));
      });
    });

    it('times out (timeouts.idle) on a stall after END, once audio has flowed', () => {
      scheduler.run(({ cold, expectObservable }) => {
        // Audio at 5 while text$ is open, END at 100, no audio since: the stall counts from END.
        const { client } = setup(scheduler, cold('-o-s-a', v));
        expectObservable(client.speak$(cold('-a 98ms |', w), STREAMING)).toBe(
          '-----a 94ms 50ms #',
          { a: chunk(0, 0, 1, 2) },
          new SisTimeoutError('idle', 50, TRACE),
        );
      });
    });

    it('times out (timeouts.idle) on a stall of audio that started after END', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s 10ms a 29ms a', v));
        expectObservable(client.speak$(cold('-a-|', w), STREAMING)).toBe(
          '14ms a 29ms b 49ms #',
          { a: chunk(0, 0, 1, 2), b: chunk(1, 2, 1, 2) },
          new SisTimeoutError('idle', 50, TRACE),
        );
      });
    });

    it('times out waiting for the START response (timeouts.firstAudio), even while text$ is open', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o', v));
        expectObservable(client.speak$(cold('-a', w), STREAMING)).toBe('- 50ms #', {}, new SisTimeoutError('firstAudio', 50));
      });
    });

    it('times out connecting (timeouts.connect) and terminates the socket', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
        const text$ = cold('-a', w);
        const { fake, client } = setup(scheduler, NEVER);
        expectObservable(client.speak$(text$, STREAMING)).toBe('50ms #', {}, new SisTimeoutError('connect', 50));
        expectSubscriptions(text$.subscriptions).toBe('^ 49ms !');
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'terminate', at: 50 }]);
      });
    });

    it("times out a silent text$ only when asked to (the speech's textTimeout)", () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s-a', v));
        expectObservable(client.speak$(cold('-a', w), { api: 'streaming', textTimeout: 30 })).toBe(
          '-----a 25ms #',
          { a: chunk(0, 0, 1, 2) },
          new SisTimeoutError('text', 30),
        );
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: 31 }]);
      });
    });
  });

  describe('flow control (paused$)', () => {
    it('pauses and resumes the socket, and suspends the audio timers while paused', () => {
      scheduler.run(({ cold, hot, expectObservable, expectSubscriptions, flush }) => {
        // END at 3; audio at 5; paused 10..110 (longer than idle); resumed, nothing more: idle at 160.
        const script = cold('-o-s-a', v);
        const paused$ = hot('----------t 99ms f', { t: true, f: false });
        const { fake, client } = setup(scheduler, script);
        expectObservable(client.speak$(cold('-a-|', w), { api: 'streaming', paused$ })).toBe(
          '-----a 104ms 50ms #',
          { a: chunk(0, 0, 1, 2) },
          new SisTimeoutError('idle', 50, TRACE),
        );
        expectSubscriptions(paused$.subscriptions).toBe('^ 159ms !');
        flush();
        expect(fake.sockets[0]?.flow).to.deep.equal([
          { call: 'pause', at: 10 },
          { call: 'resume', at: 110 },
        ]);
      });
    });

    it('suspends the wait for the first audio after END while paused', () => {
      scheduler.run(({ cold, hot, expectObservable }) => {
        const paused$ = hot('-----t 99ms f', { t: true, f: false });
        const { client } = setup(scheduler, cold('-o-s 150ms a-e', v));
        expectObservable(client.speak$(cold('-a-|', w), { api: 'streaming', paused$ })).toBe('154ms a-|', { a: chunk(0, 0, 1, 2) });
      });
    });

    it('does not start the wait for the first audio when END is sent while paused', () => {
      scheduler.run(({ cold, hot, expectObservable }) => {
        // Paused 2..150, END at 5: the first audio is due 50 ms after the resume, and comes at 159.
        const paused$ = hot('--t 147ms f', { t: true, f: false });
        const { client } = setup(scheduler, cold('-o-s 155ms a-e', v));
        expectObservable(client.speak$(cold('-a---|', w), { api: 'streaming', paused$ })).toBe('159ms a-|', { a: chunk(0, 0, 1, 2) });
      });
    });

    it('pauses a socket opened while paused$ says so', () => {
      scheduler.run(({ cold, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s-a-e', v));
        client.speak$(cold('-a-|', w), { api: 'streaming', paused$: of(true) }).subscribe();
        flush();
        expect(fake.sockets[0]?.flow).to.deep.equal([{ call: 'pause', at: 0 }]);
      });
    });
  });

  describe('barge-in (unsubscribing)', () => {
    it('terminates a socket still connecting, and unsubscribes text$', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
        const text$ = cold('-a-b-c', w);
        const { fake, client } = setup(scheduler, cold('-----o-s-e', v));
        expectObservable(client.speak$(text$, STREAMING), '^--!').toBe('---');
        expectSubscriptions(text$.subscriptions).toBe('^--!');
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'terminate', at: 3 }]);
        expect(fake.sockets[0]?.sent).to.deep.equal([]);
      });
    });

    it('closes with 1000 a socket waiting for the START response, and unsubscribes text$', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
        const text$ = cold('-a-b--c', w);
        const script = cold('-o----s-e', v);
        const { fake, client } = setup(scheduler, script);
        expectObservable(client.speak$(text$, STREAMING), '^----!').toBe('-----');
        expectSubscriptions(text$.subscriptions).toBe('^----!');
        expectSubscriptions(script.subscriptions).toBe('^----!');
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: 5 }]);
        expect(sentOn(fake.sockets[0])).to.deep.equal([START, msg('你好。')]);
      });
    });

    it('closes with 1000 mid-speech while text is still coming, unsubscribes text$ and drops the text not yet sent', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
        const text$ = cold('-a-b-----c--d-|', w);
        const script = cold('-o-s-a-a-a-a-a-a-e', v);
        const { fake, client } = setup(scheduler, script);
        expectObservable(client.speak$(text$, STREAMING), '^------!').toBe('-----a-', { a: chunk(0, 0, 1, 2) });
        expectSubscriptions(text$.subscriptions).toBe('^------!');
        expectSubscriptions(script.subscriptions).toBe('^------!');
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: 7 }]);
        expect(sentOn(fake.sockets[0])).to.deep.equal([START, msg('你好。')]);
      });
    });

    it('closes with 1000 after END was sent, while the audio still comes', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s-a-a-a-a-e', v));
        expectObservable(client.speak$(cold('-a|', w), STREAMING), '^------!').toBe('-----a-', { a: chunk(0, 0, 1, 2) });
        flush();
        expect(sentOn(fake.sockets[0])).to.deep.equal([START, msg('你好。'), END]);
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: 7 }]);
      });
    });

    it('closes the socket as soon as take(1) has its chunk', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const text$ = cold('-a-b-c-d', w);
        const script = cold('-o-s-a-a-a-e', v);
        const { client } = setup(scheduler, script);
        expectObservable(client.speak$(text$, STREAMING).pipe(take(1))).toBe('-----(a|)', { a: chunk(0, 0, 1, 2) });
        expectSubscriptions(text$.subscriptions).toBe('^----!');
        expectSubscriptions(script.subscriptions).toBe('^----!');
      });
    });
  });

  describe('the text input', () => {
    it('ends with SisInputError (cause: the error of text$) when text$ errors, and closes the socket', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const cause = new Error('the LLM went away');
        const { fake, client } = setup(scheduler, cold('-o-s-a-a-a-e', v));
        expectObservable(client.speak$(cold('-a-b--#', w, cause), STREAMING)).toBe('-----a#', { a: chunk(0, 0, 1, 2) }, new SisInputError({ cause }));
        flush();
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: 6 }]);
        expect(sentOn(fake.sockets[0])).to.deep.equal([START, msg('你好。')]);
      });
    });

    it('ends with SisRequestError (path text$) when text$ emits something that is not a string', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = setup(scheduler, cold('-o-s-a-a-a-e', v));
        const text$ = cold('-a---n', { a: '你好。', n: 42 }) as unknown as Observable<string>;
        expectObservable(client.speak$(text$, STREAMING)).toBe(
          '-----#',
          {},
          new SisRequestError([{ path: 'text$', message: 'must emit strings, got number' }]),
        );
      });
    });

    it('completes an empty text$ at once with an end event, and opens no socket for a text$ that completes at subscription', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s-e', v));
        const end = { type: 'end', api: 'streaming', sentences: 0, chunks: 0, bytes: 0, traceIds: [], timings: { firstAudioMs: undefined, totalMs: 0 } };
        expectObservable(client.speakEvents$(EMPTY, STREAMING)).toBe('(e|)', { e: end });
        expectObservable(client.speakEvents$(of('', '  ', '\n'), STREAMING)).toBe('(e|)', { e: end });
        flush();
        expect(fake.sockets).to.have.length(0);
      });
    });

    it('completes an empty text$ when it completes: a socket still connecting is terminated with nothing sent', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, cold('----o-s-e', v));
        expectObservable(client.speakEvents$(cold('-x-|', w), STREAMING)).toBe('---(e|)', {
          e: { type: 'end', api: 'streaming', sentences: 0, chunks: 0, bytes: 0, traceIds: [], timings: { firstAudioMs: undefined, totalMs: 3 } },
        });
        flush();
        expect(fake.sockets[0]?.sent).to.deep.equal([]);
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'terminate', at: 3 }]);
      });
    });

    it('completes an empty text$ that completes after the socket opened: no MSG, no END, the socket closed at once', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { fake, client } = setup(scheduler, cold('-o-s-e', v));
        expectObservable(client.speak$(cold('--x--|', w), STREAMING)).toBe('-----|');
        flush();
        const sent = sentOn(fake.sockets[0]);
        expect(sent.filter((command) => (command as { command: string }).command !== 'START')).to.deep.equal([]);
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: 5 }]);
      });
    });
  });

  describe('credentials', () => {
    const rejection = fail({
      kind: 'handshake-rejected',
      status: 401,
      body: JSON.stringify({ error_code: 'APIG.0301', error_msg: 'Incorrect IAM authentication information: decrypt token fail', request_id: 'r-1' }),
    });
    /** Socket n replays scripts[n] (the last one again for any further socket). */
    const scripted =
      (...scripts: Observable<ServerAction>[]) =>
      (socket: number) =>
        scripts[Math.min(socket, scripts.length - 1)] ?? NEVER;

    it('after a 401 with a refreshable token, retries once with a fresh one on a new socket, the pieces queued meanwhile sent after START', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
        const stale = cold('--r', { r: rejection });
        const fresh = cold('--o-s-a-e', v);
        const { source, calls } = refreshable('stale-token', 'fresh-token');
        const { fake, client } = setup(scheduler, scripted(stale, fresh), { auth: { token: source } });
        expectObservable(client.speak$(cold('-a-b|', w), STREAMING)).toBe('--------a-|', { a: chunk(0, 0, 1, 2) });
        expectSubscriptions(fresh.subscriptions).toBe('--^-------!');
        flush();
        expect(fake.sockets.map((socket) => socket.request.headers['X-Auth-Token'])).to.deep.equal(['stale-token', 'fresh-token']);
        expect(fake.sockets.map((socket) => socket.request.url)).to.deep.equal([URL, URL]);
        expect(calls).to.deep.equal({ asked: 2, invalidated: 1 });
        expect(fake.sockets[0]?.endedBy).to.deep.equal([{ how: 'terminate', at: 2 }]);
        expect(fake.sockets[0]?.sent).to.deep.equal([]);
        expect(sentOn(fake.sockets[1])).to.deep.equal([START, msg('你好。'), msg('世界！'), END]);
      });
    });

    it('retries once, not in a loop: a second 401 is the error', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { source, calls } = refreshable('stale-token', 'also-rejected');
        const { fake, client } = setup(scheduler, cold('--r', { r: rejection }), { auth: { token: source } });
        expectObservable(client.speak$(cold('-a-b|', w), STREAMING)).toBe(
          '----#',
          {},
          new SisHandshakeError({
            status: 401,
            errorCode: 'APIG.0301',
            errorMsg: 'Incorrect IAM authentication information: decrypt token fail',
            requestId: 'r-1',
          }),
        );
        flush();
        expect(fake.sockets).to.have.length(2);
        expect(calls).to.deep.equal({ asked: 2, invalidated: 1 });
      });
    });
  });

  describe('validation', () => {
    it('fails bad voice fields with SisRequestError and real-time-only knobs with SisConfigError, before text$ or a socket', () => {
      scheduler.run(({ cold, flush }) => {
        const text$ = cold('-a|', w);
        const { fake, client } = setup(scheduler, cold('-o-s-e', v));
        const errors: unknown[] = [];
        client.speak$(text$, { api: 'streaming', sampleRate: 22050 as 16000 }).subscribe({ error: (error: unknown) => errors.push(error) });
        client.speak$(text$, { api: 'streaming', audioFormat: 'alaw' }).subscribe({ error: (error: unknown) => errors.push(error) });
        client.speak$(text$, { api: 'streaming', lookahead: 3 }).subscribe({ error: (error: unknown) => errors.push(error) });
        flush();
        expect(errors.map((error) => (error as { code: string }).code)).to.deep.equal(['REQUEST_INVALID', 'REQUEST_INVALID', 'CONFIG_INVALID']);
        expect(errors.map((error) => (error as { problems: { path: string }[] }).problems.map((p) => p.path))).to.deep.equal([
          ['sampleRate'],
          ['audioFormat'],
          ['lookahead'],
        ]);
        expect(text$.subscriptions).to.deep.equal([]);
        expect(fake.sockets).to.have.length(0);
      });
    });
  });
});
