/**
 * Retrying transient failures (a dropped connection, the concurrency cap) with exponential backoff
 * and jitter; never once audio went out, so no audio is ever repeated.
 *
 *   npx tsx examples/retry.ts
 */
import { lastValueFrom } from 'rxjs';
import { startEmulator } from '../lib/emulator/index.js';
import { collectAudio, createSisClient, retrySynthesis } from '../lib/index.js';

const emulator = await startEmulator({ port: 0 });
try {
  const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });

  // The next two connections fail: dropped before any audio, then "maximum concurrency exceeded".
  emulator.injectNext({ kind: 'drop', at: 'after-start' }, { kind: 'error', at: 'after-start', errorCode: 'SIS.0312' });
  const audio = await lastValueFrom(
    client.synthesize$({ text: '网络不好也能合成。' }).pipe(
      retrySynthesis({
        count: 3,
        initialDelay: 200,
        maxDelay: 2_000,
        jitter: 0.5,
        onRetry: ({ attempt, delayMs, error }) => console.log(`retry ${attempt} in ${delayMs} ms after: ${String(error)}`),
      }),
      collectAudio(),
    ),
  );
  console.log(`got ${audio.byteLength} bytes after ${emulator.sessions.length} connections`);

  // Not retried: an invalid voice is not transient (retryable: false).
  await lastValueFrom(client.synthesize$({ text: 'x', voice: 'chinese_nobody_common' }).pipe(retrySynthesis())).catch((error: unknown) =>
    console.log(`not retried: ${String(error)}`),
  );
} finally {
  await emulator.close();
}
