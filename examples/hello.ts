/**
 * The demo (`npm start`): starts the embedded emulator on 127.0.0.1, synthesises one sentence,
 * writes it to hello.wav (or the path given as the first argument), and prints the trace id, the size and the duration of the audio.
 * Pointing the same code at Huawei Cloud is a matter of options (see examples/huawei-cloud.ts).
 */
import { lastValueFrom, tap } from 'rxjs';
import { startEmulator } from '../lib/emulator/index.js';
import { audioOnly, createSisClient, type EndEvent, type SynthesisRequest } from '../lib/index.js';
import { writeAudioFile } from '../lib/node/index.js';

const emulator = await startEmulator({ port: 0, realtimeFactor: 10 }); // ten times faster than real time
try {
  const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });
  const request: SynthesisRequest = { text: '你好，欢迎使用华为云语音合成。Hello from rx-sis-tts!', sampleRate: 16000 };

  let end: EndEvent | undefined;
  const file = await lastValueFrom(
    client.events$(request).pipe(
      tap((event) => {
        if (event.type === 'end') end = event;
      }),
      audioOnly(),
      writeAudioFile(process.argv[2] ?? 'hello.wav', request),
    ),
  );

  const seconds = file.audioBytes / (2 * 16000); // 16-bit mono PCM at 16 kHz
  console.log(`emulator   ${emulator.url}`);
  console.log(`trace id   ${end?.traceId}`);
  console.log(`audio      ${file.audioBytes} bytes in ${end?.chunks} chunks, ${seconds.toFixed(2)} s of 16 kHz 16-bit PCM`);
  console.log(
    `timings    connect ${end?.timings.connectMs.toFixed(1)} ms, first audio ${end?.timings.firstAudioMs?.toFixed(1)} ms, total ${end?.timings.totalMs.toFixed(1)} ms`,
  );
  console.log(`written    ${file.path} (${file.fileBytes} bytes)`);
} finally {
  await emulator.close();
}
