/** Turns io-ts validation errors into the `Problem` list carried by typed errors, in the wording of lib/checks.ts. */
import * as t from 'io-ts';
import { choicesName, mustBeMessage } from '../checks.js';
import type { Problem } from '../errors.js';

/**
 * The keys from the decoded value down to the offending one: `['config', 'speed']`. The keys io-ts
 * gives the members of an intersection or a union (`'0'`, `'1'`) are not in the value and are left
 * out; an array's indexes are kept (`['result', '0', 'text']`).
 */
export const errorPath = (error: t.ValidationError): string[] =>
  error.context
    .filter((_entry, i) => {
      const parent = error.context[i - 1]?.type;
      return i > 0 && !(parent instanceof t.IntersectionType || parent instanceof t.UnionType);
    })
    .map((entry) => entry.key);

// io-ts names its primitives as TypeScript does; users read these.
const PRIMITIVE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  Int: 'an integer',
  UnknownRecord: 'an object',
  UnknownArray: 'an array',
};

/** What the innermost codec of an error expects, as a user reads it. */
const expectation = (error: t.ValidationError): string => {
  const type = error.context[error.context.length - 1]?.type;
  if (type === undefined) return 'a value';
  if (type instanceof t.KeyofType) return choicesName(Object.keys(type.keys as object));
  return PRIMITIVE_NAMES[type.name] ?? type.name;
};

/**
 * One problem per offending field: `must be <the codec's name>, got <the value>`, or the codec's own
 * message when it gave one (it then says all there is to say).
 */
export const problemsFrom = (errors: t.Errors): Problem[] => {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const error of errors) {
    const path = errorPath(error).join('.');
    const message = error.message ?? mustBeMessage(expectation(error), error.value);
    const id = `${path}\u0000${message}`;
    if (!seen.has(id)) {
      seen.add(id);
      problems.push({ path, message });
    }
  }
  return problems;
};
