/**
 * What a page can meet at the relay besides the service's own answers: the relay's ERROR codes and its
 * fixed limits. (Apart from the session so that the public types never reach the socket library's.)
 */

/** Above this many bytes waiting for a browser, the upstream socket is paused; it resumes below half. */
export const RELAY_HIGH_WATER_MARK = 512 * 1024;
/** A browser that sends no START for this long gets an ERROR and is closed (the service waits about as long). */
export const START_TIMEOUT_MS = 20_000;
/** Commands waiting (while one is checked, or while the upstream socket opens), at most: a browser past it floods, and is refused. */
export const MAX_QUEUED_COMMANDS = 256;

/**
 * The `error_code`s of the ERROR frames the relay sends itself (a refused command is answered with
 * the service's own code, e.g. SIS.0032, as the service would answer it).
 */
export const RELAY_ERROR_CODES = {
  /** The user's `charactersPerMinute` budget is spent: wait, then try again. */
  overBudget: 'RELAY.0429',
  /** The browser sent more commands at once than the relay queues. */
  flood: 'RELAY.0413',
  /** No START came in time after the upgrade. */
  startTimeout: 'RELAY.0408',
  /** The service could not be reached, or was lost: try again later. */
  upstream: 'RELAY.0502',
  /** The relay is shutting down, or cannot check its limits now: connect again. */
  unavailable: 'RELAY.0503',
} as const;
