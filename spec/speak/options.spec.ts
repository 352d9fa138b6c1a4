/**
 * The options of `speak$` / `speakEvents$` / `speak`: every bad knob named in one error, the voice
 * fields judged as a request, and nothing connected or subscribed until the options are good.
 */
import { expect } from 'chai';
import { NEVER, Observable, Subject, of, type Subscription } from 'rxjs';
import {
  SisConfigError,
  SisError,
  SisRequestError,
  createSisClient,
  speak,
  type SisClient,
  type SpeakOptions,
  type SynthesisRequest,
} from '../../lib/index.js';
import { DEFAULT_LIMITS } from '../../lib/protocol/request.js';
import { MAX_TEXT_LENGTH, SAMPLE_RATES } from '../../lib/protocol/rules.js';
import { STREAMING_AUDIO_FORMATS, STREAMING_PIECE_LIMIT, STREAMING_SAMPLE_RATES } from '../../lib/protocol/streaming.js';
import { planSpeech } from '../../lib/speak/options.js';
import { DEFAULT_MAX_SENTENCE_LENGTH } from '../../lib/speak/sentences.js';
import type { WebSocketFactory } from '../../lib/transport/websocket-like.js';

/** A client whose factory records every connection attempt (and opens nothing). */
const recordingClient = (limits?: { maxTextLength: number }) => {
  const connections: string[] = [];
  const factory: WebSocketFactory = (request) => {
    connections.push(request.url);
    return { send: () => undefined, close: () => undefined, terminate: () => undefined };
  };
  const client = createSisClient({
    endpoint: 'ws://127.0.0.1:9',
    projectId: 'project-1',
    auth: { token: 'token-for-option-tests' },
    webSocketFactory: factory,
    limits,
  });
  return { client, connections };
};

/** A text$ that records being subscribed to. */
const recordingText = (fragments: readonly string[] = ['你好。', '世界。']) => {
  const subscriptions = { count: 0 };
  const text$ = new Observable<string>((subscriber) => {
    subscriptions.count += 1;
    for (const fragment of fragments) subscriber.next(fragment);
  });
  return { text$, subscriptions };
};

/** What a speech ends with when subscribed: the error, synchronously (the checks run at subscription). */
const subscribeFor = (speech$: Observable<unknown>): { error: unknown; subscription: Subscription } => {
  let error: unknown;
  const subscription = speech$.subscribe({ error: (e: unknown) => (error = e) });
  return { error, subscription };
};

const errorOf = (speech$: Observable<unknown>): SisError => {
  const { error, subscription } = subscribeFor(speech$);
  subscription.unsubscribe();
  expect(error, 'an error at subscription').to.be.instanceOf(SisError);
  return error as SisError;
};

const pathsOf = (error: SisError): string[] => {
  expect(error).to.satisfy((e: SisError) => e instanceof SisConfigError || e instanceof SisRequestError);
  return (error as SisConfigError | SisRequestError).problems.map((p) => p.path);
};

/** The problems synthesize$ finds in a request with these voice fields: what speak$ (real-time) must report too. */
const synthesizeProblems = (client: SisClient, fields: Omit<SynthesisRequest, 'text'>) => {
  const error = errorOf(client.synthesize$({ text: 'x', ...fields }));
  expect(error).to.be.instanceOf(SisRequestError);
  return (error as SisRequestError).problems;
};

const subject = new Subject<boolean>();

interface BadCase {
  readonly name: string;
  readonly options: unknown;
  readonly error: typeof SisConfigError | typeof SisRequestError;
  readonly paths: readonly string[];
}

const badCases: readonly BadCase[] = [
  {
    name: 'every bad knob at once (real-time)',
    options: {
      lookAhead: 2,
      maxLength: MAX_TEXT_LENGTH + 1,
      firstClauseMinLength: 0,
      paused$: true,
      textTimeout: 0,
      lookahead: -1,
      highWaterMark: 0,
      retry: { count: -1, jitter: 2 },
    },
    error: SisConfigError,
    paths: ['lookAhead', 'firstClauseMinLength', 'maxLength', 'paused$', 'textTimeout', 'lookahead', 'highWaterMark', 'retry.count', 'retry.jitter'],
  },
  { name: 'an unknown api', options: { api: 'websocket' }, error: SisConfigError, paths: ['api'] },
  { name: 'a maxLength that is not a positive integer', options: { maxLength: 1.5 }, error: SisConfigError, paths: ['maxLength'] },
  { name: 'a fractional lookahead', options: { lookahead: 1.5 }, error: SisConfigError, paths: ['lookahead'] },
  { name: 'a fractional highWaterMark', options: { highWaterMark: 1024.5 }, error: SisConfigError, paths: ['highWaterMark'] },
  { name: 'retry that is not an object', options: { retry: 3 }, error: SisConfigError, paths: ['retry'] },
  { name: "retry's old name for the first wait", options: { retry: { delay: 100 } }, error: SisConfigError, paths: ['retry.delay'] },
  {
    name: 'a retry.maxDelay below its initialDelay',
    options: { retry: { initialDelay: 100, maxDelay: 10 } },
    error: SisConfigError,
    paths: ['retry.maxDelay'],
  },
  { name: 'a paused$ that is a promise', options: { paused$: Promise.resolve(false) }, error: SisConfigError, paths: ['paused$'] },
  { name: 'a preconnect that is not a boolean', options: { preconnect: 'yes' }, error: SisConfigError, paths: ['preconnect'] },
  { name: 'a negative textTimeout', options: { textTimeout: -1 }, error: SisConfigError, paths: ['textTimeout'] },
  { name: 'a textTimeout that is not a number', options: { textTimeout: '5s' }, error: SisConfigError, paths: ['textTimeout'] },
  {
    name: "the real-time knobs with api 'streaming'",
    options: { api: 'streaming', lookahead: 1, highWaterMark: 4096, retry: { count: 1 }, preconnect: true },
    error: SisConfigError,
    paths: ['lookahead', 'highWaterMark', 'retry', 'preconnect'],
  },
  {
    name: "a maxLength past the MSG limit with api 'streaming'",
    options: { api: 'streaming', maxLength: STREAMING_PIECE_LIMIT + 1 },
    error: SisConfigError,
    paths: ['maxLength'],
  },
  {
    name: 'a bad knob and bad voice fields: one SisConfigError naming both',
    options: { lookahead: -1, voice: 'Not A Voice', volume: 101 },
    error: SisConfigError,
    paths: ['lookahead', 'voice', 'volume'],
  },
  {
    name: "a bad knob and bad voice fields with api 'streaming'",
    options: { api: 'streaming', textTimeout: 0, audioFormat: 'alaw' },
    error: SisConfigError,
    paths: ['textTimeout', 'audioFormat'],
  },
  {
    name: 'bad voice fields only (real-time)',
    options: { voice: 'Not A Voice', sampleRate: 24000, speed: 501 },
    error: SisRequestError,
    paths: ['sampleRate', 'speed', 'voice'],
  },
  {
    name: "bad voice fields only (api 'streaming')",
    options: { api: 'streaming', audioFormat: 'ulaw', sampleRate: 44100, pitch: -501 },
    error: SisRequestError,
    paths: ['audioFormat', 'sampleRate', 'pitch'],
  },
  { name: 'options that are not an object', options: 'chinese_xiaoyan_common', error: SisConfigError, paths: ['options'] },
];

describe('speak$ options', () => {
  describe('refused at subscription, before text$ is subscribed or a socket opened', () => {
    for (const { name, options, error: errorClass, paths } of badCases) {
      it(`${name}: ${errorClass.name} naming ${paths.join(', ')}`, () => {
        const { client, connections } = recordingClient();
        const { text$, subscriptions } = recordingText();
        for (const speech$ of [
          client.speak$(text$, options as SpeakOptions),
          client.speakEvents$(text$, options as SpeakOptions),
          text$.pipe(speak(client, options as SpeakOptions)),
        ]) {
          const error = errorOf(speech$);
          expect(error).to.be.instanceOf(errorClass);
          expect(pathsOf(error)).to.have.members([...paths]);
          expect(pathsOf(error)).to.have.length(paths.length);
          expect(error.retryable).to.equal(false);
        }
        expect(connections, 'no socket').to.deep.equal([]);
        expect(subscriptions.count, 'text$ not subscribed').to.equal(0);
      });
    }

    it('the same options, valid, do connect and subscribe text$ (the recorders work)', () => {
      const { client, connections } = recordingClient();
      const { text$, subscriptions } = recordingText();
      const { error, subscription } = subscribeFor(
        client.speak$(text$, { voice: 'chinese_xiaoyan_common', lookahead: 0, textTimeout: 1000, preconnect: false }),
      );
      subscription.unsubscribe();
      expect(error).to.equal(undefined);
      expect(subscriptions.count).to.equal(1);
      expect(connections).to.deep.equal(['ws://127.0.0.1:9/v1/project-1/rtts']);
    });

    it('messages say what was expected and suggest the intended name', () => {
      const { client } = recordingClient();
      const error = errorOf(client.speak$(of('x'), { lookAhead: 1, api: 'streaming', lookahead: 1 } as SpeakOptions));
      expect(error).to.be.instanceOf(SisConfigError);
      expect(error.message).to.include("lookAhead: unknown field (did you mean 'lookahead'?)");
      expect(error.message).to.include("lookahead: applies to api 'realtime' only");
    });
  });

  describe('text$', () => {
    for (const [name, value] of [
      ['a string', 'Hello.'],
      ['an array of strings', ['Hello.']],
      ['a promise', Promise.resolve('Hello.')],
      ['undefined', undefined],
    ] as const) {
      it(`refuses ${name} with a SisConfigError (path text$) and connects nothing`, () => {
        const { client, connections } = recordingClient();
        for (const speech$ of [client.speak$(value as never), client.speakEvents$(value as never, { api: 'streaming' })]) {
          const error = errorOf(speech$);
          expect(error).to.be.instanceOf(SisConfigError);
          expect(pathsOf(error)).to.deep.equal(['text$']);
        }
        expect(connections).to.deep.equal([]);
      });
    }

    it('speak() refuses something that is not a client, before subscribing text$', () => {
      const { text$, subscriptions } = recordingText();
      const error = errorOf(text$.pipe(speak({} as never)));
      expect(error).to.be.instanceOf(SisConfigError);
      expect(pathsOf(error)).to.deep.equal(['client']);
      expect(subscriptions.count).to.equal(0);
    });
  });

  describe('voice fields', () => {
    const realtimeCases: Omit<SynthesisRequest, 'text'>[] = [
      { voice: 'Not A Voice' },
      { audioFormat: 'wav' as never },
      { sampleRate: 24000 as never },
      { speed: 501, pitch: -501, volume: 101 },
      { speed: 1.5 },
    ];
    for (const fields of realtimeCases) {
      it(`real-time: ${JSON.stringify(fields)} is refused with the problems synthesize$ reports`, () => {
        const { client } = recordingClient();
        const error = errorOf(client.speak$(of('x'), fields as SpeakOptions));
        expect(error).to.be.instanceOf(SisRequestError);
        expect((error as SisRequestError).problems).to.deep.equal(synthesizeProblems(client, fields));
      });
    }

    it('real-time: every rate and format synthesize$ takes is taken', () => {
      for (const sampleRate of SAMPLE_RATES) {
        for (const audioFormat of ['pcm', 'alaw', 'ulaw', 'mp3'] as const) {
          const plan = planSpeech({ sampleRate, audioFormat }, DEFAULT_LIMITS);
          expect(plan.api === 'realtime' && plan.request).to.include({ sampleRate, audioFormat });
        }
      }
    });

    it("streaming: audioFormat pcm or mp3, sampleRate 8000, 16000 or 24000 (sent as '8kHz' …)", () => {
      for (const sampleRate of STREAMING_SAMPLE_RATES) {
        for (const audioFormat of STREAMING_AUDIO_FORMATS) {
          const plan = planSpeech({ api: 'streaming', sampleRate, audioFormat }, DEFAULT_LIMITS);
          expect(plan.api === 'streaming' && plan.config).to.include({ audio_format: audioFormat, sample_rate: `${sampleRate / 1000}kHz` });
        }
      }
      for (const audioFormat of ['alaw', 'ulaw']) {
        expect(() => planSpeech({ api: 'streaming', audioFormat } as SpeakOptions, DEFAULT_LIMITS)).to.throw(SisRequestError, 'audioFormat');
      }
      expect(() => planSpeech({ api: 'streaming', sampleRate: 22050 } as unknown as SpeakOptions, DEFAULT_LIMITS)).to.throw(SisRequestError, 'sampleRate');
    });

    it('streaming: a registered voice name is taken, a malformed one refused', () => {
      const plan = planSpeech({ api: 'streaming', voice: 'my_cloned_voice_01' }, DEFAULT_LIMITS);
      expect(plan.api === 'streaming' && plan.config.voice_name).to.equal('my_cloned_voice_01');
      expect(() => planSpeech({ api: 'streaming', voice: 'My Voice' }, DEFAULT_LIMITS)).to.throw(SisRequestError, 'voice');
    });
  });

  describe('limits and defaults', () => {
    it("maxLength: up to the client's limits.maxTextLength in real-time mode, up to the MSG limit in streaming mode", () => {
      const { client, connections } = recordingClient({ maxTextLength: 500 });
      const over = errorOf(client.speak$(NEVER, { maxLength: 501 }));
      expect(over).to.be.instanceOf(SisConfigError);
      expect(over.message).to.include('maxLength: must be at most 500');
      expect(() => planSpeech({ maxLength: 500 }, { maxTextLength: 500 })).not.to.throw();
      expect(() => planSpeech({ api: 'streaming', maxLength: STREAMING_PIECE_LIMIT }, DEFAULT_LIMITS)).not.to.throw();
      expect(connections).to.deep.equal([]);
    });

    it("cuts sentences at the client's limits.maxTextLength when it is below the default maxLength", () => {
      const { client, connections } = recordingClient({ maxTextLength: 100 });
      const { error, subscription } = subscribeFor(client.speak$(of('你好。'), { preconnect: false }));
      subscription.unsubscribe();
      expect(error).to.equal(undefined);
      expect(connections).to.have.length(1);
      expect(planSpeech({}, { maxTextLength: 100 }).sentences.maxLength).to.equal(100);
    });

    it('fills in the defaults: real-time, lookahead 2, 1 MiB, no retry, no text timeout, 300-character sentences, preconnect', () => {
      const plan = planSpeech(undefined, DEFAULT_LIMITS);
      expect(plan).to.deep.include({
        api: 'realtime',
        preconnect: true,
        lookahead: 2,
        highWaterMark: 1024 * 1024,
        retry: undefined,
        paused$: undefined,
        textTimeout: Infinity,
        sentences: { maxLength: DEFAULT_MAX_SENTENCE_LENGTH, firstClauseMinLength: undefined },
      });
      expect(plan.api === 'realtime' && plan.request).to.deep.equal({
        voice: 'chinese_xiaoyan_common',
        audioFormat: 'pcm',
        sampleRate: 8000,
        speed: 0,
        pitch: 0,
        volume: 50,
      });
    });

    it('takes lookahead 0, an Observable paused$ and a finite or infinite textTimeout', () => {
      for (const options of [{ lookahead: 0 }, { paused$: subject }, { paused$: of(false) }, { textTimeout: 1 }, { textTimeout: Infinity }] as SpeakOptions[]) {
        expect(() => planSpeech(options, DEFAULT_LIMITS), JSON.stringify(Object.keys(options))).not.to.throw();
      }
    });
  });
});
