/**
 * Where the CLI finds credentials: the environment only (never flags, which other users can read in
 * the process list). One function, so another way to authenticate (e.g. AK/SK) is one more branch.
 */
import type { AuthOptions } from '../auth/token.js';

export const ENV = {
  token: 'HUAWEICLOUD_SIS_TOKEN',
  projectId: 'HUAWEICLOUD_SIS_PROJECT_ID',
  endpoint: 'HUAWEICLOUD_SIS_ENDPOINT',
  region: 'HUAWEICLOUD_SIS_REGION',
} as const;

export type Credentials =
  /** Everything needed to reach the service. */
  | { readonly kind: 'service'; readonly endpoint: string; readonly projectId: string; readonly auth: AuthOptions; readonly secrets: readonly string[] }
  /** Nothing configured at all: the CLI falls back to the embedded emulator. */
  | { readonly kind: 'none' }
  /** Configured in part: a usage error naming what is missing (names only, never values). */
  | { readonly kind: 'incomplete'; readonly problems: readonly string[] };

const REGION = /^[a-z]{2,}-[a-z]+-\d+$/;

/** The endpoint of a region, as Huawei's SDKs build it. */
export const regionEndpoint = (region: string): string => `wss://sis-ext.${region}.myhuaweicloud.com`;

/** Reads the credentials from the environment. */
export const resolveCredentials = (env: Readonly<Record<string, string | undefined>>): Credentials => {
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const token = value(ENV.token);
  const projectId = value(ENV.projectId);
  const endpoint = value(ENV.endpoint);
  const region = value(ENV.region);
  if ([token, projectId, endpoint, region].every((v) => v === undefined)) return { kind: 'none' };

  const problems: string[] = [];
  if (token === undefined) problems.push(`${ENV.token} is not set (an IAM token for the project)`);
  if (projectId === undefined) problems.push(`${ENV.projectId} is not set`);
  if (endpoint === undefined && region === undefined) problems.push(`set ${ENV.region} (e.g. cn-north-4) or ${ENV.endpoint}`);
  if (endpoint === undefined && region !== undefined && !REGION.test(region)) {
    problems.push(`${ENV.region} must look like cn-north-4, got ${JSON.stringify(region)}`);
  }
  if (problems.length > 0 || token === undefined || projectId === undefined) return { kind: 'incomplete', problems };
  return {
    kind: 'service',
    endpoint: endpoint ?? regionEndpoint(region ?? ''),
    projectId,
    auth: { token },
    secrets: [token],
  };
};
