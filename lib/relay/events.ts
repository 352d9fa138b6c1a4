/**
 * What the relay tells an operator, through `node:diagnostics_channel` (the library prints nothing):
 * refusals at the upgrade, each session's start and end, upstream failures. Events carry ids, codes
 * and counts, never a credential, a cookie or a header.
 */
import { channel } from 'node:diagnostics_channel';

/**
 * The relay's events ({@link RelayEvent}) are published on this channel, e.g.
 * `diagnostics_channel.subscribe(RELAY_CHANNEL, (event) => log.info(event))`. Nothing is built while
 * the channel has no subscriber.
 */
export const RELAY_CHANNEL = 'rx-sis-tts:relay';
const relayChannel = channel(RELAY_CHANNEL);

/** Which API a relayed session speaks: real-time synthesis (one START) or the streaming API. */
export type RelayApi = 'realtime' | 'streaming';

/** Why an upgrade (or, after it, a command) was refused; the keys of `stats().refused`. */
export type RefusalReason = 'unauthorized' | 'forbidden' | 'limited' | 'invalid';

/** An upgrade answered with an HTTP error (`status`), or a command answered with an ERROR frame (`status` undefined). */
export interface RelayRefusedEvent {
  readonly type: 'refused';
  readonly reason: RefusalReason | 'closing';
  readonly status: number | undefined;
  readonly api: RelayApi | undefined;
  /** The user, once `authorize` named one. */
  readonly userId: string | undefined;
  /** The session, for a refusal after the upgrade. */
  readonly sessionId: number | undefined;
  /** Why, for the operator (the browser gets a shorter message). */
  readonly detail: string;
}

/** A session's milestones: accepted (upgrade done), started (the service's START response), ended (both sides closed). */
export interface RelaySessionEvent {
  readonly type: 'session';
  readonly phase: 'accepted' | 'started' | 'ended';
  /** 1-based, per relay: ties the events of one session together. */
  readonly sessionId: number;
  readonly userId: string;
  readonly api: RelayApi;
  /** The service's trace id, once its START response came. */
  readonly traceId: string | undefined;
  /** At `ended`: who closed first (`relay`: the relay refused a command, lost the service, or shut down). */
  readonly closedBy?: 'browser' | 'upstream' | 'relay' | undefined;
  /** At `ended`: the close code the browser's socket closed with. */
  readonly code?: number | undefined;
  /** At `ended`: characters counted against the user's budget. */
  readonly characters?: number | undefined;
  /** At `ended`: frames and bytes forwarded to the browser. */
  readonly framesToBrowser?: number | undefined;
  readonly bytesToBrowser?: number | undefined;
  /** At `ended`: how long the session lasted. */
  readonly durationMs?: number | undefined;
}

/** The service could not be reached or was lost: `code` and `message` of the library's typed error (never a secret). */
export interface RelayUpstreamFailureEvent {
  readonly type: 'upstream-failure';
  readonly sessionId: number;
  readonly userId: string;
  readonly api: RelayApi;
  readonly traceId: string | undefined;
  readonly code: string;
  readonly message: string;
}

/** Every event published on {@link RELAY_CHANNEL}. */
export type RelayEvent = RelayRefusedEvent | RelaySessionEvent | RelayUpstreamFailureEvent;

/** Publishes an event, built only when someone listens. */
export const publish = (event: () => RelayEvent): void => {
  if (relayChannel.hasSubscribers) relayChannel.publish(event());
};
