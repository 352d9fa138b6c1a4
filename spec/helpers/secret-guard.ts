/**
 * A mocha root-hook plugin (registered in .mocharc.json): it subscribes to the library's error channel
 * before any spec is loaded, keeps every SisError the suite creates, and after the last test fails the
 * run if any of them shows a secret from secrets.ts in its message, stack, `String()`, JSON or
 * `util.inspect` (causes included).
 */
import { subscribe } from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import { ERROR_CHANNEL } from '../../lib/errors.js';
import { SUITE_SECRETS } from './secrets.js';

const collected: unknown[] = [];
subscribe(ERROR_CHANNEL, (error) => {
  collected.push(error);
});

/** The errors seen so far (for the guard's own tests). */
export const collectedErrors = (): readonly unknown[] => collected;

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
    // That errors do reach `collected` is proven by spec/auth/secret-guard.spec.ts; a run of a few files may create none.
    const leaks = leaksIn(collected, SUITE_SECRETS);
    if (leaks.length > 0) throw new Error(`secret guard: ${leaks.length} leak(s) in ${collected.length} errors:\n${leaks.join('\n')}`);
  },
};
