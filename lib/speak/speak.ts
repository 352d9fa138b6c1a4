/**
 * Speaking text while it is still being written: `Observable<string>` in (an LLM's tokens), audio
 * out. The client's `speak$` and `speakEvents$` are built here; {@link speak} is their pipeable form.
 */
import { defer, filter, isObservable, map, type Observable, type OperatorFunction } from 'rxjs';
import { mustBe } from '../checks.js';
import { SisConfigError } from '../errors.js';
import type { SessionConfig } from '../session/options.js';
import { events$ } from '../session/session.js';
import { DEFAULT_MAX_IDLE_MS, WarmPools } from '../session/warm-pool.js';
import type { SpeechChunk, SpeechEvent } from './events.js';
import { planSpeech, type SpeakOptions } from './options.js';
import { realtimeSpeech$ } from './realtime.js';
import { streamingSpeech$ } from './streaming.js';

/**
 * The events of one speech (see `SisClient.speakEvents$`). Checks run at subscription, before `text$`
 * is subscribed or a socket opened: a {@link SisConfigError} or `SisRequestError` notification.
 */
export const speechEvents$ = (text$: Observable<string>, options: SpeakOptions | undefined, config: SessionConfig): Observable<SpeechEvent> =>
  defer(() => {
    if (!isObservable(text$)) throw new SisConfigError(mustBe('text$', 'an Observable of strings (e.g. the tokens of an LLM)', text$), 'speak$ arguments');
    const plan = planSpeech(options, config.limits);
    if (plan.api === 'streaming') return streamingSpeech$(text$, plan, config);
    // One socket ready ahead for this speech, unless the client's own warm pool serves.
    const ahead =
      plan.preconnect && config.pools === undefined ? new WarmPools(config, { size: 1, maxIdleMs: DEFAULT_MAX_IDLE_MS, adoptConnecting: true }) : undefined;
    const sessionConfig: SessionConfig = ahead === undefined ? config : { ...config, pools: ahead };
    ahead?.get(config.url);
    return realtimeSpeech$(text$, plan, (request, call) => events$(request, sessionConfig, call), config.scheduler, ahead);
  });

/** Only the audio of a speech's events. */
export const speechAudio = (): OperatorFunction<SpeechEvent, SpeechChunk> => (events) =>
  events.pipe(
    filter((event): event is Extract<SpeechEvent, { type: 'audio' }> => event.type === 'audio'),
    map((event) => event.chunk),
  );

/** What {@link speak} needs of a client. */
export interface Speaker {
  /** Speaks the text fragments of `text$` as they come, as `client.speak$` does. */
  speak$(text$: Observable<string>, options?: SpeakOptions): Observable<SpeechChunk>;
}

/**
 * The pipeable form of `client.speak$`: text fragments in, speech out.
 * @throws {SisConfigError} (as an error notification) if `client` has no `speak$`, or for bad options.
 * @example llmTokens$.pipe(speak(client, { voice: 'chinese_xiaoyan_common' })).subscribe((chunk) => speaker.write(chunk.data))
 */
export const speak =
  (client: Speaker, options?: SpeakOptions): OperatorFunction<string, SpeechChunk> =>
  (text$) =>
    defer(() => {
      if (typeof client !== 'object' || client === null || typeof (client as Partial<Speaker>).speak$ !== 'function') {
        throw new SisConfigError([{ path: 'client', message: 'must be a client with speak$(text$), e.g. createSisClient({ ... })' }], 'speak arguments');
      }
      return client.speak$(text$, options);
    });
