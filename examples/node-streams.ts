/**
 * Node interop: a Readable with real backpressure (a slow consumer pauses the socket), and
 * `for await` over the chunks (break closes the session).
 *
 *   npx tsx examples/node-streams.ts
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startEmulator } from '../lib/emulator/index.js';
import { audioIterable, createSisClient } from '../lib/index.js';
import { toReadable } from '../lib/node/index.js';

const emulator = await startEmulator({ port: 0 });
try {
  const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });
  const request = { text: '今天天气很好，我们去公园散步吧。'.repeat(30), sampleRate: 16000 } as const;

  // 1. Pass a function of paused$: while the consumer lags, the socket is not read, and the
  //    service's sends back up in TCP instead of in this process's memory.
  const readable = toReadable((paused$) => client.synthesize$(request, { paused$ }), { highWaterMark: 32 * 1024 });
  let peak = 0;
  let total = 0;
  const slowSpeaker = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, done) {
      total += chunk.byteLength;
      peak = Math.max(peak, readable.readableLength);
      setTimeout(done, 2); // a consumer much slower than the network
    },
  });
  await pipeline(readable, slowSpeaker);
  console.log(`toReadable: ${total} bytes through a slow consumer; at most ${peak} bytes ever waited in memory`);

  // 2. for await: one chunk at a time; break unsubscribes, which closes the socket. Here the limit
  //    counts items (chunks), not bytes: the socket is paused while 8 chunks wait for the loop.
  let chunks = 0;
  for await (const chunk of audioIterable((paused$) => client.synthesize$(request, { paused$ }), { highWaterMark: 8 })) {
    chunks += 1;
    if (chunk.offset > 64 * 1024) break;
  }
  console.log(`audioIterable: stopped after ${chunks} chunks`);
  await emulator.idle();
  console.log(`open connections now: ${emulator.openConnections()}`);
} finally {
  await emulator.close();
}
