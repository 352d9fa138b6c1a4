/**
 * synthesize$ / events$ over real sockets against the emulator on 127.0.0.1 (port 0). Every test
 * ends by proving that the emulator saw every connection closed.
 */
import { expect } from 'chai';
import { createServer, type Server, type Socket } from 'node:net';
import { BehaviorSubject, lastValueFrom, take, toArray, type Subscription } from 'rxjs';
import {
  SisConnectionError,
  type SisError,
  SisHandshakeError,
  SisProtocolError,
  SisRequestError,
  SisServiceError,
  SisTimeoutError,
  synthesize$,
  type AudioChunk,
  type SisEvent,
} from '../../lib/index.js';
import { synthesizeAudio, type Fault } from '../../lib/emulator/index.js';
import { resolveRequest, toStartCommand, type SynthesisRequest } from '../../lib/protocol/request.js';
import { errorOf } from '../helpers/errors.js';
import { useEmulator } from '../helpers/emulator-fixture.js';

const concat = (chunks: readonly AudioChunk[]): Uint8Array => Buffer.concat(chunks.map((c) => c.data));

describe('synthesize$ against the emulator', () => {
  const sis = useEmulator({ client: { timeouts: { connect: 2_000, firstAudio: 2_000, idle: 2_000, errorGrace: 200 } }, teardown: 'idle' });
  const failWith = async (fault: Fault, request: SynthesisRequest = { text: '你好，世界' }): Promise<SisError> => {
    sis.emulator.injectNext(fault);
    return errorOf(lastValueFrom(sis.client().synthesize$(request)));
  };

  it('streams the whole audio in order, each chunk a view at its offset, and completes', async () => {
    const { emulator, client } = await sis.start({ frameBytes: 1000 });
    const request: SynthesisRequest = { text: '今天天气很好。', sampleRate: 16000, speed: 100, volume: 80 };
    const chunks = await lastValueFrom(client.synthesize$(request).pipe(toArray()));
    const expected = synthesizeAudio(toStartCommand(resolveRequest(request)));
    expect(Buffer.from(concat(chunks)).equals(Buffer.from(expected))).to.equal(true);
    expect(chunks.map((c) => c.index)).to.deep.equal(chunks.map((_, i) => i));
    let offset = 0;
    for (const chunk of chunks) {
      expect(chunk.offset).to.equal(offset);
      offset += chunk.data.byteLength;
    }
    const [record] = emulator.sessions;
    expect(chunks.every((c) => c.traceId === record?.traceId)).to.equal(true);
    expect(record?.ending).to.equal('end-normal');
    expect(record?.command?.config).to.deep.equal({
      audio_format: 'pcm',
      sample_rate: '16000',
      property: 'chinese_xiaoyan_common',
      speed: 100,
      pitch: 0,
      volume: 80,
    });
  });

  it('sends the token and the enterprise project id in the handshake', async () => {
    const { emulator, client } = await sis.start({}, { enterpriseProjectId: 'ep-42' });
    await lastValueFrom(client.synthesize$({ text: 'hi' }));
    const headers = emulator.sessions[0]?.headers;
    expect(headers?.['x-auth-token']).to.equal('<redacted>');
    expect(emulator.sessions[0]?.authenticated).to.equal(true);
    expect(headers?.['enterprise-project-id']).to.equal('ep-42');
  });

  it('reports the lifecycle on events$, with subtitles and timings', async () => {
    const { emulator, client } = await sis.start();
    const events = await lastValueFrom(client.events$({ text: '你好', subtitle: 'word_level' }).pipe(toArray()));
    const types = events.map((e) => e.type);
    expect(types[0]).to.equal('open');
    expect(types[1]).to.equal('start');
    expect(types.at(-1)).to.equal('end');
    expect(types).to.include('subtitle');
    const end = events.at(-1) as Extract<SisEvent, { type: 'end' }>;
    expect(end.traceId).to.equal(emulator.sessions[0]?.traceId);
    expect(end.bytes).to.equal(emulator.sessions[0]?.audioBytes);
    expect(end.timings.connectMs).to.be.at.most(end.timings.firstAudioMs ?? Infinity);
    expect(end.timings.firstAudioMs).to.be.at.most(end.timings.totalMs);
  });

  it('goes on past a frame of an unknown resp_type', async () => {
    const { emulator, client } = await sis.start();
    emulator.injectNext({ kind: 'unknown-type', at: { afterFrames: 1 }, respType: 'PROGRESS' });
    const events = await lastValueFrom(client.events$({ text: '你好' }).pipe(toArray()));
    expect(events.filter((e) => e.type === 'unknown').map((e) => e.type === 'unknown' && e.respType)).to.deep.equal(['PROGRESS']);
    expect(events.at(-1)?.type).to.equal('end');
  });

  describe('errors', () => {
    it('errors with the trace id on END/ERROR', async () => {
      const { emulator } = await sis.start();
      const error = await failWith({ kind: 'end-error', at: { afterFrames: 1 } });
      expect(error).to.be.instanceOf(SisServiceError);
      expect(error).to.include({ reason: 'ERROR', errorCode: undefined, traceId: emulator.sessions[0]?.traceId });
    });

    it('errors with the code of the ERROR frame and the reason of the END that follows it', async () => {
      const { emulator } = await sis.start();
      const error = await failWith({ kind: 'error', at: { afterFrames: 1 }, errorCode: 'SIS.0413', errorMsg: 'engine internal error' });
      expect(error).to.be.instanceOf(SisServiceError);
      expect(error).to.include({ errorCode: 'SIS.0413', errorMsg: 'engine internal error', reason: 'ERROR', fatal: false, retryable: true });
      expect(error.traceId).to.equal(emulator.sessions[0]?.traceId);
    });

    it('errors on an ERROR frame that no END follows, after timeouts.errorGrace', async () => {
      await sis.start({ errorThenEnd: false });
      const error = await failWith({ kind: 'error', at: 'after-start', errorCode: 'SIS.0401' });
      expect(error).to.include({ errorCode: 'SIS.0401', reason: undefined });
    });

    it('errors on FATAL_ERROR, marked fatal', async () => {
      const { emulator } = await sis.start();
      const error = await failWith({ kind: 'fatal', at: { afterFrames: 2 }, errorCode: 'SIS.0413' });
      expect(error).to.be.instanceOf(SisServiceError);
      expect(error).to.include({ errorCode: 'SIS.0413', fatal: true, traceId: emulator.sessions[0]?.traceId });
    });

    it('maps the service validating START (an unknown voice) to a non-retryable SisServiceError', async () => {
      const { client } = await sis.start({ voices: 'known' });
      const error = await errorOf(lastValueFrom(client.synthesize$({ text: 'x', voice: 'chinese_nobody_common' })));
      expect(error).to.include({ errorCode: 'SIS.0411', retryable: false });
    });

    it('maps the concurrency cap (SIS.0312) to a retryable SisServiceError', async () => {
      const { client } = await sis.start({ maxConcurrentSessions: 1, realtimeFactor: 1 });
      // The first session streams at real-time pace: once it has started, a second one is over the cap.
      let running: Subscription | undefined;
      await new Promise<void>((resolve) => {
        running = client.events$({ text: '这是一段很长的文本，要说一会儿。' }).subscribe((event) => event.type === 'start' && resolve());
      });
      const error = await errorOf(lastValueFrom(client.synthesize$({ text: '第二个' })));
      running?.unsubscribe();
      expect(error).to.include({ errorCode: 'SIS.0312', retryable: true });
    });

    it('errors with SisConnectionError, close code and trace id when the server drops the connection', async () => {
      const { emulator } = await sis.start();
      const closed = await failWith({ kind: 'drop', at: { afterFrames: 2 }, closeCode: 1011, closeReason: 'going away' });
      expect(closed).to.be.instanceOf(SisConnectionError);
      expect(closed).to.include({ closeCode: 1011, closeReason: 'going away', traceId: emulator.sessions[0]?.traceId, retryable: true });
      const reset = await failWith({ kind: 'drop', at: { afterFrames: 2 }, how: 'reset' });
      expect(reset).to.be.instanceOf(SisConnectionError);
      expect(reset).to.include({ closeCode: 1006, traceId: emulator.sessions[1]?.traceId });
    });

    it('errors with SisHandshakeError and the gateway body on a wrong token', async () => {
      const { client } = await sis.start({}, { auth: { token: 'not-the-emulator-token' } });
      const error = await errorOf(lastValueFrom(client.synthesize$({ text: 'x' })));
      expect(error).to.be.instanceOf(SisHandshakeError);
      expect(error).to.include({ status: 401, errorCode: 'APIG.0301', retryable: false });
      expect((error as SisHandshakeError).requestId).to.be.a('string');
      expect(`${error.message} ${JSON.stringify(error)}`).not.to.include('not-the-emulator-token');
    });

    it('errors with SisHandshakeError on an injected rejection and on a wrong project (404)', async () => {
      await sis.start({ projectId: 'the-project' });
      const unavailable = await failWith({ kind: 'reject-handshake', status: 503, errorCode: 'APIG.0201', errorMsg: 'Backend unavailable' });
      expect(unavailable).to.include({ status: 503, errorCode: 'APIG.0201', retryable: true });
      const other = sis.client({ projectId: 'another-project' });
      const wrongProject = await errorOf(lastValueFrom(other.synthesize$({ text: 'x' })));
      expect(wrongProject).to.include({ status: 404, errorCode: 'APIG.0101' });
    });

    it('errors with SisProtocolError on a frame that is not JSON, and on frames out of order', async () => {
      await sis.start();
      const malformed = await failWith({ kind: 'malformed', at: { afterFrames: 1 } });
      expect(malformed).to.be.instanceOf(SisProtocolError);
      expect(malformed.message).to.include('not JSON');
      for (const what of ['audio-before-start', 'duplicate-start', 'end-before-start', 'result-before-start'] as const) {
        const error = await failWith({ kind: 'out-of-order', what });
        expect(error, what).to.be.instanceOf(SisProtocolError);
      }
    });

    it('errors with SisProtocolError when a frame is larger than maxPayload', async () => {
      const { client } = await sis.start({ frameBytes: 64 * 1024 }, { maxPayload: 16 * 1024 });
      const error = await errorOf(lastValueFrom(client.synthesize$({ text: '一段足够长的文本，产生大于十六千字节的音频帧。' })));
      expect(error).to.be.instanceOf(SisProtocolError);
      expect(error.message).to.include('maxPayload (16384 bytes)');
    });

    it('errors with SisConnectionError when nothing listens on the port', async () => {
      await sis.start();
      const closedPort = await new Promise<number>((resolve) => {
        const server = createServer();
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
        });
      });
      const error = await errorOf(
        lastValueFrom(synthesize$({ text: 'x' }, { endpoint: `ws://127.0.0.1:${closedPort}`, projectId: 'p', auth: { token: 't' } })),
      );
      expect(error).to.be.instanceOf(SisConnectionError);
      expect(error.message).to.include('ECONNREFUSED');
    });
  });

  describe('timeouts', () => {
    let blackHole: Server | undefined;
    const held: Socket[] = [];
    afterEach(async () => {
      for (const socket of held.splice(0)) socket.destroy();
      await new Promise<void>((resolve) => (blackHole ? blackHole.close(() => resolve()) : resolve()));
      blackHole = undefined;
    });

    it('times out connecting to a server that accepts TCP and never answers the upgrade', async () => {
      await sis.start();
      blackHole = createServer((socket) => held.push(socket));
      const server = blackHole;
      const port = await new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          resolve(typeof address === 'object' && address !== null ? address.port : 0);
        }),
      );
      const error = await errorOf(
        lastValueFrom(synthesize$({ text: 'x' }, { endpoint: `ws://127.0.0.1:${port}`, projectId: 'p', auth: { token: 't' }, timeouts: { connect: 100 } })),
      );
      expect(error).to.be.instanceOf(SisTimeoutError);
      expect(error).to.include({ phase: 'connect', timeoutMs: 100 });
    });

    it('times out waiting for the first audio when the server never answers START', async () => {
      await sis.start({}, { timeouts: { firstAudio: 100 } });
      const error = await failWith({ kind: 'silent' });
      expect(error).to.include({ phase: 'firstAudio', timeoutMs: 100 });
    });

    it('times out when audio stops flowing (idle), with the trace id', async () => {
      const { emulator } = await sis.start({}, { timeouts: { idle: 100 } });
      const error = await failWith({ kind: 'stall', at: { afterFrames: 2 } });
      expect(error).to.include({ phase: 'idle', traceId: emulator.sessions[0]?.traceId });
    });
  });

  describe('teardown', () => {
    it('closes the socket when the subscriber unsubscribes mid-stream', async () => {
      const { emulator, client } = await sis.start({ realtimeFactor: 1 });
      const chunks: AudioChunk[] = [];
      await new Promise<void>((resolve) => {
        const subscription = client.synthesize$({ text: '这是一段会被中途取消的文本。' }).subscribe((chunk) => {
          chunks.push(chunk);
          if (chunks.length === 2) {
            subscription.unsubscribe();
            resolve();
          }
        });
      });
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ ending: 'client-closed', closedBy: 'client', closeCode: 1000 });
    });

    it('closes a paused socket at once (it resumes to read the close reply)', async () => {
      const { emulator, client } = await sis.start({ realtimeFactor: 1 });
      const paused$ = new BehaviorSubject(false);
      await new Promise<void>((resolve) => {
        const subscription = client.synthesize$({ text: '暂停以后再取消。' }, { paused$ }).subscribe(() => {
          paused$.next(true);
          subscription.unsubscribe();
          resolve();
        });
      });
      // Without the resume, ws would wait 30 s for the close reply: past this test's timeout.
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ closedBy: 'client', closeCode: 1000 });
    });

    it('closes the socket once take(1) has its chunk', async () => {
      const { emulator, client } = await sis.start({ realtimeFactor: 1 });
      const [first] = await lastValueFrom(client.synthesize$({ text: '很长的一句话，不必听完。' }).pipe(take(1), toArray()));
      expect(first?.index).to.equal(0);
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ closedBy: 'client', closeCode: 1000 });
    });

    it('closes the socket itself after END, with code 1000', async () => {
      const { emulator, client } = await sis.start();
      await lastValueFrom(client.synthesize$({ text: 'bye' }));
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ ending: 'end-normal', closedBy: 'client', closeCode: 1000 });
    });

    it('opens no connection for an invalid request', async () => {
      const { emulator, client } = await sis.start();
      const error = await errorOf(lastValueFrom(client.synthesize$({ text: '' })));
      expect(error).to.be.instanceOf(SisRequestError);
      expect(emulator.stats.connections).to.equal(0);
    });

    it('runs many sessions at once, each on its own socket', async () => {
      const { emulator, client } = await sis.start();
      const texts = Array.from({ length: 20 }, (_, i) => `第${i}句。`);
      const results = await Promise.all(texts.map((text) => lastValueFrom(client.synthesize$({ text }).pipe(toArray()))));
      expect(results.every((chunks) => chunks.length > 0)).to.equal(true);
      expect(new Set(results.map((chunks) => chunks[0]?.traceId)).size).to.equal(20);
      expect(emulator.stats.sessionsCompleted).to.equal(20);
    });
  });
});
