/**
 * `rx-sis-tts/relay`: the credential-holding relay between browsers and SIS. A page cannot set the
 * handshake's headers nor hold an SK: it connects to the app's server, which authorizes it, counts
 * its use and speaks to SIS with its own credentials.
 */
export { createSisRelay, type SisRelay, type SisRelayStats } from './relay.js';
export { DEFAULT_RELAY_LIMITS, DEFAULT_RELAY_PATH, type RelayAuthorize, type RelayLimits, type ResolvedLimits, type SisRelayOptions } from './options.js';
export { memoryLimitStore, type MemoryLimitStore, type RelayLimitStore } from './store.js';
export { MAX_QUEUED_COMMANDS, RELAY_ERROR_CODES, RELAY_HIGH_WATER_MARK, START_TIMEOUT_MS } from './rules.js';
export {
  RELAY_CHANNEL,
  type RefusalReason,
  type RelayApi,
  type RelayEvent,
  type RelayRefusedEvent,
  type RelaySessionEvent,
  type RelayUpstreamFailureEvent,
} from './events.js';
