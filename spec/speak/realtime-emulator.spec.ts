/**
 * `speak$` in real-time mode over real sockets against the emulator on 127.0.0.1 (port 0): an LLM-like
 * token stream in, the audio of each sentence out, in order. Every test ends by proving that the
 * emulator saw every connection closed.
 */
import { expect } from 'chai';
import { Subject, asyncScheduler, finalize, from, lastValueFrom, type Observable, of, scheduled, takeWhile, tap, toArray } from 'rxjs';
import {
  SisSentenceError,
  createSisClient,
  sentences,
  speak,
  type SisClient,
  type SisConnectionOptions,
  type SpeakOptions,
  type SpeechChunk,
  type SpeechEvent,
  type SynthesisRequest,
} from '../../lib/index.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../lib/emulator/index.js';
import { wsWebSocketFactory, type WebSocketFactory } from '../../lib/transport/index.js';
import { errorOf } from '../helpers/errors.js';

const TEXT =
  '今天天气很好，阳光明媚。我们一起去公园散步吧！你觉得怎么样？' +
  '公园里有很多花，红的、黄的、白的都有；还有一条小河…' +
  '河边的柳树在风中轻轻摇摆。傍晚的时候，我们再回家吃饭。';

/** A deterministic stream of 1–4-character fragments (code points, never half a surrogate pair), each in its own macrotask. */
const tokens = (text: string, seed = 7): { readonly fragments: string[]; readonly text$: Observable<string>; readonly state: { unsubscribed: boolean } } => {
  const chars = Array.from(text);
  const fragments: string[] = [];
  let random = seed;
  for (let i = 0; i < chars.length; ) {
    random = (Math.imul(random, 1103515245) + 12345) >>> 0;
    const size = 1 + ((random >>> 16) % 4);
    fragments.push(chars.slice(i, i + size).join(''));
    i += size;
  }
  const state = { unsubscribed: false };
  const text$ = scheduled(fragments, asyncScheduler).pipe(
    finalize(() => {
      state.unsubscribed = true;
    }),
  );
  return { fragments, text$, state };
};

/** The pieces sentences() makes of the text: what the sessions must be asked to speak. */
const piecesOf = (text: string, options: SpeakOptions = {}): Promise<string[]> =>
  lastValueFrom(of(text).pipe(sentences({ maxLength: options.maxLength, firstClauseMinLength: options.firstClauseMinLength }), toArray()));

const joined = (chunks: readonly { readonly data: Uint8Array }[]): Buffer => Buffer.concat(chunks.map((c) => c.data));

describe('speak$ in real-time mode against the emulator', () => {
  let emulator: Emulator;
  let client: SisClient;

  /**
   * These tests read one emulator record per sentence, in sentence order: a socket opened ahead
   * (`preconnect`, tested on its own at the end) would add a record and reorder them, so it is off
   * unless `preconnect` is passed.
   */
  const start = async (options: EmulatorOptions = {}, clientOptions: Partial<SisConnectionOptions> = {}, preconnect = false): Promise<void> => {
    emulator = await startEmulator({ port: 0, frameBytes: 1000, ...options });
    const real = createSisClient({
      endpoint: emulator.url,
      projectId: emulator.projectId,
      auth: { token: emulator.token },
      timeouts: { connect: 2_000, firstAudio: 2_000, idle: 2_000, errorGrace: 200 },
      ...clientOptions,
    });
    const withPreconnect = (options?: SpeakOptions): SpeakOptions => ({ preconnect, ...options });
    client = {
      ...real,
      speak$: (text$, options) => real.speak$(text$, withPreconnect(options)),
      speakEvents$: (text$, options) => real.speakEvents$(text$, withPreconnect(options)),
    };
  };

  /** The audio synthesize$ gives for each piece, one after the other. */
  const synthesized = async (pieces: readonly string[], request: Omit<SynthesisRequest, 'text'> = {}): Promise<Buffer> => {
    const audio: Buffer[] = [];
    for (const text of pieces) audio.push(joined(await lastValueFrom(client.synthesize$({ ...request, text }).pipe(toArray()))));
    return Buffer.concat(audio);
  };

  afterEach(async () => {
    await emulator.idle();
    expect(emulator.openConnections(), 'every socket closed').to.equal(0);
    await emulator.close();
  });

  it('speaks a stream of 1–4-character tokens: the audio of each sentence, as synthesize$ gives it, in order', async () => {
    await start();
    const { fragments, text$ } = tokens(TEXT);
    expect(fragments.join('')).to.equal(TEXT);
    expect(Math.max(...fragments.map((f) => Array.from(f).length))).to.equal(4);
    const pieces = await piecesOf(TEXT);
    expect(pieces.length).to.be.greaterThan(4);

    const chunks = await lastValueFrom(client.speak$(text$).pipe(toArray()));

    await emulator.idle();
    const sessions = emulator.sessions.filter((s) => s.api === 'realtime');
    expect(sessions.map((s) => s.command?.text)).to.deep.equal(pieces);
    expect(sessions.map((s) => [s.ending, s.closedBy, s.closeCode])).to.deep.equal(pieces.map(() => ['end-normal', 'client', 1000]));
    // Each chunk names its sentence and carries that session's trace id.
    expect([...new Set(chunks.map((c) => c.sentence?.index))]).to.deep.equal(pieces.map((_, i) => i));
    for (const chunk of chunks) {
      const index = chunk.sentence?.index ?? -1;
      expect(chunk.sentence?.text).to.equal(pieces[index]);
      expect(chunk.traceId).to.equal(sessions[index]?.traceId);
    }
    expect(chunks.map((c) => c.index)).to.deep.equal(chunks.map((_, i) => i));
    let offset = 0;
    for (const chunk of chunks) {
      expect(chunk.offset).to.equal(offset);
      offset += chunk.data.byteLength;
    }
    expect(joined(chunks).equals(await synthesized(pieces))).to.equal(true);
  });

  it('speak(client, options) is pipeable, and the voice fields reach every session', async () => {
    await start();
    const options: SpeakOptions = { voice: 'chinese_xiaoqi_common', sampleRate: 16000, speed: 50, volume: 80, firstClauseMinLength: 4 };
    const { text$ } = tokens(TEXT, 11);
    const chunks = await lastValueFrom(text$.pipe(speak(client, options), toArray()));
    const pieces = await piecesOf(TEXT, options);
    // The first piece ends at the first comma (the option), the rest sentence by sentence.
    expect(pieces[0]).to.equal('今天天气很好，');
    expect(emulator.sessions.map((s) => s.command?.text)).to.deep.equal(pieces);
    expect(emulator.sessions.map((s) => s.command?.config)).to.deep.equal(
      pieces.map(() => ({ audio_format: 'pcm', sample_rate: '16000', property: 'chinese_xiaoqi_common', speed: 50, pitch: 0, volume: 80 })),
    );
    expect(joined(chunks).equals(await synthesized(pieces, { voice: 'chinese_xiaoqi_common', sampleRate: 16000, speed: 50, volume: 80 }))).to.equal(true);
  });

  it('speakEvents$ ends with the totals and one trace id per sentence', async () => {
    await start();
    const { text$ } = tokens(TEXT, 3);
    const events = await lastValueFrom(client.speakEvents$(text$).pipe(toArray()));
    const end = events.at(-1);
    const audio = events.flatMap((e) => (e.type === 'audio' ? [e.chunk] : []));
    const spoken = events.flatMap((e) => (e.type === 'spoken' ? [e] : []));
    expect(end?.type).to.equal('end');
    if (end?.type !== 'end') return;
    expect(end.sentences).to.equal(emulator.sessions.length);
    expect(end.traceIds).to.deep.equal(emulator.sessions.map((s) => s.traceId));
    expect(end.chunks).to.equal(audio.length);
    expect(end.bytes).to.equal(joined(audio).byteLength);
    expect(spoken.map((e) => e.bytes)).to.deep.equal(emulator.sessions.map((s) => s.audioBytes));
    expect(end.timings.firstAudioMs).to.be.a('number');
    expect(end.timings.totalMs).to.be.at.least(end.timings.firstAudioMs ?? Number.POSITIVE_INFINITY);
  });

  it('barge-in mid-speech closes every socket (the emulator back to 0 connections) and unsubscribes text$', async () => {
    await start({ realtimeFactor: 1 });
    const { text$, state } = tokens(TEXT, 5);
    // Paced in real time, sentence 0 plays for seconds: barge in at its first chunk with the lookahead's sockets open too.
    const heard = await lastValueFrom(
      client.speak$(text$).pipe(
        takeWhile(() => emulator.openConnections() < 3, true),
        toArray(),
      ),
    );
    expect(heard.map((c) => c.sentence?.index)).to.deep.equal(heard.map(() => 0));
    expect(state.unsubscribed, 'text$ unsubscribed').to.equal(true);
    await emulator.idle();
    expect(emulator.openConnections()).to.equal(0);
    // The sentence being heard and the two ahead: each closed by the client, none completed.
    expect(emulator.sessions.map((s) => [s.closedBy, s.ending === 'end-normal'])).to.deep.equal([
      ['client', false],
      ['client', false],
      ['client', false],
    ]);
    expect(emulator.sessions[0]?.closeCode).to.equal(1000);
  });

  it('a fault on the second sentence ends the speech with a SisSentenceError of index 1, after the first was heard in full', async () => {
    const pieces = await piecesOf(TEXT);
    await start({ faultOnStart: (command) => (command.text === pieces[1] ? { kind: 'error', at: 'after-start', errorCode: 'SIS.0401' } : undefined) });
    const chunks: SpeechChunk[] = [];
    const error = await errorOf(lastValueFrom(client.speak$(tokens(TEXT).text$).pipe(tap((chunk) => chunks.push(chunk)))));
    expect(error).to.be.instanceOf(SisSentenceError);
    expect(error).to.deep.include({ code: 'SENTENCE_FAILED', sentence: { index: 1, text: pieces[1] }, causeCode: 'SERVICE_ERROR', retryable: true });
    expect(error.traceId).to.equal(emulator.sessions[1]?.traceId);
    expect(error.message).to.include('SIS.0401');
    expect(joined(chunks).equals(await synthesized(pieces.slice(0, 1)))).to.equal(true);
  });

  it('a retryable fault before the first audio of a sentence is retried when asked (retry)', async () => {
    const pieces = await piecesOf(TEXT);
    let failures = 1;
    await start({
      faultOnStart: (command) => (command.text === pieces[2] && failures-- > 0 ? { kind: 'drop', at: 'after-start', closeCode: 1011 } : undefined),
    });
    const chunks = await lastValueFrom(client.speak$(tokens(TEXT).text$, { retry: { count: 1, initialDelay: 0 } }).pipe(toArray()));
    expect(emulator.sessions.map((s) => s.command?.text)).to.have.members([...pieces, pieces[2]]);
    expect(joined(chunks).equals(await synthesized(pieces))).to.equal(true);
  });

  it('keeps the sentence order with think time and paced audio, although later sentences finish first', async () => {
    // A long first sentence, then short ones: at 50× real time the short ones end while the first still plays.
    const text = `${'这是一个很长很长的句子，'.repeat(8)}结束了。好。对。是。`;
    await start({ realtimeFactor: 50, firstAudioDelayMs: 5, handshakeDelayMs: 2 });
    const pieces = await piecesOf(text);
    expect(pieces.length).to.equal(4);
    // While sentence 0 is still being heard, how many later sentences have already ended on the server.
    let endedAhead = 0;
    const chunks = await lastValueFrom(
      client.speak$(tokens(text).text$, { lookahead: 3 }).pipe(
        tap((chunk) => {
          if (chunk.sentence?.index !== 0) return;
          endedAhead = Math.max(endedAhead, emulator.sessions.filter((s) => s.command?.text !== pieces[0] && s.ending === 'end-normal').length);
        }),
        toArray(),
      ),
    );
    expect(endedAhead, 'later sentences ended before the first was heard').to.be.greaterThan(0);
    const indexes = chunks.map((c) => c.sentence?.index ?? -1);
    expect(indexes).to.deep.equal([...indexes].sort((a, b) => a - b));
    expect(joined(chunks).equals(await synthesized(pieces))).to.equal(true);
  });

  it('an empty token stream completes at once with no connection', async () => {
    await start();
    const events = await lastValueFrom(client.speakEvents$(from([] as string[])).pipe(toArray()));
    expect(events.map((e) => e.type)).to.deep.equal(['end']);
    expect(emulator.stats.connections).to.equal(0);
  });

  it('preconnect (the default): the first sentence is spoken on a socket opened before its text existed, and no socket is left open', async () => {
    // The client's sockets, told apart by when they open: the first open means the socket ahead is ready.
    let firstOpen: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => {
      firstOpen = resolve;
    });
    const webSocketFactory: WebSocketFactory = (request, listener) =>
      wsWebSocketFactory(request, {
        onOpen: () => {
          firstOpen();
          listener.onOpen();
        },
        onMessage: (data) => listener.onMessage(data),
        onClose: (code, reason) => listener.onClose(code, reason),
        onError: (failure) => listener.onError(failure),
        onActivity: () => listener.onActivity(),
      });
    await start({ handshakeDelayMs: 30 }, { webSocketFactory }, true);
    const text$ = new Subject<string>();
    const events: SpeechEvent[] = [];
    const done = lastValueFrom(
      client.speakEvents$(text$).pipe(
        tap((event) => events.push(event)),
        toArray(),
      ),
    );
    // The socket ahead is opened at subscription, with no text yet.
    await opened;
    expect(emulator.sessions.filter((s) => s.command !== undefined)).to.deep.equal([]);
    for (const piece of ['今天天气很好。', '我们去散步吧！']) text$.next(piece);
    text$.complete();
    await done;
    await emulator.idle();
    const spoken = emulator.sessions.filter((s) => s.api === 'realtime' && s.command !== undefined);
    // The first connection (opened before any text) carried the first sentence.
    expect(spoken.find((s) => s.command?.text === '今天天气很好。')?.connection).to.equal(1);
    expect(spoken.map((s) => s.ending).sort()).to.deep.equal(['end-normal', 'end-normal']);
    // A socket opened ahead and never used was closed by the client, never by the service's idle close.
    for (const unused of emulator.sessions.filter((s) => s.command === undefined)) expect([unused.closedBy, unused.closeCode]).to.deep.equal(['client', 1000]);
    expect(events.filter((e) => e.type === 'spoken').map((e) => (e.type === 'spoken' ? e.sentence.index : -1))).to.deep.equal([0, 1]);
  });
});
