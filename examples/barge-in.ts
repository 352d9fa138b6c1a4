/**
 * Barge-in, as a voice agent needs it: the user starts talking while the answer is being spoken; the
 * agent stops at once (unsubscribing closes every socket) and puts into the conversation only what the
 * user actually heard.
 *
 *   npx tsx examples/barge-in.ts
 */
import { BehaviorSubject, concatMap, first, from, lastValueFrom, map, type Observable, takeUntil, tap, timer } from 'rxjs';
import { startEmulator } from '../lib/emulator/index.js';
import { createSisClient, type SentenceRef, type SpeakApi, type SpeechEvent } from '../lib/index.js';

const ANSWER = '好的，我来帮你查一下。明天上海多云，气温十八到二十四度。' + '上午有小雨，出门记得带伞。晚上风力较大，注意保暖。需要我帮你设置提醒吗？';

/** A stand-in for an LLM: the answer in tokens of 1 to 4 characters, one every `everyMs`; deterministic. */
const simulatedLlm$ = (text: string, everyMs = 15): Observable<string> => {
  const characters = [...text];
  const tokens: string[] = [];
  for (let at = 0, i = 0; at < characters.length; i += 1) {
    const size = [2, 1, 4, 3][i % 4] ?? 1;
    tokens.push(characters.slice(at, at + size).join(''));
    at += size;
  }
  return from(tokens).pipe(concatMap((token) => timer(everyMs).pipe(map(() => token))));
};

const BYTES_PER_SECOND = 32_000; // 16 kHz 16-bit mono PCM
const USER_SPEAKS_AT = 6.5; // seconds into the answer's audio
const seconds = (bytes: number): string => `${(bytes / BYTES_PER_SECOND).toFixed(2)} s`;

const emulator = await startEmulator({ port: 0, host: '127.0.0.1', realtimeFactor: 10 }); // ten times real time
try {
  const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });

  const interrupt = async (api: SpeakApi): Promise<void> => {
    console.log(`\napi ${api}`);
    // The player: how many bytes it has played (here a chunk plays the moment it arrives; a real
    // player would report its position as it plays). A voice-activity detector stands in for the
    // user, who starts talking USER_SPEAKS_AT seconds into the answer.
    const played = new BehaviorSubject(0);
    const userSpeaks$ = played.pipe(
      first((bytes) => bytes >= USER_SPEAKS_AT * BYTES_PER_SECOND),
      tap(() => console.log(`the user speaks at ${seconds(played.value)}: stop (open connections: ${emulator.openConnections()})`)),
    );

    const sent: SentenceRef[] = [];
    const heard: SentenceRef[] = []; // real-time mode: `spoken`, every byte of the sentence was played
    let cut: { sentence: SentenceRef; bytes: number } | undefined; // real-time mode: the sentence being played
    const play = (event: SpeechEvent): void => {
      switch (event.type) {
        case 'sent':
          sent.push(event.sentence);
          return;
        case 'spoken':
          heard.push(event.sentence);
          cut = undefined;
          return;
        case 'audio': {
          const { sentence, data, offset } = event.chunk; // streaming mode: sentence is undefined
          if (sentence !== undefined && cut?.sentence.index !== sentence.index) cut = { sentence, bytes: 0 };
          if (cut !== undefined) cut.bytes += data.byteLength;
          return played.next(offset + data.byteLength); // may make the user speak, which unsubscribes
        }
        default:
          return;
      }
    };
    let tokens = 0;
    let written = false;
    const llm$ = simulatedLlm$(ANSWER).pipe(tap({ next: () => (tokens += 1), complete: () => (written = true) }));
    // takeUntil unsubscribes the speech the moment the user speaks: every socket is closed (code 1000),
    // the LLM's stream is unsubscribed, the text not yet spoken is dropped.
    await lastValueFrom(client.speakEvents$(llm$, { api, sampleRate: 16000 }).pipe(takeUntil(userSpeaks$), tap(play)), {
      defaultValue: undefined,
    });

    console.log(`  the LLM ${written ? 'had written the whole answer' : `was still writing: its stream was unsubscribed after ${tokens} tokens`}`);
    if (api === 'realtime') {
      // Each chunk and each `spoken` event names its sentence: what was heard is known exactly.
      for (const sentence of heard) console.log(`  heard   #${sentence.index} ${sentence.text}`);
      if (cut !== undefined) console.log(`  cut     #${cut.sentence.index} ${cut.sentence.text} (after ${seconds(cut.bytes)})`);
      console.log(`  the conversation keeps: "${heard.map((sentence) => sentence.text).join('')}" and that it was interrupted`);
    } else {
      // One socket, one stream of audio: the service does not say which text a stretch of audio speaks.
      console.log(`  sent ${sent.length} pieces: ${sent.map((sentence) => `#${sentence.index} ${sentence.text}`).join(' ')}`);
      console.log(`  received and played ${played.value} bytes (${seconds(played.value)}); which of those pieces were heard in full is not known`);
    }

    // Barge-in leaks nothing: once the close handshakes are done, no connection is left.
    await emulator.idle();
    const sessions = emulator.sessions.filter((session) => session.api === api);
    const closes = [...new Set(sessions.map((session) => `by the ${session.closedBy} with code ${session.closeCode}`))];
    console.log(
      `  sockets: ${sessions.length} opened, ${closes.length === 1 ? 'all closed' : 'closed'} ${closes.join('; ')}; open now: ${emulator.openConnections()}`,
    );
  };

  await interrupt('realtime');
  await interrupt('streaming');
} finally {
  await emulator.close();
}
