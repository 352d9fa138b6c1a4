/**
 * createSisRelay over real sockets: browsers (raw `ws` clients, or the library's client sending a
 * page's headers) ⇄ the relay on 127.0.0.1:0 ⇄ the emulator on 127.0.0.1:0. Each test proves what
 * the browser got, what the emulator saw, and that nothing was left open.
 */
import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lastValueFrom, of, toArray } from 'rxjs';
import WebSocket, { WebSocketServer } from 'ws';
import { synthesizeAudio } from '../../lib/emulator/index.js';
import { createSisClient, SisConfigError, SisServiceError } from '../../lib/index.js';
import { createSisRelay, memoryLimitStore, RELAY_ERROR_CODES, RELAY_HIGH_WATER_MARK } from '../../lib/relay/index.js';
import type { StartCommand } from '../../lib/protocol/wire.js';
import type { WebSocketFactory } from '../../lib/transport/websocket-like.js';
import { wsWebSocketFactory } from '../../lib/transport/ws-factory.js';
import { errorOf } from '../helpers/errors.js';
import {
  audioOf,
  browser,
  closeAfter,
  closeEverythingAfterEach,
  emulatorFor,
  headerUser,
  listen,
  ORIGIN,
  pageClient,
  refusal,
  RELAY_TOKEN,
  relayEvent,
  relayEvents,
  relayFor,
  sessionsEnded,
  START,
} from './support.js';

const STREAMING_PATH = '/v1/any-project/vcs/voices/clone';
const STREAMING_START = JSON.stringify({ command: 'START', text_pieces: 'MULTI', config: { voice_name: 'chinese_huaxiaoli_common', sample_rate: '16kHz' } });
const msg = (text: string): string => JSON.stringify({ command: 'MSG', text });

describe('createSisRelay', () => {
  closeEverythingAfterEach();
  describe('relaying', () => {
    it('synthesises through the relay exactly what a direct session gets', async () => {
      const emulator = await emulatorFor();
      const { url, relay } = await relayFor(emulator);
      const request = { text: '你好，世界。Relayed speech.', sampleRate: 16000 } as const;
      const direct = await audioOf(createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: RELAY_TOKEN } }), request);
      const ended = sessionsEnded(1);
      const relayed = await audioOf(pageClient(url), request);
      expect(relayed.length).to.be.above(0);
      expect(relayed.equals(direct)).to.equal(true);
      await ended;
      await emulator.idle();
      expect(relay.stats()).to.deep.include({ sessions: 0, accepted: 1, upstreamFailures: 0 });
      // The relay connected to its own project with its own token, and passed on none of the page's headers.
      const upstream = emulator.sessions[1];
      expect(upstream?.path).to.equal(`/v1/${emulator.projectId}/rtts`);
      expect(upstream?.authenticated).to.equal(true);
      expect(upstream?.headers).to.not.have.any.keys('x-user', 'origin', 'cookie');
    });

    it('relays the streaming API: START, pieces, END, and the audio of every sentence', async () => {
      const emulator = await emulatorFor();
      const { url } = await relayFor(emulator);
      const text = ['Hello there, ', 'this is streaming. ', '今天天气很好。', 'The end'];
      const speak = async (client: ReturnType<typeof createSisClient>): Promise<Buffer> =>
        Buffer.concat((await lastValueFrom(client.speak$(of(...text), { api: 'streaming' }).pipe(toArray()))).map((chunk) => chunk.data));
      const direct = await speak(createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: RELAY_TOKEN } }));
      const relayed = await speak(pageClient(url));
      expect(relayed.length).to.be.above(0);
      expect(relayed.equals(direct)).to.equal(true);
      const upstream = emulator.sessions[1];
      expect(upstream?.api).to.equal('streaming');
      expect(upstream?.path).to.equal(`/v1/${emulator.projectId}/vcs/voices/clone`);
      await emulator.idle();
    });

    it('echoes the subprotocol a page offered (a token) once authorize accepted it', async () => {
      const emulator = await emulatorFor();
      const { url } = await relayFor(emulator, {
        authorize: (request) => {
          const offered = request.headers['sec-websocket-protocol']?.split(',')[0]?.trim();
          return offered?.startsWith('bearer.') === true ? offered.slice('bearer.'.length) : undefined;
        },
      });
      const page = browser(url, { user: '', protocols: ['bearer.user-7', 'tts'] });
      await page.opened;
      expect(page.ws.protocol).to.equal('bearer.user-7');
      page.ws.close(1000);
      await page.closed;
      const refused = await refusal(url, { user: '', protocols: ['nonsense'] });
      expect(refused.status).to.equal(401);
      expect(refused.headers['sec-websocket-protocol']).to.equal(undefined);
    });
  });

  describe('refusing upgrades', () => {
    it('answers 401 to everyone when there is no authorize, and says why on the channel', async () => {
      const emulator = await emulatorFor();
      const events = relayEvents();
      const { url, relay } = await relayFor(emulator, { authorize: undefined });
      const refused = await refusal(url);
      expect(refused.status).to.equal(401);
      expect(refused.headers['connection']).to.equal('close');
      expect(JSON.parse(refused.body)).to.deep.equal({ error: { code: 'UNAUTHORIZED', message: 'not signed in, or not allowed to use speech synthesis' } });
      expect(events).to.deep.include({
        type: 'refused',
        reason: 'unauthorized',
        status: 401,
        api: 'realtime',
        userId: undefined,
        sessionId: undefined,
        detail: 'no authorize option: the relay refuses everyone',
      });
      expect(relay.stats().refused.unauthorized).to.equal(1);
      expect(emulator.stats.connections).to.equal(0);
    });

    it('answers 401 when authorize refuses, rejects or throws, without the error reaching the browser', async () => {
      const emulator = await emulatorFor();
      const { url, relay } = await relayFor(emulator, {
        authorize: async (request) => {
          if (request.headers['x-user'] === 'thrower') throw new Error('session store said: cookie abc123 is unknown');
          if (request.headers['x-user'] === 'rejecter') return Promise.reject(new Error('nope'));
          return undefined;
        },
      });
      for (const user of ['nobody', 'thrower', 'rejecter']) {
        const refused = await refusal(url, { user });
        expect(refused.status).to.equal(401);
        expect(refused.body).to.not.include('abc123');
      }
      expect(relay.stats().refused.unauthorized).to.equal(3);
    });

    it('answers 403 to an origin not in the list, to none, and to all without origins', async () => {
      const emulator = await emulatorFor();
      const { url } = await relayFor(emulator);
      expect((await refusal(url, { origin: 'https://evil.example' })).status).to.equal(403);
      expect((await refusal(url, { origin: '' })).status).to.equal(403);
      const closed = await relayFor(emulator, { origins: undefined });
      const refused = await refusal(closed.url);
      expect(refused.status).to.equal(403);
      expect(JSON.parse(refused.body).error.code).to.equal('ORIGIN_NOT_ALLOWED');
      const open = await relayFor(emulator, { origins: ['*'] });
      const page = browser(open.url, { origin: 'https://anywhere.example' });
      await page.opened;
      page.ws.close();
      await page.closed;
    });

    it("answers 429 past a user's concurrent sessions, and frees the slot when a session ends", async () => {
      const emulator = await emulatorFor();
      const store = memoryLimitStore();
      const { url, relay } = await relayFor(emulator, { store, limits: { perUser: { sessions: 1 } } });
      const first = browser(url);
      await first.opened;
      expect((await refusal(url)).status).to.equal(429);
      // Another user is not affected.
      const other = browser(url, { user: 'bob' });
      await other.opened;
      expect(store.slots().get('sessions')).to.equal(2);
      const ended = sessionsEnded(2);
      first.ws.close();
      other.ws.close();
      await ended;
      expect([...store.slots()]).to.deep.equal([]);
      const again = browser(url);
      await again.opened;
      again.ws.close();
      await again.closed;
      expect(relay.stats().refused.limited).to.equal(1);
    });

    it("answers 429 past the relay's sessions", async () => {
      const emulator = await emulatorFor();
      const { url } = await relayFor(emulator, { limits: { relay: { sessions: 1 } } });
      const first = browser(url);
      await first.opened;
      expect((await refusal(url, { user: 'bob' })).status).to.equal(429);
      first.ws.close();
      await first.closed;
    });

    it('gives the relay slot back when the store fails taking the user slot (both or neither)', async () => {
      const emulator = await emulatorFor();
      const memory = memoryLimitStore();
      const failing = {
        acquire: (key: string, max: number) => (key.includes(':user:') ? Promise.reject(new Error('store down')) : memory.acquire(key, max)),
        release: (key: string) => memory.release(key),
        consume: (key: string, amount: number, max: number, windowMs: number) => memory.consume(key, amount, max, windowMs),
        close: () => memory.close(),
      };
      const { url } = await relayFor(emulator, { store: failing });
      expect((await refusal(url)).status).to.equal(503);
      expect([...memory.slots().values()].reduce((sum, n) => sum + n, 0)).to.equal(0);
    });

    it('leaves other upgrades alone: handleUpgrade says false, and another listener gets them', async () => {
      const emulator = await emulatorFor();
      const { url, relay, server } = await relayFor(emulator);
      const others: string[] = [];
      const other = new WebSocketServer({ noServer: true });
      server.on('upgrade', (request, socket, head) => {
        if (request.url?.startsWith('/tts/') === true) return;
        others.push(request.url ?? '');
        other.handleUpgrade(request, socket, head, (ws: WebSocket) => ws.close(1000));
      });
      closeAfter(async () => other.close());
      const elsewhere = new WebSocket(url.replace('/tts', '/chat'), { origin: ORIGIN });
      await new Promise((resolve) => elsewhere.once('close', resolve));
      expect(others).to.deep.equal(['/chat']);
      expect(relay.handleUpgrade({ url: '/chat' } as never, undefined as never, Buffer.alloc(0))).to.equal(false);
      expect(relay.handleUpgrade({ url: '/tts/v1/p/unknown' } as never, undefined as never, Buffer.alloc(0))).to.equal(false);
      expect(relay.stats().accepted).to.equal(0);
    });
  });

  describe('checking commands', () => {
    it("answers an invalid START with the service's ERROR and closes, never opening upstream", async () => {
      const emulator = await emulatorFor();
      const { url, relay } = await relayFor(emulator);
      const page = browser(url);
      await page.opened;
      page.ws.send(START('你好', { volume: 101 }));
      expect(await page.text(() => true)).to.deep.equal({
        resp_type: 'ERROR',
        error_code: 'SIS.0032',
        error_msg: "'volume' is invalid: must be an integer from 0 to 100",
      });
      expect((await page.closed).code).to.equal(1008);
      expect(emulator.stats.connections).to.equal(0);
      expect(relay.stats().refused.invalid).to.equal(1);
    });

    it('answers a START over the character budget with RELAY.0429, and counts across sessions', async () => {
      const emulator = await emulatorFor();
      const { url, relay } = await relayFor(emulator, { limits: { perUser: { charactersPerMinute: 10 } } });
      const first = browser(url);
      await first.opened;
      first.ws.send(START('一二三四五六'));
      await first.text((frame) => frame['resp_type'] === 'END');
      first.ws.close();
      await first.closed;
      const second = browser(url);
      await second.opened;
      second.ws.send(START('一二三四五六'));
      expect(await second.text(() => true)).to.include({ resp_type: 'ERROR', error_code: RELAY_ERROR_CODES.overBudget });
      expect((await second.closed).code).to.equal(1008);
      await emulator.idle();
      expect(emulator.stats.connections).to.equal(1);
      expect(relay.stats().refused.limited).to.equal(1);
    });

    it('counts streaming pieces as they come: the piece past the budget ends the session on both sides', async () => {
      const emulator = await emulatorFor();
      const { url } = await relayFor(emulator, { limits: { perUser: { charactersPerMinute: 30 } } });
      const page = browser(url, { path: STREAMING_PATH });
      await page.opened;
      page.ws.send(STREAMING_START);
      await page.text((frame) => frame['resp_type'] === 'START');
      page.ws.send(msg('Hello there.'));
      page.ws.send(msg('A second, longer sentence.'));
      expect(await page.text((frame) => frame['resp_type'] === 'ERROR')).to.include({ error_code: RELAY_ERROR_CODES.overBudget });
      expect((await page.closed).code).to.equal(1008);
      await emulator.idle();
      const upstream = emulator.sessions[0];
      expect(upstream?.api === 'streaming' ? upstream.pieces.map((piece) => piece.text) : []).to.deep.equal(['Hello there.']);
      expect(upstream?.closedBy).to.equal('client');
    });

    it('refuses a browser that floods commands, and keeps nothing of it', async () => {
      const emulator = await emulatorFor();
      const { url, relay } = await relayFor(emulator);
      const ended = sessionsEnded(1);
      const page = browser(url, { path: STREAMING_PATH });
      await page.opened;
      page.ws.send(STREAMING_START);
      // 30,000 characters, sent while the upstream socket opens: more than the relay queues, or than the budget allows.
      for (let i = 0; i < 5_000; i++) page.ws.send(msg('flood '));
      const error = await page.text((frame) => frame['resp_type'] === 'ERROR');
      expect([RELAY_ERROR_CODES.flood, RELAY_ERROR_CODES.overBudget]).to.include(error['error_code']);
      expect((await page.closed).code).to.equal(1008);
      await ended;
      await emulator.idle();
      expect(relay.stats()).to.deep.include({ sessions: 0, bufferedBytes: 0 });
      const record = emulator.sessions[0];
      expect(record?.api === 'streaming' ? record.pieces.length : -1).to.be.below(5_000);
    });

    it('answers a binary frame from the browser with ERROR SIS.0032', async () => {
      const emulator = await emulatorFor();
      const { url } = await relayFor(emulator);
      const page = browser(url);
      await page.opened;
      page.ws.send(Buffer.from([1, 2, 3]));
      expect(await page.text(() => true)).to.include({ resp_type: 'ERROR', error_code: 'SIS.0032' });
      expect((await page.closed).code).to.equal(1003);
    });
  });

  describe('flow control and endings', () => {
    it('pauses the upstream socket while the browser reads slowly, and delivers everything once it reads', async () => {
      const emulator = await emulatorFor();
      const calls: string[] = [];
      let paused: () => void = () => undefined;
      const pausedOnce = new Promise<void>((resolve) => (paused = resolve));
      const spy: WebSocketFactory = (request, listener) => {
        const socket = wsWebSocketFactory(request, listener);
        return {
          ...socket,
          pause: () => {
            calls.push('pause');
            socket.pause?.();
            paused();
          },
          resume: () => {
            calls.push('resume');
            socket.resume?.();
          },
        };
      };
      const { url, relay } = await relayFor(emulator, {}, { webSocketFactory: spy });
      const page = browser(url);
      await page.opened;
      const command = JSON.parse(START('好'.repeat(2_000), { sample_rate: '16000' })) as StartCommand;
      const total = synthesizeAudio(command).length;
      page.ws.pause();
      page.ws.send(JSON.stringify(command));
      await pausedOnce;
      const stats = relay.stats();
      expect(stats.bufferedBytes).to.be.at.most(RELAY_HIGH_WATER_MARK + 64 * 1024);
      expect(emulator.sessions[0]?.audioBytes).to.be.below(total);
      const end = page.text((frame) => frame['resp_type'] === 'END');
      page.ws.resume();
      await end;
      expect(Buffer.concat(page.audio).equals(Buffer.from(synthesizeAudio(command)))).to.equal(true);
      expect(calls[0]).to.equal('pause');
      expect(calls).to.include('resume');
      page.ws.close();
      await emulator.idle();
    });

    it('closes the upstream socket when the browser hangs up mid-stream', async () => {
      const emulator = await emulatorFor({ realtimeFactor: 1 });
      const { url, relay } = await relayFor(emulator);
      const page = browser(url);
      await page.opened;
      page.ws.send(START('这是一个很长的句子，它会慢慢地读出来。'));
      await page.text((frame) => frame['resp_type'] === 'START');
      const ended = relayEvent((event) => event.type === 'session' && event.phase === 'ended');
      page.ws.close(1000);
      expect(await ended).to.include({ closedBy: 'browser', code: 1000 });
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ closedBy: 'client', ending: 'client-closed' });
      expect(relay.stats().sessions).to.equal(0);
    });

    it("closes the browser with the service's code when the service closes first", async () => {
      const emulator = await emulatorFor({ fault: { kind: 'drop', at: 'after-start', closeCode: 4001, closeReason: 'bye' } });
      const { url } = await relayFor(emulator);
      const page = browser(url);
      await page.opened;
      page.ws.send(START('你好'));
      expect(await page.closed).to.deep.equal({ code: 4001, reason: 'bye' });
      await emulator.idle();
    });

    it('answers RELAY.0502 and closes when the service cannot be reached; the library client fails with it', async () => {
      const emulator = await emulatorFor({ fault: { kind: 'reject-handshake', status: 503 } });
      const { url, relay } = await relayFor(emulator);
      const page = browser(url);
      await page.opened;
      page.ws.send(START('你好'));
      const error = await page.text(() => true);
      expect(error).to.include({ resp_type: 'ERROR', error_code: RELAY_ERROR_CODES.upstream });
      expect(error['error_msg']).to.match(/could not reach the speech service \(HANDSHAKE_REJECTED\)/);
      expect((await page.closed).code).to.equal(1011);
      const failure = await errorOf(lastValueFrom(pageClient(url).synthesize$({ text: '你好' })));
      expect(failure).to.be.instanceOf(SisServiceError);
      expect((failure as SisServiceError).errorCode).to.equal(RELAY_ERROR_CODES.upstream);
      expect(relay.stats().upstreamFailures).to.equal(2);
    });

    it('closes every session on both sides when the relay closes', async () => {
      const emulator = await emulatorFor({ realtimeFactor: 1 });
      const { url, relay } = await relayFor(emulator);
      const page = browser(url);
      await page.opened;
      page.ws.send(START('这是一个很长的句子，它会慢慢地读出来。'));
      await page.text((frame) => frame['resp_type'] === 'START');
      await relay.close();
      expect(await page.text((frame) => frame['resp_type'] === 'ERROR')).to.include({ error_code: RELAY_ERROR_CODES.unavailable });
      expect((await page.closed).code).to.equal(1001);
      await emulator.idle();
      expect((await refusal(url)).status).to.equal(503);
    });

    it('relays 1,000 sessions at once and leaves nothing open', async function () {
      this.timeout(120_000);
      const emulator = await emulatorFor();
      const store = memoryLimitStore();
      const { url, relay } = await relayFor(emulator, { store, limits: { perUser: { sessions: 1_000, charactersPerMinute: Number.POSITIVE_INFINITY } } });
      const client = pageClient(url);
      const expected = Buffer.from(synthesizeAudio(JSON.parse(START('好')) as StartCommand));
      const ended = sessionsEnded(1_000);
      const results = await Promise.all(Array.from({ length: 1_000 }, () => audioOf(client, { text: '好' })));
      expect(results.every((audio) => audio.equals(expected))).to.equal(true);
      await ended;
      await emulator.idle();
      expect(relay.stats()).to.deep.include({ sessions: 0, accepted: 1_000, upstreamFailures: 0, bufferedBytes: 0 });
      expect([...store.slots()]).to.deep.equal([]);
    });
  });

  describe('secrets', () => {
    it("never shows the relay's credential to the browser or on the channel", async () => {
      const events = relayEvents();
      const seen: string[] = [];
      const emulator = await emulatorFor();
      const { url } = await relayFor(emulator);
      const page = browser(url);
      seen.push(JSON.stringify(await page.headers));
      await page.opened;
      page.ws.send(START('你好'));
      await page.text((frame) => frame['resp_type'] === 'END');
      page.ws.close();
      await page.closed;
      seen.push(JSON.stringify(page.texts), Buffer.concat(page.audio).toString('latin1'));
      // A service that refuses the relay's token: the browser hears of it, never of the token.
      const refusing = await emulatorFor({ tokens: ['another-token'] });
      const other = await relayFor(refusing);
      const failed = browser(other.url);
      await failed.opened;
      failed.ws.send(START('你好'));
      await failed.closed;
      seen.push(JSON.stringify(failed.texts));
      const refused = await refusal(url, { origin: 'https://evil.example' });
      seen.push(refused.body, JSON.stringify(refused.headers));
      seen.push(JSON.stringify(events));
      expect(events.some((event) => event.type === 'upstream-failure')).to.equal(true);
      for (const text of seen) expect(text).to.not.include(RELAY_TOKEN);
    });
  });

  describe('frameworks', () => {
    it('attaches to the server of an Express app', async () => {
      const express = (await import('express')).default;
      const emulator = await emulatorFor();
      const app = express();
      app.get('/health', (_request, response) => {
        response.send('ok');
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const relay = createSisRelay({
        sis: { endpoint: emulator.url, projectId: emulator.projectId, auth: { token: RELAY_TOKEN } },
        authorize: headerUser,
        origins: [ORIGIN],
      });
      relay.attach(server);
      closeAfter(async () => {
        await relay.close();
        await new Promise((resolve) => server.close(resolve));
      });
      const { port } = server.address() as AddressInfo;
      const audio = await audioOf(pageClient(`ws://127.0.0.1:${port}/tts`), { text: '你好' });
      expect(audio.length).to.be.above(0);
      expect(await (await fetch(`http://127.0.0.1:${port}/health`)).text()).to.equal('ok');
    });

    it("attaches to a Fastify instance's server", async () => {
      const { default: fastify } = await import('fastify');
      const emulator = await emulatorFor();
      const app = fastify();
      app.get('/health', async () => 'ok');
      const relay = createSisRelay({
        sis: { endpoint: emulator.url, projectId: emulator.projectId, auth: { token: RELAY_TOKEN } },
        authorize: headerUser,
        origins: [ORIGIN],
      });
      relay.attach(app.server, { path: '/speech' });
      await app.listen({ port: 0, host: '127.0.0.1' });
      closeAfter(async () => {
        await relay.close();
        await app.close();
      });
      const { port } = app.server.address() as AddressInfo;
      const audio = await audioOf(pageClient(`ws://127.0.0.1:${port}/speech`), { text: '你好' });
      expect(audio.length).to.be.above(0);
    });
  });

  describe('options', () => {
    it('lists every problem, the client options under sis.', () => {
      const error = (() => {
        try {
          createSisRelay({
            sis: { endpoint: 'http://example.com', projectId: '', auth: { token: RELAY_TOKEN } },
            origins: ['https://app.example/path', 7 as never],
            limits: { perUser: { sessions: 0 } },
            path: 'tts/',
          });
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).to.be.instanceOf(SisConfigError);
      const paths = (error as SisConfigError).problems.map((problem) => problem.path);
      expect(paths).to.include.members(['sis.endpoint', 'sis.projectId', 'origins.0', 'origins.1', 'limits.perUser.sessions', 'path']);
      expect((error as SisConfigError).message).to.not.include(RELAY_TOKEN);
    });

    it("refuses auth 'relay' for its own connection: the relay is the one holding credentials", () => {
      expect(() => createSisRelay({ sis: { endpoint: 'ws://127.0.0.1:9', projectId: 'p', auth: 'relay' }, authorize: headerUser, origins: [ORIGIN] }))
        .to.throw(SisConfigError)
        .with.property('problems')
        .that.deep.includes({ path: 'sis.auth', message: "must be the relay's own credentials ({ token } or { ak, sk }), not 'relay'" });
    });

    it('makes a relay that keeps no process alive before it is attached', async () => {
      const relay = createSisRelay({
        sis: { endpoint: 'ws://127.0.0.1:9', projectId: 'p', auth: { token: RELAY_TOKEN } },
        authorize: headerUser,
        origins: [ORIGIN],
      });
      const server = createServer();
      await listen(server);
      relay.attach(server)();
      await new Promise((resolve) => server.close(resolve));
      await relay.close();
      expect(relay.stats().sessions).to.equal(0);
    });
  });
});
