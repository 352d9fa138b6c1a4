/**
 * Every secret the suite's tests use for tokens, SKs and passwords. The secret guard
 * (secret-guard.ts) fails the run if any of them shows up in any error the suite produced; a test
 * that needs a secret takes it from here so that the guard knows to look for it.
 */
export const SECRETS = {
  token: 'tok-3f9a1c77-never-print-me',
  sk: 'sk-7Qe2XbLr9-never-print-me',
  wrongSk: 'sk-wrong-91c4d-never-print-me',
  password: 'pw-Kd8#q2!x-never-print-me',
  wrongPassword: 'pw-wrong-5e1a-never-print-me',
  cliSk: 'sk-cli-0b7d2-never-print-me',
  envToken: 'tok-env-6a2f-never-print-me',
} as const;

/** Secrets of tests written before the guard, by value (they keep their literals). */
const EARLIER = [
  'token-for-marble-tests',
  'secret-token-value',
  'cli-secret-token',
  'a-wrong-secret-token',
  'half-configured-secret',
  'not-the-emulator-token',
  'my-secret',
] as const;

/** What the guard searches for. */
export const SUITE_SECRETS: readonly string[] = [...Object.values(SECRETS), ...EARLIER];
