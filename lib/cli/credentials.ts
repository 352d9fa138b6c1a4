/**
 * Where the CLI finds credentials: the environment only (never flags, which other users can read in
 * the process list), through the library's own {@link sisOptionsFromEnv}: a token or an AK/SK pair.
 */
import { hasSisEnv, SIS_ENV, sisOptionsFromEnv, type Environment } from '../auth/env.js';
import type { AuthOptions } from '../auth/token.js';
import { SisConfigError } from '../errors.js';
import { regionEndpoint } from '../transport/endpoint.js';

export { regionEndpoint };

export const ENV = SIS_ENV;

export type Credentials =
  /** Everything needed to reach the service. `secrets` are masked in anything the CLI prints. */
  | {
      readonly kind: 'service';
      readonly endpoint: string;
      readonly projectId: string;
      readonly auth: AuthOptions;
      readonly enterpriseProjectId: string | undefined;
      readonly secrets: readonly string[];
    }
  /** Nothing configured at all: the CLI falls back to the embedded emulator. */
  | { readonly kind: 'none' }
  /** Configured in part: a usage error naming what is missing (names only, never values). */
  | { readonly kind: 'incomplete'; readonly problems: readonly string[] };

/** Reads the credentials from the environment. */
export const resolveCredentials = (env: Environment): Credentials => {
  if (!hasSisEnv(env)) return { kind: 'none' };
  try {
    const options = sisOptionsFromEnv(env);
    const { auth } = options;
    return {
      kind: 'service',
      endpoint: options.endpoint ?? regionEndpoint(options.region ?? ''),
      projectId: options.projectId,
      auth,
      enterpriseProjectId: options.enterpriseProjectId,
      secrets: 'token' in auth ? (typeof auth.token === 'string' ? [auth.token] : []) : [auth.sk],
    };
  } catch (error) {
    if (!(error instanceof SisConfigError)) throw error;
    return { kind: 'incomplete', problems: error.problems.map((p) => `${p.path} ${p.message}`) };
  }
};
