/**
 * Reads a streaming session's commands the way the service answers them (protocol.md §2): the wire
 * codecs (lib/protocol/streaming.ts) decide what is well formed, and each problem maps to the
 * documented error code, as for real-time synthesis (start-check.ts); the emulator and the relay both read with it. What depends on the session's state
 * (START twice, MSG before START, the session's total) is the session's business.
 */
import type * as t from 'io-ts';
import { isLeft } from './either.js';
import { parseJson } from './json.js';
import { codePointLength } from './request.js';
import { MsgCommand, STREAMING_PRESET_VOICES, StreamingStartCommand, type EndCommand } from './streaming.js';
import { VOICE_PATTERN } from './rules.js';
import { firstCodecError, type ServiceError } from './start-check.js';

/** A command as the session receives it, or the ERROR it is answered with. */
export type CommandRead = { readonly ok: true; readonly command: StreamingStartCommand | MsgCommand | EndCommand } | ({ readonly ok: false } & ServiceError);

export interface StreamingLimits {
  /** Longest MSG (and ONLY text), in code points. */
  readonly streamingPieceLimit: number;
  readonly voices: 'known' | 'any';
}

const error = (errorCode: string, errorMsg: string): ServiceError => ({ errorCode, errorMsg });
const fail = (errorCode: string, errorMsg: string): CommandRead => ({ ok: false, ...error(errorCode, errorMsg) });

/** START fields in the order they are checked, and the code for each one's invalid value. */
const START_CODES = {
  command: 'SIS.0031',
  text_pieces: 'SIS.0032',
  text: 'SIS.0032',
  config: 'SIS.0032',
  voice_name: 'SIS.0411',
  audio_format: 'SIS.0410',
  sample_rate: 'SIS.0402',
  speed: 'SIS.0032',
  pitch: 'SIS.0032',
  volume: 'SIS.0032',
} as const;
const MSG_CODES = { command: 'SIS.0031', text: 'SIS.0032' } as const;

const decodeWith = <A extends StreamingStartCommand | MsgCommand>(
  codec: t.Decoder<unknown, A>,
  codes: Readonly<Record<string, string>>,
  json: unknown,
): CommandRead => {
  const decoded = codec.decode(json);
  if (!isLeft(decoded)) return { ok: true, command: decoded.right };
  const first = firstCodecError(decoded.left, Object.keys(codes));
  const code = first?.field === undefined ? undefined : codes[first.field];
  if (first?.field === undefined || code === undefined) return fail('SIS.0032', 'the command must be a JSON object');
  if (first.value === undefined) return fail('SIS.0012', `'${first.field}' is required`);
  return fail(code, `'${first.field}' is invalid`);
};

/** Parses a text frame into a START, MSG or END command. */
export const readCommand = (message: string): CommandRead => {
  const json = parseJson(message);
  if (json === undefined) return fail('SIS.0032', 'invalid JSON');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('SIS.0032', 'a command must be a JSON object');
  const name: unknown = (json as { command?: unknown }).command;
  switch (name) {
    case undefined:
      return fail('SIS.0012', "'command' is required");
    case 'START':
      return decodeWith(StreamingStartCommand, START_CODES, json);
    case 'MSG':
      return decodeWith(MsgCommand, MSG_CODES, json);
    case 'END':
      return { ok: true, command: { command: 'END' } };
    default:
      return fail('SIS.0031', `command ${JSON.stringify(name)} is not supported, expected START, MSG or END`);
  }
};

const tooLong = (what: string, text: string, limits: StreamingLimits): ServiceError | undefined => {
  const length = codePointLength(text);
  return length > limits.streamingPieceLimit
    ? error('SIS.0403', `${what} is too long: ${length} characters, the limit is ${limits.streamingPieceLimit}`)
    : undefined;
};

/** What is wrong with a well-formed START beyond its shape: the text for its mode, the voice. */
export const startProblem = (command: StreamingStartCommand, limits: StreamingLimits): ServiceError | undefined => {
  const text = command.text ?? '';
  if (command.text_pieces === 'ONLY') {
    if (text === '') return error('SIS.0012', "'text' is required with text_pieces ONLY");
    const problem = tooLong("'text'", text, limits);
    if (problem !== undefined) return problem;
  } else if (text !== '') {
    // The service may ignore it; a client that puts its first piece here would lose it, so say so.
    return error('SIS.0032', "'text' is only accepted with text_pieces ONLY: send the text in MSG commands");
  }
  const voice = command.config.voice_name;
  const known = (STREAMING_PRESET_VOICES as readonly string[]).includes(voice);
  if (!VOICE_PATTERN.test(voice) || (limits.voices === 'known' && !known)) {
    return error('SIS.0411', `'voice_name' is invalid: ${JSON.stringify(voice)} is not a ${limits.voices === 'known' ? 'preset voice' : 'voice name'}`);
  }
  return undefined;
};

/** What is wrong with a MSG's text on its own (the session's total is checked by the session). */
export const pieceProblem = (text: string, limits: StreamingLimits): ServiceError | undefined => tooLong("the MSG 'text'", text, limits);
