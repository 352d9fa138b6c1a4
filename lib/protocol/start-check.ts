/**
 * Checks the START command the way the service answers it (the emulator answers with it, the relay
 * refuses with it before anything goes upstream): the wire codec (lib/protocol/wire.ts,
 * with the rules of lib/protocol/rules.ts that the client checks too) decides what is valid, and
 * each problem maps to the documented error code (protocol.md §1, error codes).
 */
import type * as t from 'io-ts';
import { isLeft } from './either.js';
import { parseJson } from './json.js';
import { errorPath } from './problems.js';
import { codePointLength, isBlank, RANGES, type RangedField } from './rules.js';
import { isKnownVoice } from './voices.js';
import { startCommandWithin, type StartCommand } from './wire.js';

/** An error the service answers with an ERROR frame. */
export interface ServiceError {
  readonly errorCode: string;
  readonly errorMsg: string;
}

/**
 * What the service answers when a connection breaks the protocol's order rather than a command's
 * shape: a second START, a binary frame, a command before START (both APIs; the emulator and the
 * relay answer with these).
 */
export const ORDER_ERRORS = {
  secondStart: { errorCode: 'SIS.0031', errorMsg: 'only one START command is accepted per connection' },
  binary: { errorCode: 'SIS.0032', errorMsg: 'binary data is not accepted: send commands as JSON text frames' },
  notStarted: { errorCode: 'SIS.0031', errorMsg: 'no synthesis is running: send START first' },
} as const satisfies Record<string, ServiceError>;

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

type CodecError<F extends string> = { readonly field: F | undefined; readonly value: unknown };

/** Each codec error's field (the last key of its path, if it is one of `fields`) and value. */
const codecErrors = <F extends string>(errors: t.Errors, fields: readonly F[]): CodecError<F>[] => {
  const isField = (key: string | undefined): key is F => (fields as readonly (string | undefined)[]).includes(key);
  return errors.map((error) => {
    const field = errorPath(error).at(-1);
    return { field: isField(field) ? field : undefined, value: error.value };
  });
};

/** The error on the earliest of `fields`; one on the command as a whole (`field` undefined) comes before them. */
const earliest = <F extends string>(found: readonly CodecError<F>[], fields: readonly F[]): CodecError<F> | undefined => {
  const rank = (field: F | undefined): number => (field === undefined ? -1 : fields.indexOf(field));
  return [...found].sort((a, b) => rank(a.field) - rank(b.field))[0];
};

/**
 * The codec error the service reports: the one on the earliest of `fields` (checked in that order),
 * or one on the command as a whole (`field` undefined, e.g. not an object) before them.
 */
export const firstCodecError = <F extends string>(errors: t.Errors, fields: readonly F[]): CodecError<F> | undefined =>
  earliest(codecErrors(errors, fields), fields);

const isRanged = (field: Field): field is RangedField => Object.hasOwn(RANGES, field);

/** A codec error as the service words it. */
const answer = ({ field, value }: CodecError<Field>, limits: StartLimits): StartCheck => {
  if (field === undefined) return fail('SIS.0032', 'the START command must be a JSON object');
  if (value === undefined) return fail('SIS.0012', `'${field}' is required`);
  if (field === 'command') return fail('SIS.0031', `command ${JSON.stringify(value)} is not supported, expected START`);
  // The text's codec fails a string for one of two reasons: nothing to speak, or too long.
  if (field === 'text' && typeof value === 'string') {
    return isBlank(value)
      ? fail('SIS.0012', "'text' is required")
      : fail('SIS.0403', `'text' is too long: ${codePointLength(value)} characters, the limit is ${limits.textLimit}`);
  }
  if (field === 'property' && typeof value === 'string') return fail('SIS.0411', `'property' is invalid: ${JSON.stringify(value)} is not a supported voice`);
  if (isRanged(field)) return fail('SIS.0032', `'${field}' is invalid: must be an integer from ${RANGES[field].min} to ${RANGES[field].max}`);
  return fail(INVALID_CODE[field], `'${field}' is invalid`);
};

/** The voice when it is well formed but not one the emulator knows (with `voices: 'known'`). */
const unknownVoice = (json: unknown, limits: StartLimits): CodecError<Field>[] => {
  if (limits.voices === 'any' || typeof json !== 'object' || json === null) return [];
  const config: unknown = (json as { config?: unknown }).config;
  const property: unknown = typeof config === 'object' && config !== null ? (config as { property?: unknown }).property : undefined;
  return typeof property === 'string' && !isKnownVoice(property) ? [{ field: 'property', value: property }] : [];
};

/**
 * Parses and checks the text of the client's first message. Of several problems, the one on the
 * earliest field in {@link FIELDS} is answered.
 */
export const checkStart = (message: string, limits: StartLimits): StartCheck => {
  const json = parseJson(message);
  if (json === undefined) return fail('SIS.0032', 'invalid JSON');
  const decoded = startCommandWithin(limits.textLimit).decode(json);
  const first = earliest([...codecErrors(isLeft(decoded) ? decoded.left : [], FIELDS), ...unknownVoice(json, limits)], FIELDS);
  if (first !== undefined) return answer(first, limits);
  // A Left always carries an error, so this is only for the compiler.
  return isLeft(decoded) ? fail('SIS.0032', 'the START command is invalid') : { ok: true, command: decoded.right };
};
