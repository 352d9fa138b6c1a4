/**
 * The one vocabulary of problems with options and arguments, used by the client, the emulator, IAM,
 * the operators and the request codecs alike. A check returns the problems it finds (none when all
 * is well), each worded one way: `must be <what is expected>, got <what was given>`.
 *
 * A value that may be a secret (a token, an SK, a password) is never shown: its checks say what is
 * expected and stop there.
 */
import { isObservable } from 'rxjs';
import type { Problem } from './errors.js';

/** Checks the value at `path`; `[]` when it is fine. */
export type Check = (path: string, value: unknown) => Problem[];

/** A short, printable account of a value for `got …`. Never give it a secret. */
export const shown = (value: unknown): string => {
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  // JSON would print NaN and Infinity as null.
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : String(value);
  if (typeof value === 'function') return 'a function';
  if (value === undefined) return 'nothing';
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return typeof value;
    return json.length > 60 ? `${json.slice(0, 57)}...` : json;
  } catch {
    return typeof value;
  }
};

/** What kind of value it is, without its content: for the values that may hold a secret. */
export const kindOf = (value: unknown): string => {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
};

/** The one wording: `must be ${expected}, got …`; `secret` leaves out what was given. */
export const mustBeMessage = (expected: string, value: unknown, options: { readonly secret?: boolean | undefined } = {}): string =>
  options.secret === true ? `must be ${expected}` : `must be ${expected}, got ${shown(value)}`;

/** {@link mustBeMessage} as the problem of `path`. */
export const mustBe = (path: string, expected: string, value: unknown, options: { readonly secret?: boolean | undefined } = {}): Problem[] => [
  { path, message: mustBeMessage(expected, value, options) },
];

/** A check from the expectation and a guard: the shape of every check below. */
export const check =
  (expected: string, accepts: (value: unknown) => boolean, options: { readonly secret?: boolean | undefined } = {}): Check =>
  (path, value) =>
    accepts(value) ? [] : mustBe(path, expected, value, options);

/** Anything with a name and a guard (an io-ts codec): its name is the expectation. */
export const matches = (codec: { readonly name: string; is(value: unknown): boolean }): Check => check(codec.name, (value) => codec.is(value));

/** The check, or none when the value is `undefined` (an option left out takes its default). */
export const optional =
  (inner: Check): Check =>
  (path, value) =>
    value === undefined ? [] : inner(path, value);

// ---- numbers ------------------------------------------------------------------------------------

const isInteger = (value: unknown): value is number => Number.isInteger(value);

/** An integer within [min, max]: the guard behind {@link integerFrom} and the request's range codecs. */
export const isIntegerIn =
  (min: number, max: number) =>
  (value: unknown): value is number =>
    isInteger(value) && value >= min && value <= max;

/** How an integer range is named: `an integer from -500 to 500`. */
export const integerRangeName = (min: number, max: number): string => `an integer from ${min} to ${max}`;

/** An integer within [min, max]. */
export const integerFrom = (min: number, max: number): Check => check(integerRangeName(min, max), isIntegerIn(min, max));

/** An integer of at least `min` (no upper bound worth naming). */
export const integerAtLeast = (min: number): Check => check(`an integer ≥ ${min}`, (value) => isInteger(value) && value >= min);

/** 1, 2, 3, … */
export const positiveInteger: Check = check('a positive integer', (value) => isInteger(value) && value >= 1);

/** 0, 1, 2, … */
export const nonNegativeInteger: Check = integerAtLeast(0);

/** A finite number of at least 0, e.g. a rate factor. */
export const nonNegativeNumber: Check = check('a finite number ≥ 0', (value) => typeof value === 'number' && Number.isFinite(value) && value >= 0);

/** A duration above 0 ms; with `infinity`, `Infinity` too (a limit that is disabled). */
export const positiveMs = (options: { readonly infinity: boolean }): Check =>
  check(
    options.infinity ? 'a positive number of ms or Infinity' : 'a positive number of ms',
    (value) => typeof value === 'number' && value > 0 && (Number.isFinite(value) || options.infinity),
  );

/** A finite duration of 0 ms or more. */
export const nonNegativeMs: Check = check('a number of ms ≥ 0', (value) => typeof value === 'number' && Number.isFinite(value) && value >= 0);

// ---- other kinds --------------------------------------------------------------------------------

export const boolean: Check = check('a boolean', (value) => typeof value === 'boolean');

/** A function; `shape` says which, e.g. `'a function returning a Date'`. */
export const fn = (shape = 'a function'): Check => check(shape, (value) => typeof value === 'function');

const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/** A string with something in it (not only spaces); `secret` for a password or a key. */
export const nonEmptyString = (options: { readonly secret?: boolean | undefined } = {}): Check => check('a non-empty string', isNonEmptyString, options);

/**
 * A string option without a default: `is required (what it is)` when left out or blank, and
 * `must be a non-empty string` when it is something else.
 */
export const requiredString =
  (what: string): Check =>
  (path, value) => {
    if (isNonEmptyString(value)) return [];
    return value === undefined || typeof value === 'string'
      ? [{ path, message: `is required (${what})` }]
      : mustBe(path, `a non-empty string (${what})`, value);
  };

// Control characters in a header value would let it inject headers (CR LF) or break the request.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this pattern detects (header injection)
const HEADER_UNSAFE = /[\u0000-\u001f\u007f]/u;

/** A value that can be sent as an HTTP header: a non-empty string without control characters. */
export const isHeaderValue = (value: unknown): value is string => isNonEmptyString(value) && !HEADER_UNSAFE.test(value);

/** See {@link isHeaderValue}; `secret` for a token. */
export const headerValue = (options: { readonly secret?: boolean | undefined } = {}): Check =>
  check('a non-empty string without control characters', isHeaderValue, options);

/** How a list of choices is named: `'known' or 'any'`, `"pcm", "alaw" or "mp3"`. */
export const choicesName = (values: readonly unknown[]): string => {
  const names = values.map((value) => JSON.stringify(value));
  return names.length <= 1 ? (names[0] ?? 'nothing') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
};

/** One of a few values. */
export const oneOf = (values: readonly unknown[]): Check => check(choicesName(values), (value) => values.includes(value));

/** A plain object (not null, not an array): what an options argument must be. */
export const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * An options object, checked as a whole before its fields; `shape` shows what it should look like.
 * Only the kind of a wrong value is named: a string here may be a token passed in the wrong place.
 */
export const objectProblems = (path: string, value: unknown, shape: string): Problem[] =>
  isObject(value) ? [] : [{ path, message: `must be an object like ${shape}, got ${kindOf(value)}` }];

// ---- unknown keys -------------------------------------------------------------------------------

const normalized = (key: string): string => key.replace(/[_-]/g, '').toLowerCase();

/** Edit distance, small strings only: enough to suggest `idle` for `idel`. */
const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
};

/** Problems for keys that are not options: catches `sample_rate` where `sampleRate` was meant, and suggests it. */
export const unknownKeyProblems = (value: unknown, known: readonly string[], prefix = ''): Problem[] => {
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key) => {
      const hint = known.find((k) => normalized(k) === normalized(key)) ?? known.find((k) => distance(normalized(k), normalized(key)) <= 2);
      return { path: `${prefix}${key}`, message: `unknown field${hint === undefined ? '' : ` (did you mean '${hint}'?)`}` };
    });
};

// ---- the library's own kinds ------------------------------------------------------------------

/** Something with a `synthesize$(request)` method, such as `createSisClient(...)`. */
export const clientProblems = (client: unknown): Problem[] =>
  typeof client === 'object' && client !== null && typeof (client as { synthesize$?: unknown }).synthesize$ === 'function'
    ? []
    : [{ path: 'client', message: 'must be a client with synthesize$(request), e.g. createSisClient({ ... })' }];

/** An Observable, or a function of `paused$` returning one. */
export const sourceProblems = (source: unknown): Problem[] =>
  isObservable(source) || typeof source === 'function'
    ? []
    : [{ path: 'source', message: 'must be an Observable of audio, or a function (paused$) => Observable of audio' }];
