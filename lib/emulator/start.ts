/**
 * Checks the START command the way the service answers it: the wire codec decides what is well
 * formed, and each problem maps to the documented error code (protocol.md §1, error codes).
 */
import { isLeft } from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { codePointLength } from '../protocol/request.js';
import { isKnownVoice, VOICE_PATTERN } from '../protocol/voices.js';
import { StartCommand } from '../protocol/wire.js';
import { parseJson } from '../protocol/json.js';

/** An error the service answers with an ERROR frame. */
export interface ServiceError {
  readonly errorCode: string;
  readonly errorMsg: string;
}

export type StartCheck = { readonly ok: true; readonly command: StartCommand } | ({ readonly ok: false } & ServiceError);

export interface StartLimits {
  readonly textLimit: number;
  readonly voices: 'known' | 'any';
}

const fail = (errorCode: string, errorMsg: string): StartCheck => ({ ok: false, errorCode, errorMsg });

/** Fields in the order they are checked; the first bad one is reported. */
const FIELDS = ['command', 'text', 'config', 'audio_format', 'sample_rate', 'property', 'speed', 'pitch', 'volume', 'subtitle'] as const;
type Field = (typeof FIELDS)[number];

/** The code for a field whose value is present but invalid. */
const INVALID_CODE: Record<Field, string> = {
  command: 'SIS.0031',
  text: 'SIS.0032',
  config: 'SIS.0032',
  audio_format: 'SIS.0410',
  sample_rate: 'SIS.0402',
  property: 'SIS.0411',
  speed: 'SIS.0032',
  pitch: 'SIS.0032',
  volume: 'SIS.0032',
  subtitle: 'SIS.0032',
};

const isField = (key: string | undefined): key is Field => (FIELDS as readonly (string | undefined)[]).includes(key);

/** The first codec error, as the service would word it. */
const fromCodecErrors = (errors: t.Errors): StartCheck => {
  const found = errors.map((error) => {
    const keys = error.context.map((entry) => entry.key).filter((key) => key !== '' && !/^\d+$/.test(key));
    const field = keys[keys.length - 1];
    return { field: isField(field) ? field : undefined, value: error.value };
  });
  const rank = (field: Field | undefined): number => (field === undefined ? -1 : FIELDS.indexOf(field));
  const first = found.sort((a, b) => rank(a.field) - rank(b.field))[0];
  if (first === undefined || first.field === undefined) return fail('SIS.0032', 'the START command must be a JSON object');
  if (first.value === undefined) return fail('SIS.0012', `'${first.field}' is required`);
  if (first.field === 'command') return fail('SIS.0031', `command ${JSON.stringify(first.value)} is not supported, expected START`);
  return fail(INVALID_CODE[first.field], `'${first.field}' is invalid`);
};

const inRange = (value: number, min: number, max: number): boolean => value >= min && value <= max;

/** Parses and checks the text of the client's first message. */
export const checkStart = (message: string, limits: StartLimits): StartCheck => {
  const json = parseJson(message);
  if (json === undefined) return fail('SIS.0032', 'invalid JSON');
  const decoded = StartCommand.decode(json);
  if (isLeft(decoded)) return fromCodecErrors(decoded.left);
  const command = decoded.right;
  const { text, config } = command;
  if (text === '') return fail('SIS.0012', "'text' is required");
  const length = codePointLength(text);
  if (length > limits.textLimit) return fail('SIS.0403', `'text' is too long: ${length} characters, the limit is ${limits.textLimit}`);
  const voiceOk = VOICE_PATTERN.test(config.property) && (limits.voices === 'any' || isKnownVoice(config.property));
  if (!voiceOk) return fail('SIS.0411', `'property' is invalid: ${JSON.stringify(config.property)} is not a supported voice`);
  for (const field of ['speed', 'pitch'] as const) {
    if (!inRange(config[field], -500, 500)) return fail('SIS.0032', `'${field}' is invalid: must be from -500 to 500`);
  }
  if (!inRange(config.volume, 0, 100)) return fail('SIS.0032', "'volume' is invalid: must be from 0 to 100");
  return { ok: true, command };
};
