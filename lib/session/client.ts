/**
 * The public entry points in Node: a client bound to options, and one-shot functions, opening sockets
 * with `ws` unless told otherwise. The browser build binds the same core (client-core.ts) to the
 * browser's WebSocket instead (index.browser.ts).
 */
import type { Observable } from 'rxjs';
import type { SynthesisRequest } from '../protocol/request.js';
import { wsWebSocketFactory } from '../transport/ws-factory.js';
import { eventsOnce$, makeSisClient, synthesizeOnce$, type SisClient } from './client-core.js';
import type { AudioChunk, SisEvent } from './events.js';
import type { ClientPlatform, SisClientOptions } from './options.js';

export type { SisClient } from './client-core.js';

/** Node: any kind of credentials, and sockets on `ws`. */
export const NODE_PLATFORM: ClientPlatform = { kind: 'node', webSocketFactory: wsWebSocketFactory };

/**
 * A client for one endpoint and project. Options are checked now; credentials stay inside the
 * closure (the client object shows nothing of them).
 * @throws {SisConfigError} if the options are invalid.
 * @example
 * const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token } });
 * client.synthesize$({ text: '你好' }).subscribe((chunk) => speaker.write(chunk.data));
 */
export const createSisClient = (options: SisClientOptions): SisClient => makeSisClient(options, NODE_PLATFORM);

/**
 * One synthesis as a cold Observable of audio chunks. Invalid options or request arrive as an error
 * notification ({@link SisConfigError} / {@link SisRequestError}) before any socket is opened.
 */
export const synthesize$ = (request: SynthesisRequest, options: SisClientOptions): Observable<AudioChunk> => synthesizeOnce$(request, options, NODE_PLATFORM);

/** One synthesis as a cold Observable of its lifecycle events: the one-shot form of `client.events$`. */
export const events$ = (request: SynthesisRequest, options: SisClientOptions): Observable<SisEvent> => eventsOnce$(request, options, NODE_PLATFORM);
