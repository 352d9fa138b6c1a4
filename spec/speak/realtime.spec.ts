/**
 * `speak$` / `speakEvents$` in real-time mode (the default), marble-tested over fake sockets: one
 * session per sentence, pipelined `lookahead` deep, the output strictly in sentence order; pausing
 * a sentence that runs too far ahead; barge-in at every phase; every failure named by its sentence.
 * Expected times and values are derived from the scripts (`frameOf`, `chunksOf`), not written out.
 */
import { expect } from 'chai';
import { NEVER, type Observable, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  SisInputError,
  SisRequestError,
  SisSentenceError,
  SisTimeoutError,
  createSisClient,
  speak,
  type RetryInfo,
  type SentenceRef,
  type SisClient,
  type SisConnectionOptions,
  type SisError,
  type SisErrorCode,
  type SpeakOptions,
  type SpeechChunk,
  type SpeechEvent,
} from '../../lib/index.js';
import type { WebSocketFactory } from '../../lib/transport/websocket-like.js';
import {
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

const TOKEN = 'token-for-realtime-speak-tests';
const URL = 'ws://127.0.0.1:9/v1/project-1/rtts';
const TIMEOUTS = { connect: 50, firstAudio: 50, idle: 50, errorGrace: 20 };

const SENTENCES = ['你好。', '世界。', '再见。', '谢谢。', '好的。', '明天见。'] as const;
/** text$ values: `a` is sentence 0, `b` sentence 1 … */
const TEXT: Record<string, string> = Object.fromEntries(SENTENCES.map((sentence, i) => [String.fromCharCode(97 + i), sentence]));
const ref = (index: number): SentenceRef => ({ index, text: SENTENCES[index] ?? '' });
const trace = (index: number): string => `trace-of-sentence-${index}`;

/** The audio frames a script can send, by digit. */
const FRAMES: Record<string, readonly number[]> = { 1: [1, 2], 2: [3, 4, 5], 3: [6], 4: [7, 8, 9, 10, 11] };

/** Script values of sentence `index`'s socket: every frame carries that sentence's trace id. */
const scriptValues = (index: number): Record<string, ServerAction> => ({
  o: open,
  s: startFrame(trace(index)),
  e: endFrame('NORMAL', trace(index)),
  x: endFrame('ERROR', trace(index)),
  r: errorFrame('SIS.0032', "'audio_format' is invalid", trace(index)),
  f: fatalFrame('SIS.0304', 'wait voice timeout', trace(index)),
  c: close(1006),
  j: text('{"resp_type":'),
  u: text({ resp_type: 'PROGRESS', trace_id: trace(index), percent: 50 }),
  h: fail({ kind: 'handshake-rejected', status: 503, body: JSON.stringify({ error_code: 'APIG.0201', error_msg: 'busy' }) }),
  n: fail({ kind: 'network', message: 'connect ECONNREFUSED 127.0.0.1:9' }),
  ...Object.fromEntries(Object.entries(FRAMES).map(([digit, bytes]) => [digit, binary(...bytes)])),
});

const messagesOf = (marbles: string) => TestScheduler.parseMarbles(marbles, undefined, undefined, undefined, true);
const KINDS: Record<string, 'C' | 'E'> = { '|': 'C', '#': 'E' };
/** The frame of the `nth` (from 0) `symbol` in a marble diagram, time progression included (`|` and `#` too). */
const frameOf = (marbles: string, symbol: string, nth = 0): number => {
  const kind = KINDS[symbol];
  const found = messagesOf(marbles).filter((m) =>
    kind === undefined ? m.notification.kind === 'N' && m.notification.value === symbol : m.notification.kind === kind,
  )[nth];
  if (found === undefined) throw new Error(`no ${symbol} #${nth} in ${marbles}`);
  return found.frame;
};
/** Every frame at which `symbol` appears. */
const framesOf = (marbles: string, symbol: string): number[] =>
  messagesOf(marbles)
    .filter((m) => m.notification.kind === 'N' && m.notification.value === symbol)
    .map((m) => m.frame);
const bytesOf = (digits: string): number => [...digits].reduce((sum, digit) => sum + (FRAMES[digit]?.length ?? 0), 0);

/**
 * A diagram with each symbol (a value, a `(group)`, `|` or `#`) at its frame. A group takes as many
 * frames as it has characters, as TestScheduler counts them.
 */
const diagram = (events: readonly (readonly [frame: number, symbol: string])[]): string => {
  let now = 0;
  const parts: string[] = [];
  for (const [frame, symbol] of events) {
    if (frame < now) throw new Error(`${symbol} at ${frame} overlaps the symbol before it`);
    if (frame > now) parts.push(`${frame - now}ms`);
    parts.push(symbol);
    now = frame + symbol.length;
  }
  return parts.join(' ');
};

/** The chunks a speech emits for these frames, in this order: index and offset run across the speech. */
const chunksOf = (frames: readonly (readonly [sentence: number, digit: string])[]): SpeechChunk[] => {
  let offset = 0;
  return frames.map(([sentence, digit], index) => {
    const data = Uint8Array.from(FRAMES[digit] ?? []);
    const chunk: SpeechChunk = { data, index, offset, traceId: trace(sentence), sentence: ref(sentence) };
    offset += data.byteLength;
    return chunk;
  });
};
/** Values keyed `A`, `B`, `C` … for an expected marble diagram. */
const lettered = <T>(values: readonly T[], first = 'A'): Record<string, T> =>
  Object.fromEntries(values.map((value, i) => [String.fromCharCode(first.charCodeAt(0) + i), value]));
const letters = (count: number, first = 'A'): string => Array.from({ length: count }, (_, i) => String.fromCharCode(first.charCodeAt(0) + i)).join('');

interface Rig {
  readonly client: SisClient;
  readonly sockets: FakeSocketRecord[];
  /** When each socket was asked for, in virtual time. */
  readonly createdAt: number[];
}

/** A client whose n-th socket plays `scripts[n]` (sentences connect in order; a retry takes the next script). */
const rig = (scheduler: TestScheduler, scripts: readonly Observable<ServerAction>[], extra: Partial<SisConnectionOptions> = {}): Rig => {
  const fake = fakeSockets(scheduler, (socket) => scripts[socket] ?? NEVER);
  const createdAt: number[] = [];
  const factory: WebSocketFactory = (request, listener) => {
    createdAt.push(scheduler.now());
    return fake.factory(request, listener);
  };
  const client = createSisClient({
    endpoint: 'ws://127.0.0.1:9',
    projectId: 'project-1',
    auth: { token: TOKEN },
    timeouts: TIMEOUTS,
    webSocketFactory: factory,
    scheduler,
    ...extra,
  });
  // The scripts are per socket in sentence order: a socket opened ahead (`preconnect`, tested on its
  // own below) would take a sentence's script, so it is off unless a test asks for it.
  const withoutPreconnect = (options?: SpeakOptions): SpeakOptions => ({ preconnect: false, ...options });
  const speaking: SisClient = {
    ...client,
    speak$: (text$, options) => client.speak$(text$, withoutPreconnect(options)),
    speakEvents$: (text$, options) => client.speakEvents$(text$, withoutPreconnect(options)),
  };
  return { client: speaking, sockets: fake.sockets, createdAt };
};

const startTexts = (sockets: readonly FakeSocketRecord[]): unknown[] =>
  sockets.map((socket) => (JSON.parse(socket.sent[0] ?? '{}') as { text?: unknown }).text);

/** Whatever a subscription saw, with virtual times. */
const watch = <T>(scheduler: TestScheduler, stream$: Observable<T>) => {
  const seen = {
    values: [] as T[],
    error: undefined as unknown,
    erroredAt: undefined as number | undefined,
    completedAt: undefined as number | undefined,
  };
  const subscription = stream$.subscribe({
    next: (value) => seen.values.push(value),
    error: (error: unknown) => {
      seen.error = error;
      seen.erroredAt = scheduler.now();
    },
    complete: () => {
      seen.completedAt = scheduler.now();
    },
  });
  return { seen, subscription };
};

const audioOf = (events: readonly SpeechEvent[]): SpeechChunk[] => events.flatMap((e) => (e.type === 'audio' ? [e.chunk] : []));

describe('speak$ in real-time mode (marble tests over fake sockets)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = createTestScheduler();
  });

  describe('order', () => {
    it('emits strictly in sentence order although a later sentence is answered first, and closes each socket at its END', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
        const slow = '-o-s 9ms 1-e';
        const fast = '-o-s-2-3-e';
        const scripts = [cold(slow, scriptValues(0)), cold(fast, scriptValues(1))];
        const { client, sockets } = rig(scheduler, scripts);
        const text$ = cold('(ab|)', TEXT);
        // Sentence 1's audio arrives first; it goes out the moment sentence 0 has ended.
        expect(frameOf(fast, '3')).to.be.lessThan(frameOf(slow, '1'));
        expectObservable(client.speak$(text$)).toBe(
          diagram([
            [frameOf(slow, '1'), 'A'],
            [frameOf(slow, 'e'), '(BC|)'],
          ]),
          lettered(
            chunksOf([
              [0, '1'],
              [1, '2'],
              [1, '3'],
            ]),
          ),
        );
        // Each socket closes at its own END, not when its audio is heard.
        expectSubscriptions(scripts[0]?.subscriptions ?? []).toBe(
          diagram([
            [0, '^'],
            [frameOf(slow, 'e'), '!'],
          ]),
        );
        expectSubscriptions(scripts[1]?.subscriptions ?? []).toBe(
          diagram([
            [0, '^'],
            [frameOf(fast, 'e'), '!'],
          ]),
        );
        flush();
        expect(startTexts(sockets)).to.deep.equal([SENTENCES[0], SENTENCES[1]]);
        expect(sockets.map((s) => s.request.url)).to.deep.equal([URL, URL]);
        expect(sockets.map((s) => s.endedBy)).to.deep.equal([
          [{ how: 'close', code: 1000, at: frameOf(slow, 'e') }],
          [{ how: 'close', code: 1000, at: frameOf(fast, 'e') }],
        ]);
      });
    });

    it('keeps the order for many sentences whatever order they finish in', () => {
      scheduler.run(({ cold, flush }) => {
        const lengths = [12, 6, 30, 2, 14, 1];
        const scripts = lengths.map((n, i) => cold(`-o-s-1 ${n}ms 2-e`, scriptValues(i)));
        const { client } = rig(scheduler, scripts);
        const { seen } = watch(scheduler, client.speak$(cold('(abcdef|)', TEXT)));
        flush();
        expect(seen.error).to.equal(undefined);
        expect(seen.completedAt).not.to.equal(undefined);
        expect(seen.values).to.deep.equal(chunksOf(SENTENCES.flatMap((_, i) => [[i, '1'] as const, [i, '2'] as const])));
      });
    });

    it('speaks the pieces as sentences() cuts them from fragments of any size', () => {
      scheduler.run(({ cold, flush }) => {
        const { client, sockets } = rig(
          scheduler,
          [0, 1, 2].map((i) => cold('-o-s-1-e', scriptValues(i))),
        );
        // "你好。世界。再见。" cut mid-sentence, one or two characters at a time.
        const text$ = cold('a-b-c-d-e-f-g|', { a: '你', b: '好。世', c: '界', d: '。', e: '再', f: '见', g: '。' });
        const { seen } = watch(scheduler, client.speak$(text$));
        flush();
        expect(startTexts(sockets)).to.deep.equal(SENTENCES.slice(0, 3));
        expect(seen.values.map((chunk) => chunk.sentence)).to.deep.equal([ref(0), ref(1), ref(2)]);
      });
    });

    it('is pipeable: text$.pipe(speak(client, options)) is client.speak$(text$, options)', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const script = '-o-s-1-e';
        const { client, sockets } = rig(scheduler, [cold(script, scriptValues(0))]);
        expectObservable(cold('(a|)', TEXT).pipe(speak(client, { voice: 'chinese_xiaoqi_common', lookahead: 0 }))).toBe(
          diagram([
            [frameOf(script, '1'), 'A'],
            [frameOf(script, 'e'), '|'],
          ]),
          lettered(chunksOf([[0, '1']])),
        );
        flush();
        expect((JSON.parse(sockets[0]?.sent[0] ?? '{}') as { config?: { property?: unknown } }).config?.property).to.equal('chinese_xiaoqi_common');
      });
    });
  });

  describe('lookahead', () => {
    for (const lookahead of [0, 1, 2, 3]) {
      it(`with lookahead ${lookahead}: at most ${lookahead + 1} sockets open at once; sentence k + ${lookahead + 1} connects when sentence k is done`, () => {
        scheduler.run(({ cold, flush }) => {
          // Sentences of different lengths, all assembled at once.
          const lengths = [20, 4, 9, 1, 15, 3];
          const scriptOf = (j: number): string => `-o-s-1 ${lengths[j]}ms e`;
          const { client, sockets, createdAt } = rig(
            scheduler,
            lengths.map((_, j) => cold(scriptOf(j), scriptValues(j))),
          );
          const { seen } = watch(scheduler, client.speak$(cold('(abcdef|)', TEXT), { lookahead }));
          flush();
          expect(seen.error).to.equal(undefined);
          expect(seen.values.map((chunk) => chunk.sentence?.index)).to.deep.equal([0, 1, 2, 3, 4, 5]);

          // The model: sentence j's session takes frameOf(script, 'e'); it is done once it and every one before it ended.
          const connects: number[] = [];
          const done: number[] = [];
          for (let k = 0; k < lengths.length; k++) {
            connects[k] = k <= lookahead ? 0 : (done[k - lookahead - 1] ?? Number.NaN);
            done[k] = Math.max(done[k - 1] ?? 0, (connects[k] ?? Number.NaN) + frameOf(scriptOf(k), 'e'));
          }
          expect(createdAt).to.deep.equal(connects);
          const endedAt = sockets.map((socket) => socket.endedBy[0]?.at ?? Number.NaN);
          expect(endedAt).to.deep.equal(connects.map((at, k) => at + frameOf(scriptOf(k), 'e')));

          // No moment with more than lookahead + 1 open sockets (and the bound is reached).
          const openAt = (t: number): number => createdAt.filter((created, k) => created <= t && t < (endedAt[k] ?? Number.POSITIVE_INFINITY)).length;
          expect(Math.max(...createdAt.map(openAt))).to.equal(lookahead + 1);
        });
      });
    }

    it('connects a sentence the moment it is assembled when the window has room', () => {
      scheduler.run(({ cold, flush }) => {
        const { client, createdAt } = rig(
          scheduler,
          [0, 1].map((i) => cold('-o-s-1 30ms e', scriptValues(i))),
        );
        // Sentence 0 is certain when the next fragment arrives, sentence 1 when text$ completes.
        const input = '---a--b|';
        watch(scheduler, client.speak$(cold(input, TEXT)));
        flush();
        expect(createdAt).to.deep.equal([frameOf(input, 'b'), frameOf(input, '|')]);
      });
    });
  });

  describe('pausing', () => {
    it('pauses a sentence ahead once it holds highWaterMark bytes, and resumes it when its turn drains it', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const slow = '-o-s-1 20ms 1-e';
        // Still running when its turn comes (a paused socket would not deliver its END anyway).
        const ahead = '-o-s-2-2-2 30ms e';
        const { client, sockets } = rig(scheduler, [cold(slow, scriptValues(0)), cold(ahead, scriptValues(1))]);
        // Two of sentence 1's frames reach the mark.
        const highWaterMark = bytesOf('22');
        expectObservable(client.speak$(cold('(ab|)', TEXT), { highWaterMark })).toBe(
          diagram([
            [frameOf(slow, '1', 0), 'A'],
            [frameOf(slow, '1', 1), 'B'],
            [frameOf(slow, 'e'), `(${letters(3, 'C')})`],
            [frameOf(ahead, 'e'), '|'],
          ]),
          lettered(
            chunksOf([
              [0, '1'],
              [0, '1'],
              [1, '2'],
              [1, '2'],
              [1, '2'],
            ]),
          ),
        );
        flush();
        expect(sockets[1]?.flow).to.deep.equal([
          { call: 'pause', at: frameOf(ahead, '2', 1) },
          { call: 'resume', at: frameOf(slow, 'e') },
        ]);
        expect(sockets[0]?.flow, 'the sentence being heard is not paused').to.deep.equal([]);
      });
    });

    it('never pauses a sentence ahead that holds less than highWaterMark', () => {
      scheduler.run(({ cold, flush }) => {
        const { client, sockets } = rig(scheduler, [cold('-o-s-1 20ms e', scriptValues(0)), cold('-o-s-4-e', scriptValues(1))]);
        watch(scheduler, client.speak$(cold('(ab|)', TEXT), { highWaterMark: bytesOf('4') + 1 }));
        flush();
        expect(sockets.map((s) => s.flow)).to.deep.equal([[], []]);
      });
    });

    it("pauses every open socket while the consumer's paused$ says so", () => {
      scheduler.run(({ cold, hot, flush }) => {
        const { client, sockets } = rig(
          scheduler,
          [0, 1, 2].map((i) => cold('-o-s-1 40ms e', scriptValues(i))),
        );
        const consumer = '---t 9ms f';
        const { seen } = watch(scheduler, client.speak$(cold('(abc|)', TEXT), { paused$: hot(consumer, { t: true, f: false }) }));
        flush();
        expect(seen.error).to.equal(undefined);
        const flow = [
          { call: 'pause', at: frameOf(consumer, 't') },
          { call: 'resume', at: frameOf(consumer, 'f') },
        ];
        expect(sockets.map((s) => s.flow)).to.deep.equal([flow, flow, flow]);
      });
    });

    it('a sentence that connects while the consumer is paused starts paused (paused$ a hot Observable)', () => {
      scheduler.run(({ cold, hot, flush }) => {
        const { client, sockets, createdAt } = rig(
          scheduler,
          [0, 1, 2].map((i) => cold('-o-s-1 30ms e', scriptValues(i))),
        );
        const consumer = '--t 17ms f';
        const input = '(ab) 6ms c|';
        watch(scheduler, client.speak$(cold(input, TEXT), { paused$: hot(consumer, { t: true, f: false }) }));
        flush();
        expect(createdAt).to.deep.equal([frameOf(input, 'b'), frameOf(input, 'c'), frameOf(input, '|')]);
        const resume = { call: 'resume', at: frameOf(consumer, 'f') };
        expect(sockets.map((s) => s.flow)).to.deep.equal([
          [{ call: 'pause', at: frameOf(consumer, 't') }, resume],
          [{ call: 'pause', at: createdAt[1] }, resume],
          [{ call: 'pause', at: createdAt[2] }, resume],
        ]);
      });
    });
  });

  describe('barge-in: unsubscribing closes every socket at once and unsubscribes text$', () => {
    const cases: { phase: string; script: string; at: number; ended: 'close' | 'terminate' }[] = [
      { phase: 'while connecting', script: '-----o', at: 3, ended: 'terminate' },
      { phase: 'while awaiting the START response', script: '-o---s', at: 3, ended: 'close' },
      { phase: 'mid-audio', script: '-o-s-1-1-1-e', at: 8, ended: 'close' },
    ];
    for (const { phase, script, at, ended } of cases) {
      it(phase, () => {
        scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
          const server = cold(script, scriptValues(0));
          const { client, sockets } = rig(scheduler, [server]);
          // Sentence 0 is certain at frame 0 (the next fragment starts sentence 1); text$ never completes.
          const text$ = cold('(ab)', { a: SENTENCES[0], b: '世' });
          const unsubscribe = diagram([
            [0, '^'],
            [at, '!'],
          ]);
          const heard = framesOf(script, '1').filter((frame) => frame < at);
          expectObservable(client.speak$(text$), unsubscribe).toBe(
            diagram(heard.map((frame, i) => [frame, letters(1, String.fromCharCode(65 + i))])),
            lettered(chunksOf(heard.map(() => [0, '1']))),
          );
          expectSubscriptions(text$.subscriptions).toBe(unsubscribe);
          expectSubscriptions(server.subscriptions).toBe(unsubscribe);
          flush();
          expect(sockets).to.have.length(1);
          expect(sockets[0]?.endedBy).to.deep.equal([ended === 'close' ? { how: 'close', code: 1000, at } : { how: 'terminate', at }]);
        });
      });
    }

    it('while later sentences are buffered: the one heard, the one done ahead and the one connecting, all at that moment', () => {
      scheduler.run(({ cold, expectSubscriptions, flush }) => {
        const scripts = [cold('-o-s-1 30ms e', scriptValues(0)), cold('-o-s-1-2', scriptValues(1)), cold('--------o', scriptValues(2))];
        const { client, sockets } = rig(scheduler, scripts);
        const text$ = cold('(abcd)', { ...TEXT, d: '谢' });
        const at = 7;
        const unsubscribe = diagram([
          [0, '^'],
          [at, '!'],
        ]);
        const { seen, subscription } = watch(scheduler, client.speakEvents$(text$));
        scheduler.schedule(() => subscription.unsubscribe(), at);
        expectSubscriptions(text$.subscriptions).toBe(unsubscribe);
        for (const script of scripts) expectSubscriptions(script.subscriptions).toBe(unsubscribe);
        flush();
        expect(sockets.map((s) => s.endedBy)).to.deep.equal([
          [{ how: 'close', code: 1000, at }],
          [{ how: 'close', code: 1000, at }],
          [{ how: 'terminate', at }],
        ]);
        // What was heard: sentence 0's first chunk, nothing of the buffered sentence 1, no sentence complete.
        expect(audioOf(seen.values).map((chunk) => chunk.sentence)).to.deep.equal([ref(0)]);
        expect(seen.values.filter((e) => e.type === 'spoken')).to.deep.equal([]);
        expect(seen.error).to.equal(undefined);
        expect(seen.completedAt).to.equal(undefined);
      });
    });

    it('while a retry waits: no socket is opened afterwards', () => {
      scheduler.run(({ cold, flush }) => {
        const { client, sockets, createdAt } = rig(scheduler, [cold('-o-s-c', scriptValues(0)), cold('-o-s-1-e', scriptValues(0))]);
        const { subscription } = watch(
          scheduler,
          client.speak$(cold('(ab)', { a: SENTENCES[0], b: '世' }), { retry: { count: 1, initialDelay: 10, jitter: 0 } }),
        );
        // The first attempt fails at 5 and the retry would connect at 15.
        scheduler.schedule(() => subscription.unsubscribe(), 8);
        flush();
        expect(createdAt).to.deep.equal([0]);
        expect(sockets[0]?.endedBy).to.deep.equal([]);
      });
    });

    it('take(n) on the audio is a barge-in too', () => {
      scheduler.run(({ cold, expectSubscriptions, flush }) => {
        const script = '-o-s-1-2-3 20ms e';
        const scripts = [0, 1].map((i) => cold(script, scriptValues(i)));
        const { client, sockets } = rig(scheduler, scripts);
        const text$ = cold('(abc)', TEXT);
        const { seen } = watch(scheduler, client.speak$(text$).pipe(take(2)));
        const at = frameOf(script, '2');
        flush();
        expect(seen.values).to.deep.equal(
          chunksOf([
            [0, '1'],
            [0, '2'],
          ]),
        );
        expect(seen.completedAt).to.equal(at);
        expectSubscriptions(text$.subscriptions).toBe(
          diagram([
            [0, '^'],
            [at, '!'],
          ]),
        );
        expect(sockets.map((s) => s.endedBy)).to.deep.equal([[{ how: 'close', code: 1000, at }], [{ how: 'close', code: 1000, at }]]);
      });
    });
  });

  describe('errors: a failed sentence ends the speech with a SisSentenceError naming it', () => {
    // Sentence 1 fails in each of these ways. Sentence 0 is short; sentence 2 sends audio every 20 frames, for ever.
    const first = '-o-s-1-e';
    const endless = '-o-s-1 19ms 1 19ms 1 19ms 1 19ms 1 19ms 1';
    const phases: { phase: string; script: string; causeCode: SisErrorCode; traced: boolean }[] = [
      { phase: 'connecting: the handshake is rejected', script: '--h', causeCode: 'HANDSHAKE_REJECTED', traced: false },
      { phase: 'connecting: the network fails', script: '--n', causeCode: 'CONNECTION_LOST', traced: false },
      { phase: 'connecting: timeouts.connect', script: '-', causeCode: 'TIMEOUT', traced: false },
      { phase: 'awaiting START: FATAL_ERROR', script: '-o-f', causeCode: 'SERVICE_ERROR', traced: true },
      { phase: 'awaiting START: the connection closes', script: '-o--c', causeCode: 'CONNECTION_LOST', traced: false },
      { phase: 'awaiting audio: timeouts.firstAudio', script: '-o-s', causeCode: 'TIMEOUT', traced: true },
      { phase: 'after START: ERROR then END/ERROR', script: '-o-s-r-x', causeCode: 'SERVICE_ERROR', traced: true },
      { phase: 'after START: END/ERROR', script: '-o-s-x', causeCode: 'SERVICE_ERROR', traced: true },
      { phase: 'mid-audio: the connection closes', script: '-o-s-1-c', causeCode: 'CONNECTION_LOST', traced: true },
      { phase: 'mid-audio: a malformed frame', script: '-o-s-1 9ms j', causeCode: 'PROTOCOL_VIOLATION', traced: true },
      { phase: 'mid-audio: timeouts.idle', script: '-o-s-1', causeCode: 'TIMEOUT', traced: true },
    ];
    for (const { phase, script, causeCode, traced } of phases) {
      it(`${phase}: SisSentenceError for sentence 1 (${causeCode}), after sentence 0 was heard in full; the other sockets closed`, () => {
        scheduler.run(({ cold, flush }) => {
          const { client, sockets } = rig(scheduler, [cold(first, scriptValues(0)), cold(script, scriptValues(1)), cold(endless, scriptValues(2))]);
          const { seen } = watch(scheduler, client.speakEvents$(cold('(abc|)', TEXT)));
          // The same script on its own: the error synthesize$ reports, and when.
          const alone = rig(scheduler, [cold(script, scriptValues(1))]);
          const session = watch(scheduler, alone.client.synthesize$({ text: SENTENCES[1] }));
          flush();

          const cause = session.seen.error as SisError;
          expect(cause.code).to.equal(causeCode);
          const error = seen.error as SisSentenceError;
          expect(error).to.be.instanceOf(SisSentenceError);
          expect(error).to.deep.include({
            code: 'SENTENCE_FAILED',
            sentence: ref(1),
            causeCode,
            traceId: traced ? trace(1) : undefined,
            retryable: cause.retryable,
          });
          expect(error.cause).to.deep.equal(cause);
          expect(error.message).to.equal(`sentence 1 ("${SENTENCES[1]}") failed: ${cause.message}`);
          // In its turn: once sentence 0 is heard in full (its `spoken`), then whatever sentence 1 had sent.
          const doneAt = frameOf(first, 'e');
          expect(seen.erroredAt).to.equal(Math.max(doneAt, session.seen.erroredAt ?? Number.NaN));
          expect(seen.values.filter((e) => e.type === 'spoken').map((e) => e.sentence)).to.deep.equal([ref(0)]);
          expect(audioOf(seen.values)).to.deep.equal(
            chunksOf([[0, '1'] as const, ...framesOf(script, '1').map(() => [1, '1'] as const)]).slice(0, 1 + session.seen.values.length),
          );
          // Sentence 2, still running, is closed then; nothing connects after.
          expect(sockets).to.have.length(3);
          expect(sockets[2]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at: seen.erroredAt }]);
        });
      });
    }

    it('errors at once when the sentence being heard fails, closing the sockets ahead', () => {
      scheduler.run(({ cold, flush }) => {
        const failing = '-o-s-1 9ms c';
        const done = '-o-s-1-e';
        const { client, sockets } = rig(scheduler, [cold(failing, scriptValues(0)), cold(done, scriptValues(1)), cold('-o', scriptValues(2))]);
        const alone = rig(scheduler, [cold(failing, scriptValues(0))]);
        const session = watch(scheduler, alone.client.synthesize$({ text: SENTENCES[0] }));
        const { seen } = watch(scheduler, client.speak$(cold('(abc|)', TEXT)));
        flush();
        const at = frameOf(failing, 'c');
        expect(seen.values).to.deep.equal(chunksOf([[0, '1']]));
        expect(seen.erroredAt).to.equal(at);
        expect(seen.error).to.deep.equal(new SisSentenceError({ sentence: ref(0), cause: session.seen.error as SisError }));
        // Sentence 1 had ended (its audio waiting); sentence 2, awaiting START, is closed with the speech.
        expect(sockets.map((s) => s.endedBy)).to.deep.equal([[], [{ how: 'close', code: 1000, at: frameOf(done, 'e') }], [{ how: 'close', code: 1000, at }]]);
      });
    });
  });

  describe('retry (option retry): a retryable failure before the first audio of a sentence', () => {
    const retry = { count: 2, initialDelay: 10, jitter: 0 };

    it('is retried on a new socket, and the speech goes on in order', () => {
      scheduler.run(({ cold, flush }) => {
        const failing = '-o-s-c';
        const good = '-o-s-1-e';
        const { client, sockets, createdAt } = rig(scheduler, [
          cold('-o-s-1 40ms e', scriptValues(0)),
          cold(failing, scriptValues(1)),
          cold(good, scriptValues(1)),
        ]);
        const retries: RetryInfo[] = [];
        const { seen } = watch(scheduler, client.speakEvents$(cold('(ab|)', TEXT), { retry: { ...retry, onRetry: (info) => retries.push(info) } }));
        flush();
        expect(seen.error).to.equal(undefined);
        expect(createdAt).to.deep.equal([0, 0, frameOf(failing, 'c') + retry.initialDelay]);
        expect(startTexts(sockets)).to.deep.equal([SENTENCES[0], SENTENCES[1], SENTENCES[1]]);
        expect(retries.map(({ attempt, delayMs }) => ({ attempt, delayMs }))).to.deep.equal([{ attempt: 1, delayMs: retry.initialDelay }]);
        expect(audioOf(seen.values)).to.deep.equal(
          chunksOf([
            [0, '1'],
            [1, '1'],
          ]),
        );
        // One `sentence` and one `sent` per sentence; the retried attempt's `start` (a new session) shows up again.
        expect(
          seen.values.filter((e) => e.type !== 'audio').map((e) => `${e.type}${'sentence' in e && e.sentence !== undefined ? e.sentence.index : ''}`),
        ).to.deep.equal(['sentence0', 'sent0', 'start0', 'spoken0', 'sentence1', 'sent1', 'start1', 'start1', 'spoken1', 'end']);
      });
    });

    it('is not retried once the sentence sent audio (the listener would hear it twice)', () => {
      scheduler.run(({ cold, flush }) => {
        const failing = '-o-s-1-c';
        const { client, createdAt } = rig(scheduler, [cold(failing, scriptValues(0)), cold('-o-s-1-e', scriptValues(0))]);
        const { seen } = watch(scheduler, client.speak$(cold('(a|)', TEXT), { retry }));
        flush();
        expect(createdAt).to.deep.equal([0]);
        expect(seen.values).to.deep.equal(chunksOf([[0, '1']]));
        expect(seen.error).to.be.instanceOf(SisSentenceError);
        expect(seen.error).to.deep.include({ causeCode: 'CONNECTION_LOST', sentence: ref(0) });
        expect(seen.erroredAt).to.equal(frameOf(failing, 'c'));
      });
    });

    it('is not retried when the failure is not retryable', () => {
      scheduler.run(({ cold, flush }) => {
        const { client, createdAt } = rig(scheduler, [cold('-o-s-r-x', scriptValues(0)), cold('-o-s-1-e', scriptValues(0))]);
        const { seen } = watch(scheduler, client.speak$(cold('(a|)', TEXT), { retry }));
        flush();
        expect(createdAt).to.deep.equal([0]);
        expect(seen.error).to.deep.include({ causeCode: 'SERVICE_ERROR', retryable: false });
      });
    });

    it('is not retried without the option', () => {
      scheduler.run(({ cold, flush }) => {
        const { client, createdAt } = rig(scheduler, [cold('-o-s-c', scriptValues(0)), cold('-o-s-1-e', scriptValues(0))]);
        const { seen } = watch(scheduler, client.speak$(cold('(a|)', TEXT)));
        flush();
        expect(createdAt).to.deep.equal([0]);
        expect(seen.error).to.deep.include({ causeCode: 'CONNECTION_LOST', retryable: true });
      });
    });

    it('gives up after retry.count retries with the last attempt’s error', () => {
      scheduler.run(({ cold, flush }) => {
        const failing = '-o-s-c';
        const { client, createdAt } = rig(
          scheduler,
          [0, 1, 2, 3].map(() => cold(failing, scriptValues(0))),
        );
        const { seen } = watch(scheduler, client.speak$(cold('(a|)', TEXT), { retry }));
        flush();
        // Each attempt fails `fails` after it connects; the waits double: initialDelay, 2 × initialDelay.
        const fails = frameOf(failing, 'c');
        const waits = [retry.initialDelay, 2 * retry.initialDelay];
        expect(createdAt).to.deep.equal([0, fails + (waits[0] ?? 0), 2 * fails + (waits[0] ?? 0) + (waits[1] ?? 0)]);
        expect(seen.error).to.deep.include({ causeCode: 'CONNECTION_LOST', sentence: ref(0) });
        expect(seen.erroredAt).to.equal(3 * fails + (waits[0] ?? 0) + (waits[1] ?? 0));
      });
    });
  });

  describe('text$', () => {
    it('erroring ends the speech with a SisInputError whose cause is its error, and closes the sockets', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const script = '-o-s-1 20ms e';
        const { client, sockets } = rig(scheduler, [cold(script, scriptValues(0))]);
        const llmError = new Error('the LLM went away');
        const input = '(ab) 3ms #';
        const at = frameOf(input, '#');
        expectObservable(client.speak$(cold(input, { a: SENTENCES[0], b: '世' }, llmError))).toBe(
          diagram([
            [frameOf(script, '1'), 'A'],
            [at, '#'],
          ]),
          lettered(chunksOf([[0, '1']])),
          new SisInputError({ cause: llmError }),
        );
        flush();
        expect(sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at }]);
      });
    });

    it('keeps the very error as cause, whatever it is', () => {
      scheduler.run(({ cold, flush }) => {
        const { client } = rig(scheduler, []);
        const reason = { status: 503 };
        const { seen } = watch(scheduler, client.speak$(cold('-#', {}, reason)));
        flush();
        expect(seen.error).to.be.instanceOf(SisInputError);
        expect((seen.error as SisInputError).cause).to.equal(reason);
        expect(seen.error).to.deep.include({ code: 'INPUT_FAILED', retryable: false });
      });
    });

    it('a value that is not a string is a SisRequestError (path text$); the sockets are closed', () => {
      scheduler.run(({ cold, expectObservable, flush }) => {
        const { client, sockets } = rig(scheduler, [cold('-o-s-1 20ms e', scriptValues(0))]);
        const input = '(ab)-c';
        const at = frameOf(input, 'c');
        expectObservable(client.speak$(cold(input, { a: SENTENCES[0], b: '世', c: 42 }) as Observable<string>)).toBe(
          diagram([[at, '#']]),
          {},
          new SisRequestError([{ path: 'text$', message: 'must emit strings, got number' }]),
        );
        flush();
        expect(sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at }]);
      });
    });

    it('textTimeout: a silence that long between fragments is a SisTimeoutError of phase text; sockets closed, text$ unsubscribed', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
        const textTimeout = 20;
        const { client, sockets } = rig(scheduler, [cold('-o-s-1 40ms e', scriptValues(0))]);
        const input = '(ab) 30ms c|';
        const text$ = cold(input, { a: SENTENCES[0], b: '世', c: '界。' });
        const at = frameOf(input, 'b') + textTimeout;
        expectObservable(client.speak$(text$, { textTimeout })).toBe(
          diagram([
            [frameOf('-o-s-1', '1'), 'A'],
            [at, '#'],
          ]),
          lettered(chunksOf([[0, '1']])),
          new SisTimeoutError('text', textTimeout),
        );
        expectSubscriptions(text$.subscriptions).toBe(
          diagram([
            [0, '^'],
            [at, '!'],
          ]),
        );
        flush();
        expect(sockets[0]?.endedBy).to.deep.equal([{ how: 'close', code: 1000, at }]);
      });
    });

    it('textTimeout: counts from the subscription to the first fragment too', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const { client } = rig(scheduler, []);
        expectObservable(client.speak$(cold('30ms a|', TEXT), { textTimeout: 20 })).toBe('20ms #', {}, new SisTimeoutError('text', 20));
      });
    });

    it('without textTimeout, a long silence is no error', () => {
      scheduler.run(({ cold, flush }) => {
        const { client } = rig(scheduler, [cold('-o-s-1-e', scriptValues(0)), cold('-o-s-2-e', scriptValues(1))]);
        const input = 'a 10m b 50m |';
        const { seen } = watch(scheduler, client.speak$(cold(input, TEXT)));
        flush();
        expect(seen.error).to.equal(undefined);
        expect(seen.values).to.deep.equal(
          chunksOf([
            [0, '1'],
            [1, '2'],
          ]),
        );
        expect(seen.completedAt).to.equal(frameOf(input, '|') + frameOf('-o-s-2-e', 'e'));
      });
    });

    for (const [name, input, values] of [
      ['an empty text$', '|', {}],
      ['a text$ of whitespace only', '(ab|)', { a: '  ', b: '\n\t ' }],
    ] as const) {
      it(`${name} completes with an end event only, and no socket`, () => {
        scheduler.run(({ cold, expectObservable, flush }) => {
          const { client, sockets } = rig(scheduler, []);
          const done = frameOf(input, '|');
          expectObservable(client.speakEvents$(cold(input, values))).toBe(diagram([[done, '(E|)']]), {
            E: { type: 'end', api: 'realtime', sentences: 0, chunks: 0, bytes: 0, traceIds: [], timings: { firstAudioMs: undefined, totalMs: done } },
          } satisfies Record<string, SpeechEvent>);
          expectObservable(client.speak$(cold(input, values))).toBe(diagram([[done, '|']]));
          flush();
          expect(sockets).to.deep.equal([]);
        });
      });
    }
  });

  describe('speakEvents$', () => {
    it('reports sentence, sent, start, audio, spoken per sentence, in order, then end with the totals', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const slow = '-o-s 9ms 1-e';
        const fast = '-o-s-2-u-4-e';
        const { client } = rig(scheduler, [cold(slow, scriptValues(0)), cold(fast, scriptValues(1))]);
        const [a1, b2, b4] = chunksOf([
          [0, '1'],
          [1, '2'],
          [1, '4'],
        ]);
        const events: SpeechEvent[] = [
          { type: 'sentence', sentence: ref(0) },
          { type: 'sent', sentence: ref(0), elapsedMs: frameOf(slow, 'o') },
          { type: 'start', traceId: trace(0), sentence: ref(0), elapsedMs: frameOf(slow, 's') },
          { type: 'audio', chunk: a1 as SpeechChunk },
          // Sentence 1, answered meanwhile, comes out in its turn, with the times it happened at.
          { type: 'spoken', sentence: ref(0), traceId: trace(0), bytes: bytesOf('1') },
          { type: 'sentence', sentence: ref(1) },
          { type: 'sent', sentence: ref(1), elapsedMs: frameOf(fast, 'o') },
          { type: 'start', traceId: trace(1), sentence: ref(1), elapsedMs: frameOf(fast, 's') },
          { type: 'audio', chunk: b2 as SpeechChunk },
          { type: 'unknown', respType: 'PROGRESS', frame: { resp_type: 'PROGRESS', trace_id: trace(1), percent: 50 } },
          { type: 'audio', chunk: b4 as SpeechChunk },
          { type: 'spoken', sentence: ref(1), traceId: trace(1), bytes: bytesOf('24') },
          {
            type: 'end',
            api: 'realtime',
            sentences: 2,
            chunks: 3,
            bytes: bytesOf('124'),
            traceIds: [trace(0), trace(1)],
            timings: { firstAudioMs: frameOf(slow, '1'), totalMs: frameOf(slow, 'e') },
          },
        ];
        expectObservable(client.speakEvents$(cold('(ab|)', TEXT))).toBe(
          diagram([
            [0, 'A'],
            [frameOf(slow, 'o'), 'B'],
            [frameOf(slow, 's'), 'C'],
            [frameOf(slow, '1'), 'D'],
            [frameOf(slow, 'e'), `(${letters(events.length - 4, 'E')}|)`],
          ]),
          lettered(events),
        );
      });
    });

    it('times are counted from the subscription', () => {
      scheduler.run(({ cold, flush }) => {
        const script = '-o-s-1-e';
        const { client } = rig(scheduler, [cold(script, scriptValues(0))]);
        const input = '10ms (a|)';
        const { seen } = watch(scheduler, client.speakEvents$(cold(input, TEXT)));
        flush();
        const connects = frameOf(input, 'a');
        expect(seen.values.filter((e) => e.type === 'sent' || e.type === 'start').map((e) => e.elapsedMs)).to.deep.equal([
          connects + frameOf(script, 'o'),
          connects + frameOf(script, 's'),
        ]);
        expect(seen.values.at(-1)).to.deep.include({ timings: { firstAudioMs: connects + frameOf(script, '1'), totalMs: connects + frameOf(script, 'e') } });
      });
    });
  });
});
