/** How the CLI ends: exit codes, and what a failure says. */
import {
  SisAuthError,
  SisConfigError,
  SisError,
  SisFileError,
  SisHandshakeError,
  SisItemError,
  SisPartError,
  SisRequestError,
  SisServiceError,
} from '../errors.js';
import { USAGE_EXIT, UsageError } from './usage.js';

export const EXIT = {
  ok: 0,
  /** A local failure: writing the file, or a bug. */
  failure: 1,
  /** Bad usage: flags, input, missing credentials. */
  usage: USAGE_EXIT,
  service: 3,
  auth: 4,
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

// SIS codes that mean the credentials are wrong (protocol.md §1: token invalid, header missing, not verified).
const AUTH_SERVICE_CODES = new Set(['SIS.0101', 'SIS.0102', 'SIS.0103']);

/** The error that decides, looking through the wrappers of long texts and batches. */
const rootCause = (error: unknown): unknown =>
  (error instanceof SisPartError || error instanceof SisItemError) && error.cause !== undefined ? rootCause(error.cause) : error;

/** The exit code of a failure, decided by the error that caused it. */
export const exitCodeFor = (error: unknown): ExitCode => {
  const cause = rootCause(error);
  if (cause instanceof UsageError || cause instanceof SisRequestError || cause instanceof SisConfigError) return EXIT.usage;
  if (cause instanceof SisAuthError) return EXIT.auth;
  if (cause instanceof SisHandshakeError && (cause.status === 401 || cause.status === 403)) return EXIT.auth;
  if (cause instanceof SisServiceError && cause.errorCode !== undefined && AUTH_SERVICE_CODES.has(cause.errorCode)) return EXIT.auth;
  if (cause instanceof SisFileError) return EXIT.failure;
  if (cause instanceof SisError) return EXIT.service;
  return EXIT.failure;
};

/**
 * What went wrong, for `failureText` to print: the message, the trace id if the message lacks it, and
 * never a secret (library messages hold none; `secrets` are masked anyway, in case one came from elsewhere).
 */
export const describeError = (error: unknown, secrets: readonly string[] = []): string => {
  // A text of one part failed as a whole: say what went wrong, not "part 1 of 1".
  if (error instanceof SisPartError && error.parts === 1 && error.cause instanceof SisError) return describeError(error.cause, secrets);
  let line = error instanceof Error ? error.message : String(error);
  const traceId = error instanceof SisError ? error.traceId : undefined;
  if (traceId !== undefined && !line.includes(traceId)) line += ` [trace ${traceId}]`;
  for (const secret of secrets) if (secret !== '') line = line.split(secret).join('<redacted>');
  return line;
};
