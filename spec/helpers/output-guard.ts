/**
 * A pipe filter for CI: `npm test 2>&1 | node --import tsx spec/helpers/output-guard.ts`. Passes the
 * test output through unchanged and exits 1 if any of the suite's secrets appeared in it (the secret
 * guard covers errors; this covers everything a test or the library may have printed).
 */
import { SUITE_SECRETS } from './secrets.js';

const longest = Math.max(...SUITE_SECRETS.map((s) => s.length));
let tail = '';
let found = false;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  process.stdout.write(chunk);
  // Keep the end of the previous chunk so a secret split across two chunks is still seen.
  const text = tail + chunk;
  if (SUITE_SECRETS.some((secret) => text.includes(secret))) found = true;
  tail = text.slice(-longest);
});
process.stdin.on('end', () => {
  if (found) {
    process.stderr.write('output guard: a secret used by the suite appeared in the test output\n');
    process.exitCode = 1;
  } else {
    process.stderr.write(`output guard: none of the suite's ${SUITE_SECRETS.length} secrets appeared in the test output\n`);
  }
});
