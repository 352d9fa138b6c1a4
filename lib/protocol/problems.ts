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

/** Problems for keys that the codec does not know: catches `sample_rate` where `sampleRate` was meant. */
export const unknownKeyProblems = (value: unknown, known: readonly string[], prefix = ''): Problem[] => {
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key) => {
      const hint = known.find((k) => normalized(k) === normalized(key)) ?? known.find((k) => distance(normalized(k), normalized(key)) <= 2);
      return { path: `${prefix}${key}`, message: `unknown field${hint === undefined ? '' : ` (did you mean '${hint}'?)`}` };
    });
};
