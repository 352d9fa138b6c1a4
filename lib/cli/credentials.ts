/**
 * Where the CLI finds credentials: the environment only (never flags, which other users can read in
 * the process list), through the library's own {@link sisOptionsFromEnv}: a token or an AK/SK pair.
 */
import { hasSisEnv, SIS_ENV, sisOptionsFromEnv, type Environment } from '../auth/env.js';
import { SisConfigError } from '../errors.js';
import type { CredentialAuth } from '../auth/token.js';
import type { SisClientOptions } from '../session/options.js';

export type Credentials =
  /** Everything needed to reach the service. `secrets` are masked in anything the CLI prints. */
  | { readonly kind: 'service'; readonly options: SisClientOptions & { readonly auth: CredentialAuth }; readonly secrets: readonly string[] }
  /**
   * Not usable: `problems` name each variable that is missing or malformed (names only, never
   * values); `configured` says whether any variable was set at all.
   */
  | { readonly kind: 'missing'; readonly configured: boolean; readonly problems: readonly string[] };

const PLAIN_WS = /^ws:\/\//i;

/**
 * Reads the credentials from the environment. With `allowPlainWs`, a plain `ws://` endpoint to a
 * host other than loopback is accepted (the client then applies its own `allowPlainWs` check).
 */
export const resolveCredentials = (env: Environment, { allowPlainWs }: { readonly allowPlainWs: boolean }): Credentials => {
  const endpoint = env[SIS_ENV.endpoint]?.trim() ?? '';
  // sisOptionsFromEnv holds the endpoint to the default policy (wss://, or ws:// to loopback only).
  // When the user relaxed it, it checks the same URL as wss:// and the original goes to the client,
  // whose resolveOptions checks it again under allowPlainWs.
  const plain = allowPlainWs && PLAIN_WS.test(endpoint);
  try {
    const options = sisOptionsFromEnv(plain ? { ...env, [SIS_ENV.endpoint]: endpoint.replace(PLAIN_WS, 'wss://') } : env);
    const { auth } = options;
    return {
      kind: 'service',
      options: plain ? { ...options, endpoint, region: undefined, allowPlainWs: true } : options,
      secrets: 'token' in auth ? (typeof auth.token === 'string' ? [auth.token] : []) : [auth.sk],
    };
  } catch (error) {
    if (!(error instanceof SisConfigError)) throw error;
    // The library's message names its option (allowPlainWs); the CLI user needs the flag.
    const flag = !allowPlainWs && PLAIN_WS.test(endpoint) ? ' (a plain ws:// endpoint needs --allow-plain-ws)' : '';
    const problems = error.problems.map((p) => `${p.path} ${p.message}${p.path === SIS_ENV.endpoint ? flag : ''}`);
    return { kind: 'missing', configured: hasSisEnv(env), problems };
  }
};
