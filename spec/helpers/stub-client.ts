/** A client whose sessions are marble Observables chosen by the request text (for operator tests). */
import { Observable, throwError } from 'rxjs';
import type { AudioChunk, SessionCallOptions, SisClient, SynthesisRequest } from '../../lib/index.js';

export interface StubCall {
  readonly request: SynthesisRequest;
  readonly call: SessionCallOptions | undefined;
  /** What the session's `paused$` said while it was subscribed, as a real session would follow it. */
  readonly flags: boolean[];
}

export interface StubClient extends Pick<SisClient, 'synthesize$'> {
  readonly calls: StubCall[];
}

export const stubClient = (sessions: Record<string, Observable<AudioChunk>>): StubClient => {
  const calls: StubCall[] = [];
  return {
    calls,
    synthesize$: (request, call) => {
      const flags: boolean[] = [];
      calls.push({ request, call, flags });
      const session = sessions[request.text] ?? throwError(() => new Error(`no session scripted for ${JSON.stringify(request.text)}`));
      return new Observable<AudioChunk>((subscriber) => {
        const following = call?.paused$?.subscribe((paused) => flags.push(paused));
        const subscription = session.subscribe(subscriber);
        return () => {
          following?.unsubscribe();
          subscription.unsubscribe();
        };
      });
    },
  };
};
