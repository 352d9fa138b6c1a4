/**
 * The options of `speak$` / `speakEvents$` / `speak`: the voice, which API, and the knobs of each.
 * Checked once, before anything subscribes to the text or connects, into a {@link SpeakPlan}.
 */
import { isObservable, type Observable } from 'rxjs';
import {
  boolean,
  check,
  isObject,
  matches,
  nonNegativeInteger,
  objectProblems,
  oneOf,
  optional,
  positiveInteger,
  positiveMs,
  unknownKeyProblems,
} from '../checks.js';
import { SisConfigError, SisRequestError, type Problem } from '../errors.js';
import { retryProblems, type RetryOptions } from '../operators/retry-synthesis.js';
import { resolveRequest, type RequestLimits, type ResolvedRequest } from '../protocol/request.js';
import { Pitch, Speed, VoiceName, Volume, type AudioFormat } from '../protocol/rules.js';
import {
  STREAMING_AUDIO_FORMATS,
  STREAMING_DEFAULTS,
  STREAMING_PIECE_LIMIT,
  STREAMING_SAMPLE_RATES,
  streamingWireRate,
  type StreamingAudioFormat,
  type StreamingConfig,
  type StreamingSampleRate,
} from '../protocol/streaming.js';
import { DEFAULT_MAX_SENTENCE_LENGTH, SENTENCE_OPTION_KEYS, sentenceOptionProblems, type SentenceOptions } from './sentences.js';

/** Which SIS API speaks: one real-time session per sentence, or the streaming API's one socket. */
export type SpeakApi = 'realtime' | 'streaming';

/** Options of `speak$`, `speakEvents$` and `speak`. Every field is optional. */
export interface SpeakOptions extends SentenceOptions {
  /**
   * `'realtime'` (default): each sentence is one real-time session (§1), pipelined so that the next
   * ones are ready when one ends; available in every region with real-time synthesis.
   * `'streaming'`: the streaming synthesis API (§2), every piece on one socket.
   */
  readonly api?: SpeakApi | undefined;
  /**
   * The voice. Real-time: as in `synthesize$` (default `chinese_xiaoyan_common`); streaming: a preset
   * `chinese_huaxiao*_common` or a registered voice (default `chinese_huaxiaoli_common`).
   */
  readonly voice?: string | undefined;
  /** Real-time: `'pcm'` (default), `'alaw'`, `'ulaw'` or `'mp3'`; streaming: `'pcm'` (default) or `'mp3'`. */
  readonly audioFormat?: AudioFormat | undefined;
  /** Hz. Real-time: 8000 (default) or 16000; streaming: 8000, 16000 (default) or 24000. */
  readonly sampleRate?: 8000 | 16000 | 24000 | undefined;
  /** −500..500, default 0. */
  readonly speed?: number | undefined;
  /** −500..500, default 0. */
  readonly pitch?: number | undefined;
  /** 0..100, default 50. */
  readonly volume?: number | undefined;
  /**
   * Real-time only: sentences synthesised ahead of the one being heard (default 2), so that each is
   * ready when the one before it ends. 0 runs one session at a time.
   */
  readonly lookahead?: number | undefined;
  /**
   * Real-time only: bytes a sentence running ahead may hold while it waits for its turn; past it, its
   * socket is paused until its turn drains it (default 1 MiB). Memory stays within `lookahead` × this.
   */
  readonly highWaterMark?: number | undefined;
  /**
   * Real-time only: retry a sentence whose session failed with a retryable error before its first
   * audio (a sentence that already sent audio is never retried: the listener would hear it twice). Its waits run on
   * the client's `scheduler` unless `retry.scheduler` says otherwise.
   */
  readonly retry?: RetryOptions | undefined;
  /**
   * Real-time only: open a socket when the speech is subscribed, while the LLM writes its first
   * sentence, and keep one ready ahead until `text$` completes, so that a sentence does not wait for
   * a handshake (default true). Not needed when the client keeps warm sockets (its `warm` option): its
   * pool serves instead. Costs at most one connection that ends unused.
   */
  readonly preconnect?: boolean | undefined;
  /** While the last value is `true`, no socket is read (see `toReadable`): the consumer sets the pace. */
  readonly paused$?: Observable<boolean> | undefined;
  /**
   * Milliseconds `text$` may stay silent (before its first fragment, and between fragments) before the
   * speech fails with a `SisTimeoutError` of phase `'text'`. Default `Infinity`: a slow LLM is not an error.
   */
  readonly textTimeout?: number | undefined;
}

const SPEAK_KEYS = [
  'api',
  'voice',
  'audioFormat',
  'sampleRate',
  'speed',
  'pitch',
  'volume',
  'lookahead',
  'highWaterMark',
  'retry',
  'preconnect',
  'paused$',
  'textTimeout',
  ...SENTENCE_OPTION_KEYS,
] as const;
const REALTIME_ONLY = ['lookahead', 'highWaterMark', 'retry', 'preconnect'] as const;

const DEFAULT_LOOKAHEAD = 2;
const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/** A real-time request without its text: what every sentence of a speech shares. */
type VoiceRequest = Omit<ResolvedRequest, 'text' | 'subtitle'>;

interface Common {
  readonly sentences: { readonly maxLength: number; readonly firstClauseMinLength: number | undefined };
  readonly paused$: Observable<boolean> | undefined;
  readonly textTimeout: number;
}

/** The checked options of one speech, with every default filled in. */
export type SpeakPlan =
  | (Common & {
      readonly api: 'realtime';
      /** The request of every sentence but its text. */
      readonly request: VoiceRequest;
      readonly lookahead: number;
      readonly highWaterMark: number;
      readonly retry: RetryOptions | undefined;
      readonly preconnect: boolean;
    })
  | (Common & {
      readonly api: 'streaming';
      readonly config: StreamingConfig;
      readonly audioFormat: StreamingAudioFormat;
      readonly sampleRate: StreamingSampleRate;
    });

const voiceProblems = (options: SpeakOptions): Problem[] => [
  ...optional(matches(VoiceName))('voice', options.voice),
  ...optional(oneOf(STREAMING_AUDIO_FORMATS))('audioFormat', options.audioFormat),
  ...optional(oneOf(STREAMING_SAMPLE_RATES))('sampleRate', options.sampleRate),
  ...optional(matches(Speed))('speed', options.speed),
  ...optional(matches(Pitch))('pitch', options.pitch),
  ...optional(matches(Volume))('volume', options.volume),
];

/** The real-time request of every sentence, checked by the same rules as `synthesize$`'s. */
const realtimeRequest = (options: SpeakOptions, limits: RequestLimits): { request?: VoiceRequest; problems: Problem[] } => {
  const { voice, audioFormat, sampleRate, speed, pitch, volume } = options;
  try {
    const { text: _text, subtitle: _subtitle, ...request } = resolveRequest({ text: 'x', voice, audioFormat, sampleRate, speed, pitch, volume }, limits);
    return { request, problems: [] };
  } catch (error) {
    if (error instanceof SisRequestError || error instanceof SisConfigError) return { problems: [...error.problems] };
    throw error;
  }
};

/**
 * Checks the options of a speech against the client's limits and fills in the defaults.
 * @throws {SisConfigError} for a bad knob (listing every problem, the voice fields' included);
 * @throws {SisRequestError} when only the voice fields are wrong, as `synthesize$` reports a bad request.
 */
export const planSpeech = (options: SpeakOptions | undefined, limits: RequestLimits): SpeakPlan => {
  const given: SpeakOptions = options ?? {};
  if (!isObject(given)) throw new SisConfigError(objectProblems('options', given, "{ voice, api: 'realtime' }"), 'speak options');
  const { api = 'realtime', firstClauseMinLength, paused$, textTimeout = Infinity } = given;
  const pieceLimit = api === 'streaming' ? STREAMING_PIECE_LIMIT : limits.maxTextLength;
  // The default must fit a client whose limits.maxTextLength is below it.
  const { maxLength = Math.min(DEFAULT_MAX_SENTENCE_LENGTH, pieceLimit) } = given;
  const knobs: Problem[] = [
    ...unknownKeyProblems(given, SPEAK_KEYS),
    ...oneOf(['realtime', 'streaming'])('api', api),
    ...sentenceOptionProblems(given),
    ...check(
      `at most ${pieceLimit} (the longest text ${api === 'streaming' ? 'a MSG' : 'a session'} takes)`,
      (value) => typeof value !== 'number' || value <= pieceLimit,
    )('maxLength', maxLength),
    ...optional(check('an Observable of booleans', isObservable))('paused$', paused$),
    ...positiveMs({ infinity: true })('textTimeout', textTimeout),
    ...(api === 'streaming'
      ? REALTIME_ONLY.filter((key) => given[key] !== undefined).map((key) => ({ path: key, message: "applies to api 'realtime' only" }))
      : [
          ...optional(nonNegativeInteger)('lookahead', given.lookahead),
          ...optional(positiveInteger)('highWaterMark', given.highWaterMark),
          ...(given.retry === undefined ? [] : retryProblems(given.retry, 'retry.')),
          ...optional(boolean)('preconnect', given.preconnect),
        ]),
  ];
  const common: Common = { sentences: { maxLength, firstClauseMinLength }, paused$, textTimeout };

  if (api === 'streaming') {
    const voice = voiceProblems(given);
    if (knobs.length > 0) throw new SisConfigError([...knobs, ...voice], 'speak options');
    if (voice.length > 0) throw new SisRequestError(voice);
    const audioFormat = (given.audioFormat ?? STREAMING_DEFAULTS.audioFormat) as StreamingAudioFormat;
    const sampleRate = given.sampleRate ?? STREAMING_DEFAULTS.sampleRate;
    return {
      ...common,
      api,
      audioFormat,
      sampleRate,
      config: {
        voice_name: given.voice ?? STREAMING_DEFAULTS.voice,
        audio_format: audioFormat,
        sample_rate: streamingWireRate(sampleRate),
        speed: given.speed ?? STREAMING_DEFAULTS.speed,
        pitch: given.pitch ?? STREAMING_DEFAULTS.pitch,
        volume: given.volume ?? STREAMING_DEFAULTS.volume,
      },
    };
  }
  const { request, problems: voice } = realtimeRequest(given, limits);
  if (knobs.length > 0) throw new SisConfigError([...knobs, ...voice], 'speak options');
  if (request === undefined) throw new SisRequestError(voice);
  return {
    ...common,
    api: 'realtime',
    request,
    lookahead: given.lookahead ?? DEFAULT_LOOKAHEAD,
    highWaterMark: given.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
    retry: given.retry,
    preconnect: given.preconnect ?? true,
  };
};
