/**
 * Composing sessions with ordinary RxJS operators, against the embedded emulator:
 * `take` (stop early: the socket closes at once), `timeout`, unsubscribing mid-stream, and
 * `mergeMap` with a concurrency limit for a batch of sentences.
 *
 *   npx tsx examples/pipeline.ts
 */
import { from, lastValueFrom, map, mergeMap, reduce, take, timeout, toArray } from 'rxjs';
import { createSisClient } from '../lib/index.js';
import { startEmulator } from '../lib/emulator/index.js';

const emulator = await startEmulator({ port: 0, realtimeFactor: 4 }); // 4× real time: streams take a while
try {
  const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });

  // 1. take: the first three chunks only; the socket closes as soon as the third arrives.
  const firstThree = await lastValueFrom(client.synthesize$({ text: '今天天气很好，我们去公园散步吧。' }).pipe(take(3), toArray()));
  console.log(`take(3): ${firstThree.length} chunks, trace ${firstThree[0]?.traceId}`);

  // 2. timeout: give up if no chunk arrives within 2 s (the library's own timeouts also apply).
  const bytes = await lastValueFrom(
    client.synthesize$({ text: 'Hello from the pipeline example.' }).pipe(
      timeout({ each: 2_000 }),
      reduce((total, chunk) => total + chunk.data.byteLength, 0),
    ),
  );
  console.log(`timeout: ${bytes} bytes within the deadline`);

  // 3. unsubscribe mid-stream: the socket is closed with code 1000 right away.
  await new Promise<void>((resolve) => {
    const subscription = client.synthesize$({ text: '这是一段会被中途取消的长文本。'.repeat(5) }).subscribe((chunk) => {
      if (chunk.index === 1) {
        subscription.unsubscribe();
        console.log('unsubscribed after 2 chunks');
        resolve();
      }
    });
  });

  // 4. mergeMap with a concurrency limit: at most 2 sessions at once, results tagged by sentence.
  const sentences = ['第一句。', '第二句。', '第三句。', '第四句。', '第五句。'];
  const sizes = await lastValueFrom(
    from(sentences).pipe(
      mergeMap(
        (text, i) =>
          client.synthesize$({ text }).pipe(
            reduce((total, chunk) => total + chunk.data.byteLength, 0),
            map((size) => `#${i + 1} ${size} B`),
          ),
        2,
      ),
      toArray(),
    ),
  );
  console.log(`mergeMap(…, 2): ${sizes.join(', ')}`);

  await emulator.idle();
  console.log(`open connections left on the emulator: ${emulator.openConnections()}`);
} finally {
  await emulator.close();
}
