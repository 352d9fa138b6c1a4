/**
 * rx-sis-tts in a browser: the same names as the Node build (index.ts), with sockets on the page's
 * `WebSocket` and no `ws` or `node:` module anywhere in the module graph. Bundlers pick this file
 * through the `browser` condition of the package's `exports`.
 *
 * A page never holds a token or an SK (anyone could read them): it talks to a relay on the app's
 * server (`createSisRelay` in `rx-sis-tts/relay`), which authenticates the page and holds the
 * credentials. So the only `auth` accepted here is `'relay'`, and the client sends no headers.
 * @example
 * import { createSisClient } from 'rx-sis-tts';
 * const client = createSisClient({ endpoint: 'wss://your.app/tts', projectId: 'relay', auth: 'relay' });
 * client.synthesize$({ text: '你好' }).subscribe((chunk) => player.play(chunk.data));
 */
import type { Observable } from 'rxjs';
import type { SynthesisRequest } from './protocol/request.js';
import { eventsOnce$, makeSisClient, synthesizeOnce$, type SisClient } from './session/client-core.js';
import type { AudioChunk, SisEvent } from './session/events.js';
import type { ClientPlatform, SisClientOptions } from './session/options.js';
import { browserWebSocketFactory } from './transport/browser-factory.js';

/** A page: `auth: 'relay'` only, sockets on the global `WebSocket`. */
const BROWSER_PLATFORM: ClientPlatform = { kind: 'browser', webSocketFactory: /* @__PURE__ */ browserWebSocketFactory() };

/**
 * A client for one endpoint (the app's relay) and project. Options are checked now: `auth` must be
 * `'relay'`; `{ token }` and `{ ak, sk }` are refused, since a page cannot keep a secret.
 * @throws {SisConfigError} if the options are invalid.
 * @example
 * const client = createSisClient({ endpoint: 'wss://your.app/tts', projectId: 'relay', auth: 'relay' });
 * client.speak$(llmTokens$).subscribe((chunk) => player.play(chunk.data));
 */
export const createSisClient = (options: SisClientOptions): SisClient => makeSisClient(options, BROWSER_PLATFORM);

/**
 * One synthesis as a cold Observable of audio chunks. Invalid options or request arrive as an error
 * notification ({@link SisConfigError} / {@link SisRequestError}) before any socket is opened.
 */
export const synthesize$ = (request: SynthesisRequest, options: SisClientOptions): Observable<AudioChunk> =>
  synthesizeOnce$(request, options, BROWSER_PLATFORM);

/** One synthesis as a cold Observable of its lifecycle events: the one-shot form of `client.events$`. */
export const events$ = (request: SynthesisRequest, options: SisClientOptions): Observable<SisEvent> => eventsOnce$(request, options, BROWSER_PLATFORM);

// Everything else, the same as in Node (`browserWebSocketFactory` among it).
export * from './public.js';
