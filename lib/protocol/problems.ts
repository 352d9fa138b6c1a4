/** Turns io-ts validation errors into the `Problem` list carried by typed errors. */
import type * as t from 'io-ts';
import type { Problem } from '../errors.js';

const describe = (value: unknown): string => {
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (value === undefined) return 'nothing';
  try {
    const json = JSON.stringify(value);
    return json.length > 60 ? `${json.slice(0, 57)}...` : json;
  } catch {
    return typeof value;
  }
};

/** One problem per offending field, with the expected type and what was received. */
export const problemsFrom = (errors: t.Errors): Problem[] => {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const error of errors) {
    // The innermost named type is the most specific expectation; skip intersection/union wrappers' keys.
    const path = error.context
      .map((entry) => entry.key)
      .filter((key) => key !== '' && !/^\d+$/.test(key))
      .join('.');
    const expected = error.message ?? `expected ${error.context[error.context.length - 1]?.type.name ?? 'a value'}`;
    const message = `${expected}, got ${describe(error.value)}`;
    const id = `${path}\u0000${message}`;
    if (!seen.has(id)) {
      seen.add(id);
      problems.push({ path, message });
    }
  }
  return problems;
};

/** Problems for keys that the codec does not know: catches `sample_rate` where `sampleRate` was meant. */
export const unknownKeyProblems = (value: unknown, known: readonly string[], prefix = ''): Problem[] => {
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key) => {
      const hint = known.find((k) => k.toLowerCase() === key.replace(/[_-]/g, '').toLowerCase());
      return { path: `${prefix}${key}`, message: `unknown field${hint === undefined ? '' : ` (did you mean '${hint}'?)`}` };
    });
};
