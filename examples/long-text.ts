/**
 * A text longer than one request may be: split at sentence ends, spoken by two sessions at once,
 * the audio in text order, into one WAV file.
 *
 *   npx tsx examples/long-text.ts
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, tap } from 'rxjs';
import { startEmulator } from '../lib/emulator/index.js';
import { SisPartError, createSisClient, splitText, synthesizeLong$ } from '../lib/index.js';
import { writeAudioFile } from '../lib/node/index.js';

const characters = (text: string): number => [...text].length; // code points, as the service counts

const story = ['从前有一座山，山上有一座庙。', '庙里有一个老和尚，正在给小和尚讲故事。', '讲的是什么呢？', '从前有一座山，山上有一座庙……'].join('\n').repeat(8);

const emulator = await startEmulator({ port: 0, realtimeFactor: 8 });
try {
  const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });
  const request = { text: story, sampleRate: 16000 } as const;

  const parts = splitText(story, 120);
  console.log(`${characters(story)} characters → ${parts.length} parts of ${parts.map(characters).join(', ')} characters`);

  // A part running ahead of the one being written holds up to highWaterMark bytes, then its socket is paused.
  const file = await lastValueFrom(
    synthesizeLong$(request, { client, maxPartLength: 120, concurrency: 2, highWaterMark: 256 * 1024, retry: { count: 2 } }).pipe(
      // Each chunk says which part it belongs to: enough for a progress display.
      tap((chunk) => {
        if (chunk.index % 200 === 0) {
          console.log(`  … part ${chunk.part + 1}/${chunk.parts}, ${(chunk.offset / 32_000).toFixed(1)} s so far`);
        }
      }),
      writeAudioFile(join(tmpdir(), 'story.wav'), request),
    ),
  );
  console.log(`wrote ${file.path}: ${(file.audioBytes / 32_000).toFixed(1)} s of audio`);

  // A failed part fails the whole, naming the part and its trace id.
  emulator.injectNext({ kind: 'fatal', at: 'after-start', errorCode: 'SIS.0413' });
  await lastValueFrom(synthesizeLong$({ text: '第一句。第二句。' }, { client, maxPartLength: 4, concurrency: 1 })).catch((error: unknown) => {
    if (error instanceof SisPartError) console.log(`${error.name} (part index ${error.part}, trace ${error.traceId}): ${error.message}`);
  });
} finally {
  await emulator.close();
}
