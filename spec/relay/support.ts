/**
 * What the relay specs share: an emulator holding the relay's token, a relay on an HTTP server on
 * 127.0.0.1 port 0, "browsers" (raw `ws` clients that can pause, flood and hang up, or the library's
 * client sending a page's headers), and the relay's diagnostics events. Everything started is closed
 * after each test.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { lastValueFrom, toArray } from 'rxjs';
import WebSocket from 'ws';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../lib/emulator/index.js';
import { createSisClient, type SisClient, type SisConnectionOptions, type SynthesisRequest } from '../../lib/index.js';
import { createSisRelay, RELAY_CHANNEL, type RelayEvent, type SisRelay, type SisRelayOptions } from '../../lib/relay/index.js';
import type { WebSocketFactory } from '../../lib/transport/websocket-like.js';
import { wsWebSocketFactory } from '../../lib/transport/ws-factory.js';
import { SECRETS } from '../helpers/secrets.js';

export const ORIGIN = 'https://app.example';
/** The relay's own credential: the one thing no browser may ever see. */
export const RELAY_TOKEN = SECRETS.token;

/** Reads the user from a test header (a real app reads a session cookie). */
export const headerUser = (request: IncomingMessage): string | undefined => {
  const user = request.headers['x-user'];
  return typeof user === 'string' ? user : undefined;
};

const closers: (() => Promise<unknown>)[] = [];
/** Registers something to close after the test (last registered, first closed). */
export const closeAfter = (close: () => Promise<unknown>): void => {
  closers.push(close);
};
/** Closes, after each test of the calling `describe`, everything registered with {@link closeAfter}. */
export const closeEverythingAfterEach = (): void => {
  afterEach(async () => {
    for (let close = closers.pop(); close !== undefined; close = closers.pop()) await close();
  });
};

export const emulatorFor = async (options: EmulatorOptions = {}): Promise<Emulator> => {
  const emulator = await startEmulator({ port: 0, tokens: [RELAY_TOKEN], ...options });
  closeAfter(() => emulator.close());
  return emulator;
};

export interface RelayUnderTest {
  readonly relay: SisRelay;
  readonly server: Server;
  /** `ws://127.0.0.1:port/tts`: the page's `endpoint`. */
  readonly url: string;
}

/** An HTTP server on 127.0.0.1:0 with the relay attached, relaying to `emulator` with the relay's token. */
export const relayFor = async (
  emulator: Emulator,
  options: Partial<SisRelayOptions> = {},
  sis: Partial<SisConnectionOptions> = {},
): Promise<RelayUnderTest> => {
  const relay = createSisRelay({
    sis: { endpoint: emulator.url, projectId: emulator.projectId, auth: { token: RELAY_TOKEN }, ...sis },
    authorize: headerUser,
    origins: [ORIGIN],
    ...options,
  });
  const server = createServer((_request, response) => response.end('app'));
  await listen(server);
  relay.attach(server);
  closeAfter(async () => {
    await relay.close();
    await new Promise((resolve) => server.close(resolve));
  });
  return { relay, server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/tts` };
};

export const listen = (server: Server): Promise<void> => new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

/** The library's client as a page would use it: pointed at the relay, sending the page's Origin and (here) its user. */
export const pageClient = (url: string, user = 'alice'): SisClient =>
  createSisClient({ endpoint: url, projectId: 'relay', auth: { token: 'page-has-no-credentials' }, webSocketFactory: pageFactory(user) });

export const pageFactory =
  (user: string): WebSocketFactory =>
  (request, listener) =>
    wsWebSocketFactory({ ...request, headers: { Origin: ORIGIN, 'X-User': user } }, listener);

/** The audio of one synthesis, as bytes. */
export const audioOf = async (client: SisClient, request: SynthesisRequest): Promise<Buffer> =>
  Buffer.concat((await lastValueFrom(client.synthesize$(request).pipe(toArray()))).map((chunk) => chunk.data));

/** A raw browser socket: what it received, how it closed. */
export interface Browser {
  readonly ws: WebSocket;
  readonly texts: unknown[];
  readonly audio: Buffer[];
  /** The upgrade response's headers. */
  readonly headers: Promise<Record<string, string | string[] | undefined>>;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first text frame matching. */
  text(matching: (frame: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

export interface BrowserOptions {
  readonly origin?: string | undefined;
  readonly user?: string | undefined;
  readonly protocols?: string[] | undefined;
  readonly path?: string | undefined;
}

/** A raw `ws` client at `{url}{path}` (default the real-time path), with the page's Origin and user. */
export const browser = (url: string, options: BrowserOptions = {}): Browser => {
  const headers: Record<string, string> = options.user === undefined ? { 'X-User': 'alice' } : options.user === '' ? {} : { 'X-User': options.user };
  const ws = new WebSocket(`${url}${options.path ?? '/v1/any-project/rtts'}`, options.protocols ?? [], {
    headers,
    ...(options.origin === '' ? {} : { origin: options.origin ?? ORIGIN }),
    perMessageDeflate: false,
  });
  const texts: unknown[] = [];
  const audio: Buffer[] = [];
  const waiters: { matching: (frame: Record<string, unknown>) => boolean; resolve: (frame: Record<string, unknown>) => void }[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) {
      audio.push(Buffer.from(data));
      return;
    }
    const frame = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    texts.push(frame);
    for (const waiter of [...waiters]) {
      if (waiter.matching(frame)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    }
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  opened.catch(() => undefined);
  return {
    ws,
    texts,
    audio,
    headers: new Promise((resolve) => ws.once('upgrade', (response: IncomingMessage) => resolve(response.headers))),
    opened,
    closed: new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString('utf8') }))),
    text: (matching) => {
      const found = texts.find((frame) => matching(frame as Record<string, unknown>));
      if (found !== undefined) return Promise.resolve(found as Record<string, unknown>);
      return new Promise((resolve) => waiters.push({ matching, resolve }));
    },
  };
};

/** An upgrade the relay refuses: its status, headers and body. */
export const refusal = (url: string, options: BrowserOptions = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> =>
  new Promise((resolve, reject) => {
    const { ws } = browser(url, options);
    ws.on('error', () => undefined);
    ws.once('open', () => reject(new Error('the relay accepted the upgrade')));
    ws.once('unexpected-response', (request, response) => {
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(parts).toString('utf8') });
      });
    });
  });

export const START = (text: string, config: Record<string, unknown> = {}): string =>
  JSON.stringify({
    command: 'START',
    text,
    config: { audio_format: 'pcm', sample_rate: '8000', property: 'chinese_xiaoyan_common', speed: 0, pitch: 0, volume: 50, ...config },
  });

/** Every event on the relay's diagnostics channel while the test runs. */
export const relayEvents = (): RelayEvent[] => {
  const events: RelayEvent[] = [];
  const listener = (event: unknown): void => {
    events.push(event as RelayEvent);
  };
  subscribe(RELAY_CHANNEL, listener);
  closeAfter(async () => unsubscribe(RELAY_CHANNEL, listener));
  return events;
};

/** Resolves at the first relay event matching. */
export const relayEvent = (matching: (event: RelayEvent) => boolean): Promise<RelayEvent> =>
  new Promise((resolve) => {
    const listener = (event: unknown): void => {
      if (!matching(event as RelayEvent)) return;
      unsubscribe(RELAY_CHANNEL, listener);
      resolve(event as RelayEvent);
    };
    subscribe(RELAY_CHANNEL, listener);
  });

/** Resolves once `count` sessions have ended. */
export const sessionsEnded = (count: number): Promise<void> => {
  let ended = 0;
  return new Promise((resolve) => {
    const listener = (event: unknown): void => {
      const e = event as RelayEvent;
      if (e.type !== 'session' || e.phase !== 'ended') return;
      ended += 1;
      if (ended < count) return;
      unsubscribe(RELAY_CHANNEL, listener);
      resolve();
    };
    subscribe(RELAY_CHANNEL, listener);
  });
};
