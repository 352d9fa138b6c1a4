/**
 * A mocha root-hook plugin (registered in .mocharc.json): it subscribes to the library's error channel
 * before any spec is loaded, checks every SisError the suite creates as it is published (its fields are
 * set by then), and after the last test fails the run if any of them showed a secret from secrets.ts in
 * its message, stack, `String()`, JSON or `util.inspect` (causes included). Only leaks are kept, so a
 * fuzz run of 100,000 sessions costs no memory here.
 */
import { subscribe } from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import { ERROR_CHANNEL } from '../../lib/errors.js';
import { SUITE_SECRETS } from './secrets.js';

const leaks: string[] = [];
let checked = 0;
let last: unknown;
subscribe(ERROR_CHANNEL, (error) => {
  checked += 1;
  last = error;
  // `leaksIn` numbers the errors of its list: renumber by the count of errors checked so far.
  leaks.push(...leaksIn([error], SUITE_SECRETS).map((leak) => leak.replace(/^error #0/, `error #${checked}`)));
});

/** The last error checked (for the guard's own tests). */
export const lastCheckedError = (): unknown => last;

const safely = (render: () => string): string => {
  try {
    return render();
  } catch (error) {
    return `<could not render: ${String(error)}>`;
  }
};

/** Every printed form of an error that could reach a log. */
export const printedForms = (error: unknown): Record<string, string> => ({
  message: safely(() => (error instanceof Error ? error.message : '')),
  stack: safely(() => (error instanceof Error ? (error.stack ?? '') : '')),
  string: safely(() => String(error)),
  json: safely(() => JSON.stringify(error) ?? ''),
  inspect: safely(() => inspect(error, { depth: 5 })),
});

/** One line per (error, form, secret) where a secret shows; the secret itself is never quoted. */
export const leaksIn = (errors: readonly unknown[], secrets: readonly string[]): string[] =>
  errors.flatMap((error, i) =>
    Object.entries(printedForms(error)).flatMap(([form, text]) =>
      secrets.flatMap((secret, s) =>
        text.includes(secret) ? [`error #${i} (${error instanceof Error ? error.name : typeof error}): secret #${s} in its ${form}`] : [],
      ),
    ),
  );

export const mochaHooks = {
  afterAll(): void {
    // That errors do reach the guard is proven by spec/auth/secret-guard.spec.ts; a run of a few files may create none.
    if (leaks.length > 0) throw new Error(`secret guard: ${leaks.length} leak(s) in ${checked} errors:\n${leaks.join('\n')}`);
  },
};
