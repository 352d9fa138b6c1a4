/**
 * io-ts codecs for everything that crosses the socket in real-time synthesis (protocol.md §1).
 * They are the single source of truth: every wire type below is `t.TypeOf` of its codec.
 */
import * as t from 'io-ts';
import { AudioFormat, Pitch, Speed, SpokenText, SubtitleLevel, textWithin, VoiceName, Volume, WireSampleRate } from './rules.js';

// The request's rules are defined once, in rules.ts; the wire uses the same codecs.
export { AUDIO_FORMATS, AudioFormat, SAMPLE_RATES, SUBTITLE_LEVELS, SubtitleLevel, WireSampleRate } from './rules.js';

/** `config` of the START command, as the service expects it (`sample_rate` is a string). */
export const StartConfig = t.intersection(
  [
    t.type({
      audio_format: AudioFormat,
      sample_rate: WireSampleRate,
      property: VoiceName,
      speed: Speed,
      pitch: Pitch,
      volume: Volume,
    }),
    t.partial({ subtitle: SubtitleLevel }),
  ],
  'StartConfig',
);
export type StartConfig = t.TypeOf<typeof StartConfig>;

const startCommand = <T extends t.Type<string>>(text: T) => t.type({ command: t.literal('START'), text, config: StartConfig }, 'StartCommand');

/**
 * The only message the client sends; its text has something to speak, of any length.
 * @hidden The codec; the emulator's entry point exports only the type.
 */
export const StartCommand = startCommand(SpokenText);
/**
 * The real-time START command as the server receives it: the text and `config` in the wire's spelling
 * (`property` is the voice, `sample_rate` a string).
 * @useDeclaredType
 */
export type StartCommand = t.TypeOf<typeof StartCommand>;

/** {@link StartCommand} with a text of at most `maxTextLength` code points: what a server with that limit accepts. */
export const startCommandWithin = (maxTextLength: number): t.Decoder<unknown, StartCommand> => startCommand(textWithin(maxTextLength));

// ---- server → client text frames -------------------------------------------------------------

export const StartResponse = t.type({ resp_type: t.literal('START'), trace_id: t.string }, 'StartResponse');
export type StartResponse = t.TypeOf<typeof StartResponse>;

export const EndReason = t.keyof({ NORMAL: null, ERROR: null }, 'EndReason');
export type EndReason = t.TypeOf<typeof EndReason>;
export const EndResponse = t.type({ resp_type: t.literal('END'), trace_id: t.string, reason: EndReason }, 'EndResponse');
export type EndResponse = t.TypeOf<typeof EndResponse>;

// An error can be raised before the service assigned a trace id, so trace_id is optional here.
const errorFields = { error_code: t.string, error_msg: t.string };
export const ErrorResponse = t.intersection([t.type({ resp_type: t.literal('ERROR'), ...errorFields }), t.partial({ trace_id: t.string })], 'ErrorResponse');
export type ErrorResponse = t.TypeOf<typeof ErrorResponse>;
export const FatalErrorResponse = t.intersection(
  [t.type({ resp_type: t.literal('FATAL_ERROR'), ...errorFields }), t.partial({ trace_id: t.string })],
  'FatalErrorResponse',
);
export type FatalErrorResponse = t.TypeOf<typeof FatalErrorResponse>;

export const Phoneme = t.type({ phoneme: t.string, start_time: t.number, end_time: t.number, phoneme_index: t.number }, 'Phoneme');
export type Phoneme = t.TypeOf<typeof Phoneme>;
export const SubtitleItem = t.intersection(
  [t.type({ start_time: t.number, end_time: t.number, text: t.string }), t.partial({ word_index: t.number, phonemes: t.array(Phoneme) })],
  'SubtitleItem',
);
export type SubtitleItem = t.TypeOf<typeof SubtitleItem>;
export const ResultResponse = t.type({ resp_type: t.literal('RESULT'), trace_id: t.string, result: t.array(SubtitleItem) }, 'ResultResponse');
export type ResultResponse = t.TypeOf<typeof ResultResponse>;

/** Any frame with a string `resp_type`: how an unknown (future) message type is recognised. */
export const AnyResponse = t.type({ resp_type: t.string }, 'AnyResponse');

export type ServerResponse = StartResponse | EndResponse | ErrorResponse | FatalErrorResponse | ResultResponse;

/** The codec of each known `resp_type`: its keys are the known types. */
export const responseCodecs = {
  START: StartResponse,
  END: EndResponse,
  ERROR: ErrorResponse,
  FATAL_ERROR: FatalErrorResponse,
  RESULT: ResultResponse,
} as const satisfies Readonly<Record<string, t.Decoder<unknown, ServerResponse>>>;
export type KnownResponseType = keyof typeof responseCodecs;

/** Body of an API gateway / SIS error answered to the HTTP handshake. */
export const GatewayErrorBody = t.partial({ error_code: t.string, error_msg: t.string, request_id: t.string }, 'GatewayErrorBody');
export type GatewayErrorBody = t.TypeOf<typeof GatewayErrorBody>;
