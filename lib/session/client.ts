/** The public entry points: a client bound to options, and one-shot functions. */
import { defer, type Observable } from 'rxjs';
import { audioOnly } from '../operators/audio-only.js';
import type { SynthesisRequest } from '../protocol/request.js';
import type { AudioChunk, SisEvent } from './events.js';
import { resolveOptions, type SisClientOptions } from './options.js';
import { events$ as sessionEvents$, type SessionCallOptions } from './session.js';
import type { SpeechChunk, SpeechEvent } from '../speak/events.js';
import type { SpeakOptions } from '../speak/options.js';
import { speechAudio, speechEvents$ } from '../speak/speak.js';

/** A client bound to one endpoint, project and set of credentials; see {@link createSisClient}. */
export interface SisClient {
  /** Cold: each subscription is one session on its own socket. Completes on END/NORMAL. */
  synthesize$(request: SynthesisRequest, call?: SessionCallOptions): Observable<AudioChunk>;
  /** The same session with its whole lifecycle: open, start, audio, subtitle, unknown, end. */
  events$(request: SynthesisRequest, call?: SessionCallOptions): Observable<SisEvent>;
  /**
   * Speaks text while it is still being written (an LLM's tokens): cold; each subscription reads
   * `text$`, cuts it into sentences with `sentences()` and speaks them in order, the first as soon
   * as it is complete. Completes when `text$` has completed and everything is spoken; unsubscribing
   * closes every socket at once. `options.api` picks one real-time session per sentence (default)
   * or the streaming API's one socket. Each chunk says which sentence it speaks (real-time mode).
   */
  speak$(text$: Observable<string>, options?: SpeakOptions): Observable<SpeechChunk>;
  /** The same speech with its lifecycle: sentence, sent, start, audio, spoken, notice, unknown, end. */
  speakEvents$(text$: Observable<string>, options?: SpeakOptions): Observable<SpeechEvent>;
}

/**
 * A client for one endpoint and project. Options are checked now; credentials stay inside the
 * closure (the client object shows nothing of them).
 * @throws {SisConfigError} if the options are invalid.
 * @example
 * const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token } });
 * client.synthesize$({ text: '你好' }).subscribe((chunk) => speaker.write(chunk.data));
 */
export const createSisClient = (options: SisClientOptions): SisClient => {
  const config = resolveOptions(options);
  const events$ = (request: SynthesisRequest, call?: SessionCallOptions): Observable<SisEvent> => sessionEvents$(request, config, call);
  const speakEvents$ = (text$: Observable<string>, options?: SpeakOptions): Observable<SpeechEvent> => speechEvents$(text$, options, config);
  return Object.freeze({
    events$,
    synthesize$: (request: SynthesisRequest, call?: SessionCallOptions) => events$(request, call).pipe(audioOnly()),
    speakEvents$,
    speak$: (text$: Observable<string>, options?: SpeakOptions) => speakEvents$(text$, options).pipe(speechAudio()),
  });
};

/**
 * One synthesis as a cold Observable of audio chunks. Invalid options or request arrive as an error
 * notification ({@link SisConfigError} / {@link SisRequestError}) before any socket is opened.
 */
export const synthesize$ = (request: SynthesisRequest, options: SisClientOptions): Observable<AudioChunk> =>
  defer(() => createSisClient(options).synthesize$(request));

/** One synthesis as a cold Observable of its lifecycle events: the one-shot form of `client.events$`. */
export const events$ = (request: SynthesisRequest, options: SisClientOptions): Observable<SisEvent> => defer(() => createSisClient(options).events$(request));
