/**
 * io-ts codecs for everything that crosses the socket in real-time synthesis (protocol.md §1).
 * They are the single source of truth: every wire type below is `t.TypeOf` of its codec.
 */
import * as t from 'io-ts';
import { AUDIO_FORMATS, SUBTITLE_LEVELS } from './rules.js';

export { AUDIO_FORMATS, SAMPLE_RATES, SUBTITLE_LEVELS } from './rules.js';

const keysOf = <K extends string>(values: readonly K[]): { [P in K]: null } =>
  Object.fromEntries(values.map((v) => [v, null])) as { [P in K]: null };

export const AudioFormat = t.keyof(keysOf(AUDIO_FORMATS), 'AudioFormat');
export type AudioFormat = t.TypeOf<typeof AudioFormat>;
export const WireSampleRate = t.keyof({ '8000': null, '16000': null }, 'WireSampleRate');
export type WireSampleRate = t.TypeOf<typeof WireSampleRate>;
export const SubtitleLevel = t.keyof(keysOf(SUBTITLE_LEVELS), 'SubtitleLevel');
export type SubtitleLevel = t.TypeOf<typeof SubtitleLevel>;

/** `config` of the START command, as the service expects it (`sample_rate` is a string). */
export const StartConfig = t.intersection(
  [
    t.type({
      audio_format: AudioFormat,
      sample_rate: WireSampleRate,
      property: t.string,
      speed: t.Int,
      pitch: t.Int,
      volume: t.Int,
    }),
    t.partial({ subtitle: SubtitleLevel }),
  ],
  'StartConfig',
);
export type StartConfig = t.TypeOf<typeof StartConfig>;

/** The only message the client sends. */
export const StartCommand = t.type({ command: t.literal('START'), text: t.string, config: StartConfig }, 'StartCommand');
export type StartCommand = t.TypeOf<typeof StartCommand>;

// ---- server → client text frames -------------------------------------------------------------

export const StartResponse = t.type({ resp_type: t.literal('START'), trace_id: t.string }, 'StartResponse');
export type StartResponse = t.TypeOf<typeof StartResponse>;

export const EndReason = t.keyof({ NORMAL: null, ERROR: null }, 'EndReason');
export type EndReason = t.TypeOf<typeof EndReason>;
export const EndResponse = t.type({ resp_type: t.literal('END'), trace_id: t.string, reason: EndReason }, 'EndResponse');
export type EndResponse = t.TypeOf<typeof EndResponse>;

// An error can be raised before the service assigned a trace id, so trace_id is optional here.
const errorFields = { error_code: t.string, error_msg: t.string };
export const ErrorResponse = t.intersection(
  [t.type({ resp_type: t.literal('ERROR'), ...errorFields }), t.partial({ trace_id: t.string })],
  'ErrorResponse',
);
export type ErrorResponse = t.TypeOf<typeof ErrorResponse>;
export const FatalErrorResponse = t.intersection(
  [t.type({ resp_type: t.literal('FATAL_ERROR'), ...errorFields }), t.partial({ trace_id: t.string })],
  'FatalErrorResponse',
);
export type FatalErrorResponse = t.TypeOf<typeof FatalErrorResponse>;

export const Phoneme = t.type(
  { phoneme: t.string, start_time: t.number, end_time: t.number, phoneme_index: t.number },
  'Phoneme',
);
export type Phoneme = t.TypeOf<typeof Phoneme>;
export const SubtitleItem = t.intersection(
  [
    t.type({ start_time: t.number, end_time: t.number, text: t.string }),
    t.partial({ word_index: t.number, phonemes: t.array(Phoneme) }),
  ],
  'SubtitleItem',
);
export type SubtitleItem = t.TypeOf<typeof SubtitleItem>;
export const ResultResponse = t.type(
  { resp_type: t.literal('RESULT'), trace_id: t.string, result: t.array(SubtitleItem) },
  'ResultResponse',
);
export type ResultResponse = t.TypeOf<typeof ResultResponse>;

/** Any frame with a string `resp_type`: how an unknown (future) message type is recognised. */
export const AnyResponse = t.type({ resp_type: t.string }, 'AnyResponse');

export const KNOWN_RESPONSE_TYPES = ['START', 'END', 'ERROR', 'FATAL_ERROR', 'RESULT'] as const;
export type KnownResponseType = (typeof KNOWN_RESPONSE_TYPES)[number];

export type ServerResponse = StartResponse | EndResponse | ErrorResponse | FatalErrorResponse | ResultResponse;

/** The codec of each known `resp_type`. */
export const responseCodecs: { readonly [K in KnownResponseType]: t.Decoder<unknown, ServerResponse> } = {
  START: StartResponse,
  END: EndResponse,
  ERROR: ErrorResponse,
  FATAL_ERROR: FatalErrorResponse,
  RESULT: ResultResponse,
};

/** Body of an API gateway / SIS error answered to the HTTP handshake. */
export const GatewayErrorBody = t.partial(
  { error_code: t.string, error_msg: t.string, request_id: t.string },
  'GatewayErrorBody',
);
export type GatewayErrorBody = t.TypeOf<typeof GatewayErrorBody>;
