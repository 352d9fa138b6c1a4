import { expect } from 'chai';
import fc from 'fast-check';
import { once } from 'node:events';
import { createServer, get, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { filter, firstValueFrom, from, lastValueFrom, Observable, ReplaySubject, Subject, throwError } from 'rxjs';
import {
  collectAudio,
  SisAuthError,
  SisClosedError,
  SisConfigError,
  SisConnectionError,
  SisHandshakeError,
  SisProtocolError,
  SisRequestError,
  SisServiceError,
  SisTimeoutError,
  wavHeader,
  type AudioFormat,
  type SisClient,
  type SisEvent,
  type SynthesisRequest,
} from '../../lib/index.js';
import { httpStatusOf, sendSynthesis, type SendSynthesisOptions, type SendSynthesisResult, type SynthesisErrorBody } from '../../lib/node/index.js';
import { audioChunk } from '../helpers/chunks.js';
import { useEmulator } from '../helpers/emulator-fixture.js';
import { SECRETS } from '../helpers/secrets.js';

/** What the HTTP client got: `complete` is false when the body was cut short. */
interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly complete: boolean;
}

/** Reads a whole response, or as much of it as came before the connection was cut. */
const read = (response: IncomingMessage): Promise<Answer> =>
  new Promise((resolve) => {
    const parts: Buffer[] = [];
    response.on('data', (part: Buffer) => parts.push(part));
    response.on('error', () => undefined); // "aborted": `complete` tells
    response.on('close', () =>
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(parts), complete: response.complete }),
    );
  });

const fetchAnswer = (url: string): Promise<Answer> =>
  new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => resolve(read(response))).on('error', reject);
  });

const jsonOf = (answer: Answer): SynthesisErrorBody => JSON.parse(answer.body.toString('utf8')) as SynthesisErrorBody;

/** Neither the body nor any header shows the token. */
const expectNoSecret = (answer: Answer): void => {
  expect(answer.body.toString('latin1')).not.to.include(SECRETS.token);
  expect(JSON.stringify(answer.headers)).not.to.include(SECRETS.token);
};

const concat = (parts: readonly Uint8Array[]): Buffer => Buffer.concat(parts.map((part) => Buffer.from(part.buffer, part.byteOffset, part.byteLength)));

describe('sendSynthesis', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    }
  });

  /** An HTTP server on 127.0.0.1, port 0, answering every request with `handle`; what it resolved with is kept in order. */
  const serve = async (
    handle: (response: ServerResponse) => Promise<SendSynthesisResult>,
  ): Promise<{ url: string; result: (i?: number) => Promise<SendSynthesisResult> }> => {
    const results: Promise<SendSynthesisResult>[] = [];
    const server = createServer((_request, response) => {
      results.push(handle(response));
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/speech`,
      result: (i = 0) => results[i] ?? Promise.reject(new Error(`no request #${i} reached the server`)),
    };
  };

  /** A server answering with `sendSynthesis(response, client, request, options)`. */
  const serveSynthesis = (client: Pick<SisClient, 'events$'>, request: SynthesisRequest, options?: SendSynthesisOptions) =>
    serve((response) => sendSynthesis(response, client, request, options));

  describe('against the emulator', () => {
    const sis = useEmulator({ options: { tokens: [SECRETS.token], frameBytes: 640 }, teardown: 'idle' });
    const REQUEST: SynthesisRequest = { text: '你好，欢迎使用语音合成。', sampleRate: 16000 };
    const direct = async (client: SisClient, request: SynthesisRequest): Promise<Buffer> =>
      Buffer.from(await lastValueFrom(client.synthesize$(request).pipe(collectAudio())));

    it('answers 200 with audio/wav: the streaming WAV header, then the same audio as a direct synthesis', async () => {
      const { client, emulator } = await sis.start();
      const { url, result } = await serveSynthesis(client, REQUEST);
      const answer = await fetchAnswer(url);
      expect(answer).to.include({ status: 200, complete: true });
      expect(answer.headers).to.include({ 'content-type': 'audio/wav', 'cache-control': 'no-store', 'x-trace-id': emulator.sessions[0]?.traceId });
      const header = answer.body.subarray(0, 44);
      expect(header.toString('latin1', 0, 4)).to.equal('RIFF');
      expect(header.readUInt16LE(20), 'format tag: PCM').to.equal(1);
      expect(header.readUInt32LE(24), 'sample rate').to.equal(16000);
      expect(header.readUInt32LE(40), 'data size: until the end').to.equal(0xffffffff);
      const audio = await direct(client, REQUEST);
      expect(answer.body.subarray(44).equals(audio)).to.equal(true);
      expect(await result()).to.deep.equal({ status: 200, bytes: audio.byteLength, outcome: 'complete', traceId: emulator.sessions[0]?.traceId });
    });

    it('answers mp3 as audio/mpeg, as it is', async () => {
      const { client } = await sis.start();
      const request: SynthesisRequest = { ...REQUEST, audioFormat: 'mp3' };
      const { url } = await serveSynthesis(client, request, { container: 'wav' });
      const answer = await fetchAnswer(url);
      expect(answer.headers['content-type']).to.equal('audio/mpeg');
      expect(answer.body.equals(await direct(client, request))).to.equal(true);
    });

    it('answers raw PCM as application/octet-stream described by X-Audio-Format (little-endian, so not audio/L16)', async () => {
      const { client } = await sis.start();
      const { url } = await serveSynthesis(client, REQUEST, { container: 'raw' });
      const answer = await fetchAnswer(url);
      expect(answer.headers).to.include({ 'content-type': 'application/octet-stream', 'x-audio-format': 'pcm_s16le;rate=16000;channels=1' });
      expect(answer.body.equals(await direct(client, REQUEST))).to.equal(true);
    });

    it('puts G.711 in a WAV container by default (format 6 for a-law), or sends it raw as mulaw', async () => {
      const { client } = await sis.start();
      const alaw = await fetchAnswer((await serveSynthesis(client, { ...REQUEST, audioFormat: 'alaw', sampleRate: 8000 })).url);
      expect(alaw.headers['content-type']).to.equal('audio/wav');
      expect(alaw.body.readUInt16LE(20)).to.equal(6);
      const ulaw = await fetchAnswer((await serveSynthesis(client, { ...REQUEST, audioFormat: 'ulaw' }, { container: 'raw' })).url);
      expect(ulaw.headers).to.include({ 'content-type': 'application/octet-stream', 'x-audio-format': 'mulaw;rate=16000;channels=1' });
    });

    it('adds the headers given, on success and on error alike', async () => {
      const { client } = await sis.start();
      const headers = { 'Access-Control-Allow-Origin': 'https://app.example', 'Cache-Control': 'private, max-age=60' };
      const ok = await fetchAnswer((await serveSynthesis(client, REQUEST, { headers })).url);
      expect(ok.headers).to.include({ 'access-control-allow-origin': 'https://app.example', 'cache-control': 'private, max-age=60' });
      const bad = await fetchAnswer((await serveSynthesis(client, { text: '' }, { headers })).url);
      expect(bad.headers).to.include({ 'access-control-allow-origin': 'https://app.example' });
    });

    it('answers 400 with the problems for an invalid request, and never contacts the service', async () => {
      const { client, emulator } = await sis.start();
      const { url, result } = await serveSynthesis(client, { text: '', speed: 9000 });
      const answer = await fetchAnswer(url);
      expect(answer.status).to.equal(400);
      expect(answer.headers['content-type']).to.equal('application/json; charset=utf-8');
      const { error } = jsonOf(answer);
      expect(error).to.include({ code: 'REQUEST_INVALID', retryable: false });
      expect(error.message).to.include('text').and.to.include('speed');
      expect(emulator.sessions).to.have.length(0);
      const { outcome, status, error: cause } = await result();
      expect({ outcome, status }).to.deep.equal({ outcome: 'failed', status: 400 });
      expect(cause).to.be.instanceOf(SisRequestError);
    });

    it('answers 502 for a service ERROR, with its trace id in the body and the header, and no detail of the server', async () => {
      const { client, emulator } = await sis.start();
      emulator.injectNext({ kind: 'error', at: 'after-start', errorCode: 'SIS.0401', errorMsg: 'synthesis error' });
      const { url, result } = await serveSynthesis(client, REQUEST);
      const answer = await fetchAnswer(url);
      const traceId = emulator.sessions[0]?.traceId;
      expect(traceId).to.be.a('string');
      expect(answer.status).to.equal(502);
      expect(answer.headers['x-trace-id']).to.equal(traceId);
      expect(jsonOf(answer)).to.deep.equal({ error: { code: 'SERVICE_ERROR', message: 'the speech service failed', retryable: true, traceId } });
      expectNoSecret(answer);
      expect((await result()).error).to.be.instanceOf(SisServiceError);
    });

    it('answers 503 when the service is at its concurrency cap (SIS.0312), 400 when it blames the request (SIS.0411)', async () => {
      const { client, emulator } = await sis.start();
      emulator.injectNext(
        { kind: 'error', at: 'after-start', errorCode: 'SIS.0312' },
        { kind: 'error', at: 'after-start', errorCode: 'SIS.0411', errorMsg: 'property invalid' },
      );
      const { url } = await serveSynthesis(client, REQUEST);
      expect((await fetchAnswer(url)).status).to.equal(503);
      const blamed = await fetchAnswer(url);
      expect(blamed.status).to.equal(400);
      expect(jsonOf(blamed).error.message).to.include('SIS.0411').and.include('property invalid');
    });

    for (const [handshake, status] of [
      [503, 503],
      [429, 503],
      [500, 502],
      [401, 502],
    ] as const) {
      it(`answers ${status} when the handshake is rejected with ${handshake}`, async () => {
        const { client, emulator } = await sis.start();
        emulator.injectNext({ kind: 'reject-handshake', status: handshake, errorCode: 'APIG.0301', errorMsg: 'gateway says no' });
        const { url, result } = await serveSynthesis(client, REQUEST);
        const answer = await fetchAnswer(url);
        expect(answer.status).to.equal(status);
        expect(jsonOf(answer).error.code).to.equal('HANDSHAKE_REJECTED');
        expect(answer.body.toString()).not.to.include('APIG.0301').and.not.to.include('gateway says no');
        expectNoSecret(answer);
        expect((await result()).error).to.be.instanceOf(SisHandshakeError);
      });
    }

    it('answers 504 when the first audio does not come in time (timeouts.firstAudio)', async () => {
      const { emulator } = await sis.start();
      const client = sis.client({ timeouts: { firstAudio: 150 } });
      emulator.injectNext({ kind: 'stall', at: 'after-start' });
      const { url, result } = await serveSynthesis(client, REQUEST);
      const answer = await fetchAnswer(url);
      expect(answer.status).to.equal(504);
      expect(jsonOf(answer).error).to.include({ code: 'TIMEOUT', traceId: emulator.sessions[0]?.traceId });
      expect((await result()).error).to.be.instanceOf(SisTimeoutError);
    });

    it('cuts the response short when the synthesis fails after the first byte', async () => {
      const { client, emulator } = await sis.start();
      emulator.injectNext({ kind: 'error', at: { afterFrames: 3 } });
      const { url, result } = await serveSynthesis(client, REQUEST);
      const answer = await fetchAnswer(url);
      expect(answer.status).to.equal(200);
      expect(answer.complete, 'the client sees an aborted body').to.equal(false);
      expect(answer.body.byteLength).to.be.at.most(44 + 3 * 640);
      const { outcome, error, bytes } = await result();
      expect(outcome).to.equal('failed');
      expect(error).to.be.instanceOf(SisServiceError);
      expect(bytes).to.equal(3 * 640);
    });

    it('stops the synthesis when the client disconnects mid-stream: the session socket is closed', async () => {
      const { client, emulator } = await sis.start({ realtimeFactor: 1 });
      const { url, result } = await serveSynthesis(client, { text: '今天天气很好，我们去公园散步吧。'.repeat(10) });
      await new Promise<void>((resolve, reject) => {
        const request = get(url, { agent: false }, (response) => {
          response.once('data', () => {
            request.destroy();
            resolve();
          });
        });
        request.on('error', () => undefined); // the destroy
        request.on('close', () => reject(new Error('closed before any audio')));
      });
      const { outcome, status, bytes } = await result();
      expect({ outcome, status }).to.deep.equal({ outcome: 'disconnected', status: 200 });
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ closedBy: 'client', ending: 'client-closed' });
      expect(bytes).to.be.above(0);
    });

    it('answers 503 ABORTED when the signal aborts before the first byte, and closes the session', async () => {
      const { client, emulator } = await sis.start();
      emulator.injectNext({ kind: 'stall', at: 'after-start' });
      const controller = new AbortController();
      const { url, result } = await serve(async (response) => {
        const sent = sendSynthesis(response, client, REQUEST, { signal: controller.signal });
        return sent;
      });
      const answering = fetchAnswer(url);
      // Abort once the service has answered START: the session is then waiting for audio.
      while (emulator.sessions[0]?.traceId === undefined) await nextTurn();
      controller.abort();
      const answer = await answering;
      expect(answer.status).to.equal(503);
      expect(jsonOf(answer).error).to.include({ code: 'ABORTED', retryable: true });
      expect((await result()).outcome).to.equal('aborted');
      await emulator.idle();
      expect(emulator.sessions[0]?.closedBy).to.equal('client');
    });

    it('cuts the response short when the signal aborts after the first byte', async () => {
      const { client, emulator } = await sis.start({ realtimeFactor: 1 });
      const controller = new AbortController();
      const { url, result } = await serveSynthesis(client, { text: '今天天气很好，我们去公园散步吧。'.repeat(10) }, { signal: controller.signal });
      const answer = await new Promise<Answer>((resolve, reject) => {
        get(url, { agent: false }, (response) => {
          response.once('data', () => controller.abort());
          resolve(read(response));
        }).on('error', reject);
      });
      expect(answer).to.include({ status: 200, complete: false });
      expect((await result()).outcome).to.equal('aborted');
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ closedBy: 'client', ending: 'client-closed' });
    });

    it('answers 503 ABORTED at once, without contacting the service, when the signal is already aborted', async () => {
      const { client, emulator } = await sis.start();
      const { url, result } = await serveSynthesis(client, REQUEST, { signal: AbortSignal.abort() });
      expect((await fetchAnswer(url)).status).to.equal(503);
      expect(await result()).to.deep.equal({ status: 503, bytes: 0, outcome: 'aborted' });
      expect(emulator.sessions).to.have.length(0);
    });
  });

  describe('with a scripted client', () => {
    /** A client whose one session is `events`; `flags` records the session's paused$. */
    const scripted = (events: Observable<SisEvent>) => {
      const flags = new ReplaySubject<boolean>();
      const client: Pick<SisClient, 'events$'> = {
        events$: (_request, call) =>
          new Observable<SisEvent>((subscriber) => {
            const following = call?.paused$?.subscribe((paused) => flags.next(paused));
            const subscription = events.subscribe(subscriber);
            return () => {
              following?.unsubscribe();
              subscription.unsubscribe();
            };
          }),
      };
      return { client, flags };
    };
    const start = (traceId = 't-1'): SisEvent => ({ type: 'start', traceId, elapsedMs: 1 });
    const audio = (bytes: Uint8Array | number, index = 0): SisEvent => ({ type: 'audio', chunk: audioChunk(bytes, { index, traceId: 't-1' }) });
    const end = (bytes: number): SisEvent => ({
      type: 'end',
      traceId: 't-1',
      reason: 'NORMAL',
      chunks: 0,
      bytes,
      timings: { connectMs: 0, firstAudioMs: undefined, totalMs: 1 },
    });

    it('answers an END without audio with 200 and the WAV header alone', async () => {
      const { client } = scripted(from([start(), end(0)]));
      const { url, result } = await serveSynthesis(client, { text: 'x' });
      const answer = await fetchAnswer(url);
      expect(answer).to.include({ status: 200, complete: true });
      expect(answer.body.equals(Buffer.from(wavHeader({ sampleRate: 8000 })))).to.equal(true);
      expect(await result()).to.deep.equal({ status: 200, bytes: 0, outcome: 'complete', traceId: 't-1' });
    });

    it('answers 500 INTERNAL_ERROR for an error not of this library, without its message', async () => {
      const { client } = scripted(throwError(() => new Error('database password hunter2')));
      const answer = await fetchAnswer((await serveSynthesis(client, { text: 'x' })).url);
      expect(answer.status).to.equal(500);
      expect(jsonOf(answer).error).to.deep.equal({ code: 'INTERNAL_ERROR', message: 'the server could not run the synthesis', retryable: false });
    });

    it('pauses the session while the response cannot take more, and resumes it on drain', async () => {
      const events = new Subject<SisEvent>();
      const { client, flags } = scripted(events);
      const { url, result } = await serveSynthesis(client, { text: 'x' }, { container: 'raw' });
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        get(url, { agent: false }, resolve).on('error', reject);
        // The head is written on the first audio.
        void firstValueFrom(flags).then(() => {
          events.next(start());
          events.next(audio(1));
        });
      });
      response.pause(); // a listener that does not read
      const seen: boolean[] = [];
      flags.subscribe((flag) => seen.push(flag));
      let sent = 1;
      // Small chunks, each well under the response's high-water mark: only a client that stops reading fills it.
      const CHUNK = 8 * 1024;
      for (let i = 0; i < 4096 && !seen.includes(true); i++) {
        events.next(audio(CHUNK, i + 1));
        sent += CHUNK;
        await nextTurn();
      }
      expect(seen, 'paused once the response buffer is full').to.include(true);
      for (let i = 0; i < 20; i++) await nextTurn();
      expect(seen.at(-1), 'still paused while the client does not read').to.equal(true);
      const resumed = firstValueFrom(flags.pipe(filter((flag, i) => !flag && i > seen.indexOf(true))));
      const reading = read(response);
      response.resume();
      await resumed;
      events.next(end(sent));
      events.complete();
      const answer = await reading;
      expect(answer.complete).to.equal(true);
      expect(answer.body.byteLength).to.equal(sent);
      expect((await result()).bytes).to.equal(sent);
    });

    it('property: the body is the WAV header (if any) and then every chunk, in order, for any chunks and format', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { maxLength: 12 }),
          fc.constantFrom<AudioFormat>('pcm', 'alaw', 'ulaw', 'mp3'),
          fc.constantFrom<'wav' | 'raw'>('wav', 'raw'),
          async (chunks, audioFormat, container) => {
            const events = [start(), ...chunks.map((bytes, i) => audio(bytes, i)), end(0)];
            const { client } = scripted(from(events));
            const request: SynthesisRequest = { text: 'x', audioFormat, sampleRate: 16000 };
            const answer = await fetchAnswer((await serveSynthesis(client, request, { container })).url);
            const header = container === 'wav' && audioFormat !== 'mp3' ? [wavHeader(request)] : [];
            expect(answer.body.equals(concat([...header, ...chunks]))).to.equal(true);
          },
        ),
        { numRuns: 25 },
      );
    });
  });

  describe('arguments', () => {
    const client: Pick<SisClient, 'events$'> = { events$: () => new Observable<SisEvent>() };

    it('rejects with a SisConfigError naming every bad argument, and leaves the response untouched', async () => {
      const { url, result } = await serve(async (response) => {
        const options = {
          container: 'flac',
          bogus: 1,
          headers: { 'Content-Type': 'text/plain', 'X-Bad': 'a\r\nSet-Cookie: x', 'bad name': 'x' },
          signal: 'stop',
        } as unknown as SendSynthesisOptions;
        const rejection = await sendSynthesis(response, { synthesize$: () => undefined } as unknown as SisClient, { text: 'x' }, options).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(response.headersSent).to.equal(false);
        response.writeHead(418).end();
        if (!(rejection instanceof SisConfigError)) throw new Error('expected a SisConfigError');
        expect(rejection.problems.map((problem) => problem.path)).to.have.members([
          'client',
          'options.bogus',
          'options.container',
          'options.headers.Content-Type',
          'options.headers.X-Bad',
          'options.headers.bad name',
          'options.signal',
        ]);
        return { status: 418, bytes: 0, outcome: 'failed' };
      });
      expect((await fetchAnswer(url)).status).to.equal(418);
      await result();
    });

    it('rejects a response that is not an http.ServerResponse, or was already answered', async () => {
      const notResponse = await sendSynthesis({} as ServerResponse, client, { text: 'x' }).catch((error: unknown) => error);
      expect(notResponse).to.be.instanceOf(SisConfigError);
      const { url, result } = await serve(async (response) => {
        response.writeHead(204).end();
        const error = await sendSynthesis(response, client, { text: 'x' }).catch((rejection: unknown) => rejection);
        if (!(error instanceof SisConfigError)) throw new Error('expected a SisConfigError');
        expect(error.problems[0]?.message).to.include('already answered');
        return { status: 204, bytes: 0, outcome: 'failed' };
      });
      expect((await fetchAnswer(url)).status).to.equal(204);
      await result();
    });
  });

  describe('httpStatusOf', () => {
    const cases: [string, unknown, number][] = [
      ['an invalid request', new SisRequestError([{ path: 'text', message: 'is required' }]), 400],
      ['a request the service blames (SIS.0403)', new SisServiceError({ errorCode: 'SIS.0403' }), 400],
      ['a bad option of the server', new SisConfigError([{ path: 'limits', message: 'bad' }]), 500],
      ['an error not of this library', new Error('boom'), 500],
      ['a service error', new SisServiceError({ errorCode: 'SIS.0401' }), 502],
      ['END/ERROR without an ERROR frame', new SisServiceError({ reason: 'ERROR' }), 502],
      ['the concurrency cap (SIS.0312)', new SisServiceError({ errorCode: 'SIS.0312' }), 503],
      ['an engine timeout (SIS.0033)', new SisServiceError({ errorCode: 'SIS.0033' }), 504],
      ['a handshake 401 (our credentials)', new SisHandshakeError({ status: 401 }), 502],
      ['a handshake 429', new SisHandshakeError({ status: 429 }), 503],
      ['IAM refusing', new SisAuthError('refused', { status: 401 }), 502],
      ['IAM unavailable', new SisAuthError('down', { status: 503 }), 503],
      ['a lost connection', new SisConnectionError('lost'), 502],
      ['a protocol violation', new SisProtocolError('bad frame', { at: 'after START' }), 502],
      ['a closed client', new SisClosedError('events$'), 503],
      ['a timeout', new SisTimeoutError('idle', 100), 504],
    ];
    for (const [what, error, status] of cases) {
      it(`is ${status} for ${what}`, () => {
        expect(httpStatusOf(error)).to.equal(status);
      });
    }
  });
});
