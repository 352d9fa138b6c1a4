/**
 * Speech over plain HTTP: an Express 5 app with `GET /speech?text=…` that streams the synthesis as a
 * WAV response (an `<audio src="/speech?text=…">` plays it as it arrives). The status is chosen before
 * the first byte: 200 with audio, or 400/502/503/504 with a JSON body carrying the code and trace id.
 * A listener that goes away stops the synthesis.
 *
 * Run directly, it starts the embedded emulator and the app on 127.0.0.1, asks itself for one sentence
 * and for one request without text, prints what came back, and exits.
 *
 *   npx tsx examples/express-server.ts
 */
import express from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startEmulator } from '../lib/emulator/index.js';
import { createSisClient } from '../lib/index.js';
import { sendSynthesis } from '../lib/node/index.js';

const emulator = await startEmulator({ port: 0, realtimeFactor: 10 }); // ten times faster than real time
const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });

const app = express();
app.get('/speech', async (req, res) => {
  const text = typeof req.query['text'] === 'string' ? req.query['text'] : '';
  // An empty text is answered 400 by sendSynthesis itself, with the problem named in the body.
  const result = await sendSynthesis(res, client, { text, sampleRate: 16000 });
  // The page gets a status and a code; the server's log gets the whole error.
  console.log(
    `  server: ${result.outcome}, HTTP ${result.status}, ${result.bytes} bytes of audio${result.error === undefined ? '' : ` (${result.error.message})`}`,
  );
});

const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
try {
  for (const text of ['你好，欢迎使用华为云语音合成。', '']) {
    const response = await fetch(`http://127.0.0.1:${port}/speech?text=${encodeURIComponent(text)}`);
    const body = new Uint8Array(await response.arrayBuffer());
    console.log(`GET /speech?text=${text === '' ? '' : '…'}`);
    console.log(`  status ${response.status}, content-type ${response.headers.get('content-type')}, ${body.byteLength} bytes`);
    if (!response.ok) console.log(`  body ${new TextDecoder().decode(body)}`);
  }
} finally {
  server.closeAllConnections();
  server.close();
  await client.close();
  await emulator.close();
}
