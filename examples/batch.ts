/**
 * Many requests at once, results in input order; in 'settle' mode a failure does not lose the others.
 *
 *   npx tsx examples/batch.ts
 */
import { lastValueFrom, toArray } from 'rxjs';
import { startEmulator } from '../lib/emulator/index.js';
import { createSisClient, synthesizeMany$ } from '../lib/index.js';

const emulator = await startEmulator({ port: 0 });
try {
  const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });
  const prompts = [
    { text: '欢迎致电。' },
    { text: '请按一查询余额。', voice: 'chinese_no_such_voice' }, // the service refuses this voice
    { text: '请按零转人工服务。', sampleRate: 16000 },
  ] as const;

  // Each request is retried on its own after a transient failure (a refused voice is not transient).
  const retry = { count: 2, initialDelay: 200 };
  const outcomes = await lastValueFrom(synthesizeMany$(prompts, { client, concurrency: 2, mode: 'settle', retry }).pipe(toArray()));
  for (const outcome of outcomes) {
    if (outcome.ok) console.log(`#${outcome.index} ok: ${outcome.audio.byteLength} bytes (trace ${outcome.traceId})`);
    else console.log(`#${outcome.index} failed: ${outcome.error.code} ${outcome.error.message}`);
  }

  // The default, 'fail-fast': the first failure fails the whole with a SisItemError naming the request.
  await lastValueFrom(synthesizeMany$(prompts, { client })).catch((error: unknown) => console.log(`fail-fast: ${String(error)}`));
} finally {
  await emulator.close();
}
