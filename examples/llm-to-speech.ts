/**
 * Reading out an LLM's answer while it is being written: a simulated token stream (1–4 characters
 * every 15 ms) is cut into sentences and spoken as they complete, into one WAV file. The first audio
 * comes long before the answer is finished.
 *
 *   npx tsx examples/llm-to-speech.ts [out.wav]               # api 'realtime': one session per sentence, pipelined
 *   npx tsx examples/llm-to-speech.ts --streaming [out.wav]   # api 'streaming': the whole answer on one socket
 *                                                             # (or SPEAK_API=streaming)
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatMap, filter, from, lastValueFrom, map, type Observable, tap, timer } from 'rxjs';
import { startEmulator } from '../lib/emulator/index.js';
import { collectAudio, createSisClient, speak, type SpeakOptions, type SpeechEndEvent, type SpeechEvent } from '../lib/index.js';
import { writeAudioFile } from '../lib/node/index.js';

const ANSWER =
  '你好！今天北京晴，最高气温 25.5 度，适合出门散步。' +
  'Streaming synthesis starts speaking before the answer is complete. ' +
  '下午可能有阵风，请注意防风。还有什么可以帮你的吗？';

/** A stand-in for an LLM: the answer in tokens of 1 to 4 characters, one every `everyMs`; deterministic. */
const simulatedLlm$ = (text: string, everyMs = 15): Observable<string> => {
  const characters = [...text]; // code points: a token never splits a character
  const tokens: string[] = [];
  for (let at = 0, i = 0; at < characters.length; i += 1) {
    const size = [2, 1, 4, 3][i % 4] ?? 1;
    tokens.push(characters.slice(at, at + size).join(''));
    at += size;
  }
  return from(tokens).pipe(concatMap((token) => timer(everyMs).pipe(map(() => token))));
};

const args = process.argv.slice(2);
const api = args.includes('--streaming') || process.env.SPEAK_API === 'streaming' ? 'streaming' : 'realtime';
const path = args.find((arg) => !arg.startsWith('--')) ?? join(tmpdir(), `llm-answer-${api}.wav`);
// The voice fields as in a request; 16 kHz 16-bit PCM is what both APIs speak and what the WAV file says.
const options: SpeakOptions = { api, audioFormat: 'pcm', sampleRate: 16000 };

// A 30 ms handshake and 100 ms of think time before each sentence's first audio, as a real service has.
// Audio is paced at ten times real time, to keep the demo short.
const emulator = await startEmulator({ port: 0, host: '127.0.0.1', handshakeDelayMs: 30, firstAudioDelayMs: 100, realtimeFactor: 10 });
try {
  const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });
  console.log(`api ${api}`);

  // 1. speakEvents$: the audio, and what happens to each sentence, timed from the subscription. The
  //    events come in sentence order: a later sentence's `sent` is reported when its turn comes.
  let started = 0;
  const at = (ms: number): string => `${ms.toFixed(0).padStart(5)} ms`;
  let firstSentenceMs: number | undefined;
  let end: SpeechEndEvent | undefined;
  const report = (event: SpeechEvent): void => {
    switch (event.type) {
      case 'sentence': // the first sentence is reported as soon as the LLM has written it
        firstSentenceMs ??= performance.now() - started;
        return;
      case 'sent': // real-time mode: its session opened; streaming mode: its MSG went out
        return console.log(`${at(event.elapsedMs)}  sent    #${event.sentence.index} ${event.sentence.text.trim()}`);
      case 'spoken': // real-time mode only: every byte of this sentence's audio has been emitted
        return console.log(`${at(performance.now() - started)}  spoken  #${event.sentence.index} (${(event.bytes / 32_000).toFixed(2)} s of audio)`);
      case 'end':
        end = event;
        return;
      default:
        return;
    }
  };
  const file = await lastValueFrom(
    client.speakEvents$(simulatedLlm$(ANSWER), options).pipe(
      tap({ subscribe: () => (started = performance.now()), next: report }),
      filter((event) => event.type === 'audio'),
      map((event) => event.chunk),
      writeAudioFile(path, options),
    ),
  );
  console.log(
    `first sentence written after ${firstSentenceMs?.toFixed(0)} ms, first audio after ${end?.timings.firstAudioMs?.toFixed(0)} ms; the whole answer took ${end?.timings.totalMs.toFixed(0)} ms`,
  );
  console.log(`${end?.sentences} sentences in ${end?.chunks} chunks over ${end?.traceIds.length} session(s)`);
  if (api === 'streaming') console.log('(no `spoken` events in streaming mode: the service does not say which text a stretch of audio speaks)');
  console.log(`wrote ${file.path}: ${(file.audioBytes / 32_000).toFixed(2)} s of audio`);

  // 2. speak(client, options): the pipeable form, when only the audio matters.
  const audio = await lastValueFrom(simulatedLlm$(ANSWER).pipe(speak(client, options), collectAudio()));
  console.log(`speak(client): ${audio.byteLength} bytes, ${audio.byteLength === file.audioBytes ? 'the same audio' : 'different audio?'}`);
} finally {
  await emulator.close();
}
