/**
 * `speak$` / `speakEvents$` with `api: 'streaming'` over real sockets against the emulator on
 * 127.0.0.1 (port 0): an LLM-like token stream spoken on one socket, the pieces the emulator received,
 * its FATAL_ERROR SIS.0416 for a silent text, faults at the streaming phases, its total limit, and
 * barge-in. Every test ends by proving that the emulator saw every connection closed.
 */
import { expect } from 'chai';
import { concat, finalize, from, interval, lastValueFrom, map, NEVER, type Observable, of, Subject, take, tap, toArray, zip } from 'rxjs';
import {
  SisConnectionError,
  SisHandshakeError,
  SisProtocolError,
  SisServiceError,
  SisTimeoutError,
  createSisClient,
  type RefreshableTokenSource,
  type SisClient,
  type SisConnectionOptions,
  type SisError,
  type SpeakOptions,
  type SpeechChunk,
  type SpeechEvent,
} from '../../lib/index.js';
import {
  startEmulator,
  synthesizeStreamingAudio,
  type Emulator,
  type EmulatorOptions,
  type SessionFault,
  type StreamingSessionRecord,
} from '../../lib/emulator/index.js';
import type { StreamingConfig } from '../../lib/protocol/streaming.js';
import { errorOf } from '../helpers/errors.js';

const STREAMING: SpeakOptions = { api: 'streaming' };
const DEFAULT_CONFIG: StreamingConfig = { voice_name: 'chinese_huaxiaoli_common', audio_format: 'pcm', sample_rate: '16kHz', speed: 0, pitch: 0, volume: 50 };

/** An answer as an LLM writes it: sentences in two languages, a decimal, an unpunctuated tail. */
const ANSWER = 'Hello there, this is streaming speech. 今天天气很好，我们去公园散步吧！The answer is 3.14, roughly; 最后一句没有标点';

/** The text cut into tokens of 1, 2, 3, 4, 1 … characters (code points), one every `everyMs`, as an LLM streams them. */
const tokens$ = (text: string, everyMs = 1): Observable<string> => {
  const chars = [...text];
  const tokens: string[] = [];
  for (let i = 0, size = 1; i < chars.length; i += size, size = (size % 4) + 1) tokens.push(chars.slice(i, i + size).join(''));
  return zip(from(tokens), interval(everyMs)).pipe(map(([token]) => token));
};

const bytesOf = (chunks: readonly SpeechChunk[]): Buffer => Buffer.concat(chunks.map((chunk) => chunk.data));
const audioOf = (events: readonly SpeechEvent[]): Buffer => bytesOf(events.flatMap((event) => (event.type === 'audio' ? [event.chunk] : [])));
/** What the emulator streams for the sentences it synthesised, one after the other. */
const audioFor = (record: StreamingSessionRecord): Buffer =>
  Buffer.concat(record.sentences.map((sentence) => Buffer.from(synthesizeStreamingAudio(record.command?.config ?? DEFAULT_CONFIG, sentence))));

describe("speak$ with api 'streaming' against the emulator", () => {
  let emulator: Emulator;
  let client: SisClient;

  const start = async (options: EmulatorOptions = {}, clientOptions: Partial<SisConnectionOptions> = {}): Promise<void> => {
    emulator = await startEmulator({ port: 0, ...options });
    client = createSisClient({
      endpoint: emulator.url,
      projectId: emulator.projectId,
      auth: { token: emulator.token },
      timeouts: { connect: 2_000, firstAudio: 2_000, idle: 2_000 },
      ...clientOptions,
    });
  };
  const record = (index = 0): StreamingSessionRecord => {
    const found = emulator.sessions[index];
    if (found?.api !== 'streaming') throw new Error(`session ${index} is not a streaming session`);
    return found;
  };
  const speakEvents = (text$: Observable<string>, options: SpeakOptions = STREAMING): Promise<SpeechEvent[]> =>
    lastValueFrom(client.speakEvents$(text$, options).pipe(toArray()));

  afterEach(async () => {
    await emulator.idle();
    expect(emulator.openConnections()).to.equal(0);
    await emulator.close();
  });

  describe('an LLM-like token stream', () => {
    it('is spoken on one socket: the emulator received exactly the pieces sent, in order, and they join to the text', async () => {
      await start({ frameBytes: 1000 });
      const events = await speakEvents(tokens$(ANSWER));
      // The speech completes at END/NORMAL; the emulator records the close once it has seen it.
      await emulator.idle();
      const session = record();
      const sent = events.flatMap((event) => (event.type === 'sent' ? [event.sentence.text] : []));
      expect(sent.length).to.be.above(3);
      expect(session.pieces).to.deep.equal(sent.map((text) => ({ text, accepted: true })));
      // No whitespace opens the text and no piece reached the limit: nothing was dropped.
      expect(sent.join('')).to.equal(ANSWER);
      expect(session).to.deep.include({
        api: 'streaming',
        path: `/v1/${emulator.projectId}/vcs/voices/clone`,
        status: 101,
        command: { command: 'START', text_pieces: 'MULTI', config: DEFAULT_CONFIG },
        events: [],
        ending: 'end-normal',
        closedBy: 'client',
        closeCode: 1000,
      });
      expect(emulator.sessions).to.have.length(1);
    });

    it('gives the whole audio, in order, each chunk at its offset with the trace id, and an end event that adds up', async () => {
      await start({ frameBytes: 1000 });
      const events = await speakEvents(tokens$(ANSWER));
      const session = record();
      const audio = audioOf(events);
      expect(audio.length).to.be.above(0);
      expect(audio.equals(audioFor(session))).to.equal(true);
      expect(session.audioBytes).to.equal(audio.length);
      const chunks = events.flatMap((event) => (event.type === 'audio' ? [event.chunk] : []));
      expect(chunks.map((chunk) => chunk.index)).to.deep.equal(chunks.map((_, i) => i));
      expect(chunks.map((chunk) => chunk.offset)).to.deep.equal(chunks.map((_, i) => bytesOf(chunks.slice(0, i)).length));
      expect(chunks.every((chunk) => chunk.traceId === session.traceId && chunk.sentence === undefined)).to.equal(true);
      const end = events.at(-1);
      expect(end).to.deep.include({ type: 'end', api: 'streaming', chunks: chunks.length, bytes: audio.length, traceIds: [session.traceId] });
      expect(end).to.have.property('sentences', session.pieces.length);
      expect(events.flatMap((event) => (event.type === 'start' ? [event.traceId] : []))).to.deep.equal([session.traceId]);
    });

    it('sends the voice fields as the streaming API spells them, and gets that audio back', async () => {
      await start();
      const options: SpeakOptions = {
        api: 'streaming',
        voice: 'chinese_huaxiaobo_common',
        audioFormat: 'mp3',
        sampleRate: 24000,
        speed: 100,
        pitch: -50,
        volume: 80,
      };
      const chunks = await lastValueFrom(client.speak$(tokens$('你好。Hi there.'), options).pipe(toArray()));
      const session = record();
      expect(session.command).to.deep.equal({
        command: 'START',
        text_pieces: 'MULTI',
        config: { voice_name: 'chinese_huaxiaobo_common', audio_format: 'mp3', sample_rate: '24kHz', speed: 100, pitch: -50, volume: 80 },
      });
      expect(bytesOf(chunks).equals(audioFor(session))).to.equal(true);
    });

    it('speaks a text$ that completes at once (every piece queued before the socket opened)', async () => {
      await start();
      const chunks = await lastValueFrom(client.speak$(of('第一句。', '第二句！', '第三句'), STREAMING).pipe(toArray()));
      expect(record().pieces.map((piece) => piece.text)).to.deep.equal(['第一句。', '第二句！', '第三句']);
      expect(bytesOf(chunks).equals(audioFor(record()))).to.equal(true);
    });

    it('completes an empty text$ with an end event and opens no socket', async () => {
      await start();
      const events = await speakEvents(of('', '  '));
      // Nothing but the end; its total is wall-clock time (Date.now() may tick during the subscription).
      expect(events).to.have.length(1);
      const [end] = events;
      expect(end).to.deep.include({ type: 'end', api: 'streaming', sentences: 0, chunks: 0, bytes: 0, traceIds: [] });
      expect(end?.type === 'end' ? end.timings.firstAudioMs : 'not an end').to.equal(undefined);
      expect(end?.type === 'end' ? end.timings.totalMs : -1).to.be.at.least(0);
      expect(emulator.stats.connections).to.equal(0);
    });
  });

  describe('a silent text$', () => {
    it('gets FATAL_ERROR SIS.0416 from the service after its textTimeoutMs: a fatal SisServiceError', async () => {
      await start({ textTimeoutMs: 100 });
      // One sentence, then an LLM that never writes again (and never completes).
      const events: SpeechEvent[] = [];
      const error = await errorOf(lastValueFrom(client.speakEvents$(concat(of('你好。世界'), NEVER), STREAMING).pipe(tap((event) => events.push(event)))));
      expect(error).to.be.instanceOf(SisServiceError);
      expect(error).to.deep.include({ errorCode: 'SIS.0416', fatal: true, traceId: record().traceId, retryable: true });
      expect(audioOf(events).equals(audioFor(record()))).to.equal(true);
      expect(audioOf(events).length).to.be.above(0);
      expect(record()).to.deep.include({ ending: 'fatal', errorCode: 'SIS.0416', pieces: [{ text: '你好。', accepted: true }] });
    });

    it('gets SIS.0416 too when no piece at all comes', async () => {
      await start({ textTimeoutMs: 100 });
      const error = await errorOf(lastValueFrom(client.speak$(NEVER, STREAMING)));
      expect(error).to.be.instanceOf(SisServiceError).and.deep.include({ errorCode: 'SIS.0416', fatal: true });
      expect(record().pieces).to.deep.equal([]);
    });
  });

  describe('faults at the streaming phases', () => {
    const TEXT = '第一句话。第二句话！第三句话？最后一句';
    const cases: [string, SessionFault, (error: SisError, record: StreamingSessionRecord) => void][] = [
      [
        'ERROR after the first piece: SisServiceError with its code and the trace id',
        { kind: 'error', at: { afterPieces: 1 }, errorCode: 'SIS.0401', errorMsg: 'internal error' },
        (error, session) => {
          expect(error)
            .to.be.instanceOf(SisServiceError)
            .and.deep.include({ errorCode: 'SIS.0401', errorMsg: 'internal error', fatal: false, traceId: session.traceId });
        },
      ],
      [
        'FATAL_ERROR after the second piece: a fatal SisServiceError',
        { kind: 'fatal', at: { afterPieces: 2 } },
        (error, session) => {
          expect(error).to.be.instanceOf(SisServiceError).and.deep.include({ errorCode: 'SIS.0413', fatal: true, traceId: session.traceId });
          expect(session.pieces.length).to.be.at.least(2);
        },
      ],
      [
        'END/ERROR after START: SisServiceError with reason ERROR',
        { kind: 'end-error', at: 'after-start' },
        (error, session) => {
          expect(error).to.be.instanceOf(SisServiceError).and.deep.include({ reason: 'ERROR', errorCode: undefined, traceId: session.traceId });
        },
      ],
      [
        'a close (1011) after the first piece: SisConnectionError with the code and the trace id',
        { kind: 'drop', at: { afterPieces: 1 }, closeCode: 1011, closeReason: 'gone' },
        (error, session) => {
          expect(error).to.be.instanceOf(SisConnectionError).and.deep.include({ closeCode: 1011, closeReason: 'gone', traceId: session.traceId });
        },
      ],
      [
        'a TCP reset after the first audio frame: SisConnectionError',
        { kind: 'drop', at: { afterFrames: 1 }, how: 'reset' },
        (error) => {
          expect(error).to.be.instanceOf(SisConnectionError);
        },
      ],
      [
        'a frame that is not JSON after the second piece: SisProtocolError',
        { kind: 'malformed', at: { afterPieces: 2 } },
        (error, session) => {
          expect(error).to.be.instanceOf(SisProtocolError).and.deep.include({ traceId: session.traceId });
          expect(error.message).to.include('not JSON');
        },
      ],
      [
        'END before the START response: SisProtocolError',
        { kind: 'out-of-order', what: 'end-before-start' },
        (error) => {
          expect(error).to.be.instanceOf(SisProtocolError);
          expect(error.message).to.include('END before the START response');
        },
      ],
      [
        'audio before the START response: SisProtocolError',
        { kind: 'out-of-order', what: 'audio-before-start' },
        (error) => {
          expect(error).to.be.instanceOf(SisProtocolError);
          expect(error.message).to.include('audio arrived before the START response');
        },
      ],
      [
        'a stall after START, once END is sent: SisTimeoutError firstAudio',
        { kind: 'stall', at: 'after-start' },
        (error, session) => {
          expect(error).to.be.instanceOf(SisTimeoutError).and.deep.include({ phase: 'firstAudio', traceId: session.traceId });
        },
      ],
      [
        'a stall instead of END, after all audio: SisTimeoutError idle',
        { kind: 'stall', at: 'before-end' },
        (error, session) => {
          expect(error).to.be.instanceOf(SisTimeoutError).and.deep.include({ phase: 'idle', traceId: session.traceId });
        },
      ],
    ];
    for (const [name, fault, check] of cases) {
      it(name, async () => {
        await start({ faultOnStreamingStart: () => fault, frameBytes: 500 }, { timeouts: { connect: 2_000, firstAudio: 200, idle: 200 } });
        const error = await errorOf(lastValueFrom(client.speak$(tokens$(TEXT), STREAMING)));
        check(error, record());
        expect(record().fault).to.deep.equal(fault);
      });
    }

    it('goes on past a frame of an unknown type (reported as unknown), and past a fault after END', async () => {
      await start({ faultOnStreamingStart: () => ({ kind: 'unknown-type', at: { afterPieces: 1 } }) });
      const events = await speakEvents(tokens$(TEXT));
      expect(events.filter((event) => event.type === 'unknown').map((event) => event.type === 'unknown' && event.respType)).to.deep.equal(['NOTICE']);
      expect(events.at(-1)?.type).to.equal('end');
      expect(audioOf(events).equals(audioFor(record()))).to.equal(true);
      emulator.injectNext({ kind: 'drop', at: 'after-end' });
      expect((await speakEvents(tokens$(TEXT))).at(-1)?.type).to.equal('end');
    });

    it('fails with SisHandshakeError when the handshake is refused', async () => {
      await start();
      emulator.injectNext({ kind: 'reject-handshake', status: 503 });
      const error = await errorOf(lastValueFrom(client.speak$(tokens$(TEXT), STREAMING)));
      expect(error).to.be.instanceOf(SisHandshakeError).and.include({ status: 503 });
    });

    it('retries once after a 401 with a refreshable token', async () => {
      let invalidated = 0;
      await start();
      const token: RefreshableTokenSource = Object.assign(() => emulator.token, {
        invalidate: () => {
          invalidated++;
        },
      });
      client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token } });
      emulator.injectNext({ kind: 'reject-handshake', status: 401 });
      const events = await speakEvents(tokens$(TEXT));
      expect(events.at(-1)?.type).to.equal('end');
      expect(emulator.sessions.map((session) => session.status)).to.deep.equal([401, 101]);
      expect(invalidated).to.equal(1);
      expect(
        record(1)
          .pieces.map((piece) => piece.text)
          .join(''),
      ).to.equal(TEXT);
    });

    it('fails with SisHandshakeError 404 when streamingPath names a path the service does not serve', async () => {
      await start({}, { streamingPath: '/v1/{project_id}/tts/stream' });
      const error = await errorOf(lastValueFrom(client.speak$(tokens$(TEXT), STREAMING)));
      expect(error).to.be.instanceOf(SisHandshakeError).and.include({ status: 404 });
      expect(emulator.sessions[0]?.path).to.equal(`/v1/${emulator.projectId}/tts/stream`);
    });
  });

  describe("the service's total limit", () => {
    it('surfaces EVENT EXCEEDED_TOTAL_TEXT_LENGTH as SisServiceError (the client refuses only at 100,000)', async () => {
      await start({ streamingTotalLimit: 50 });
      const sentence = '这是用来测试总长度限制的一句话。';
      const text = sentence.repeat(5);
      const error = await errorOf(lastValueFrom(client.speak$(tokens$(text), STREAMING)));
      const session = record();
      expect(error).to.be.instanceOf(SisServiceError).and.deep.include({ errorCode: 'EXCEEDED_TOTAL_TEXT_LENGTH', fatal: false, traceId: session.traceId });
      expect(session.events).to.deep.equal(['EXCEEDED_TOTAL_TEXT_LENGTH']);
      // 16 characters a sentence: the fourth passes 50, and is the first the service ignored.
      expect(session.pieces.map((piece) => piece.accepted)).to.deep.equal([true, true, true, false]);
    });
  });

  describe('barge-in', () => {
    it('while connecting: the handshake is abandoned and no connection stays open', async () => {
      const arrived = new Subject<void>();
      await start({
        handshakeDelayMs: 200,
        fault: () => {
          arrived.next();
          return undefined;
        },
      });
      const gotThere = lastValueFrom(arrived.pipe(take(1)));
      const subscription = client.speak$(concat(of('你好。'), NEVER), STREAMING).subscribe();
      await gotThere;
      subscription.unsubscribe();
      await emulator.idle();
      expect(emulator.openConnections()).to.equal(0);
      expect(record()).to.include({ status: undefined, ending: 'client-closed' });
    });

    it('mid-speech while text is still coming: the socket closes with 1000 and text$ is unsubscribed', async () => {
      await start({ realtimeFactor: 1, frameBytes: 320 });
      let textReleased = false;
      const text$ = concat(of('你好，这是第一句比较长的话，用来产生足够多的音频。第二句'), NEVER).pipe(finalize(() => (textReleased = true)));
      const chunks = await lastValueFrom(client.speak$(text$, STREAMING).pipe(take(1), toArray()));
      expect(chunks).to.have.length(1);
      expect(textReleased).to.equal(true);
      await emulator.idle();
      expect(emulator.openConnections()).to.equal(0);
      expect(record()).to.include({ closedBy: 'client', closeCode: 1000 });
      expect(record().audioBytes).to.be.below(audioFor(record()).length);
    });

    it('after END, while the audio still streams: the socket closes with 1000', async () => {
      await start({ realtimeFactor: 1, frameBytes: 320 });
      const chunks = await lastValueFrom(client.speak$(of('你好，这是一句比较长的话，用来产生足够多的音频。'), STREAMING).pipe(take(2), toArray()));
      expect(chunks).to.have.length(2);
      await emulator.idle();
      expect(emulator.openConnections()).to.equal(0);
      expect(record()).to.include({ closedBy: 'client', closeCode: 1000, ending: 'client-closed' });
    });
  });
});
