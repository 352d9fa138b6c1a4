/**
 * Containers and files: a WAV file on disk (written through a temporary file, renamed at the end),
 * a complete WAV in memory, and a streamed WAV for a pipe.
 *
 *   npx tsx examples/wav-file.ts
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, reduce } from 'rxjs';
import { startEmulator } from '../lib/emulator/index.js';
import { collectAudio, collectWav, createSisClient, toWav, type SynthesisRequest } from '../lib/index.js';
import { writeAudioFile } from '../lib/node/index.js';

const emulator = await startEmulator({ port: 0 });
try {
  const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });
  // Chunks carry no format: pass the request to the operators that need it.
  const request: SynthesisRequest = { text: '你好，欢迎使用语音合成。', audioFormat: 'pcm', sampleRate: 16000 };

  // 1. Straight to disk. No partial file is ever left at the path, whatever happens.
  const file = await lastValueFrom(client.synthesize$(request).pipe(writeAudioFile(join(tmpdir(), 'welcome.wav'), request)));
  console.log(`writeAudioFile: ${file.path} (${file.fileBytes} bytes, ${file.audioBytes} of audio)`);
  // The same, without a container: the bytes as the service sent them.
  const raw = await lastValueFrom(client.synthesize$(request).pipe(writeAudioFile(join(tmpdir(), 'welcome.pcm'), { ...request, container: 'raw' })));
  console.log(`writeAudioFile, container 'raw': ${raw.path} (${raw.fileBytes} bytes)`);

  // 2. In memory, with exact sizes: e.g. for an HTTP response body.
  const wav = await lastValueFrom(client.synthesize$({ ...request, audioFormat: 'alaw' }).pipe(collectWav({ ...request, audioFormat: 'alaw' })));
  console.log(`collectWav: a ${wav.byteLength}-byte a-law WAV`);

  // 3. Streaming: the header first (sizes "unknown", 0xFFFFFFFF), then the chunks as they come.
  const streamed = await lastValueFrom(
    client.synthesize$(request).pipe(
      toWav(request),
      reduce((pieces) => pieces + 1, 0),
    ),
  );
  console.log(`toWav: header + ${streamed - 1} chunks, ready for res.write()`);

  // 4. The raw audio as one array: one allocation at the end.
  const pcm = await lastValueFrom(client.synthesize$(request).pipe(collectAudio()));
  console.log(`collectAudio: ${pcm.byteLength} bytes of 16-bit PCM = ${(pcm.byteLength / 32_000).toFixed(2)} s`);
} finally {
  await emulator.close();
}
