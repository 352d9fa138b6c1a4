/** Client options from environment variables, with the names Huawei's samples use where there are some. */
import { SisConfigError, type Problem } from '../errors.js';
import type { SisClientOptions, SisLocation } from '../session/options.js';
import { parseEndpoint, REGION_PATTERN } from '../transport/endpoint.js';
import { redactedAuth, type CredentialAuth } from './token.js';

/** The variables {@link sisOptionsFromEnv} reads. */
export const SIS_ENV = {
  ak: 'HUAWEICLOUD_SIS_AK',
  sk: 'HUAWEICLOUD_SIS_SK',
  projectId: 'HUAWEICLOUD_SIS_PROJECT_ID',
  region: 'HUAWEICLOUD_SIS_REGION',
  endpoint: 'HUAWEICLOUD_SIS_ENDPOINT',
  token: 'HUAWEICLOUD_SIS_TOKEN',
  enterpriseProjectId: 'HUAWEICLOUD_SIS_ENTERPRISE_PROJECT_ID',
} as const;

/** Environment variables by name, like `process.env` (the default wherever one is read). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** `process.env`, or nothing set where there is no `process` (a browser): this module is on the root entry's graph. */
const processEnv = (): Environment => (globalThis as { readonly process?: { readonly env?: Environment | undefined } | undefined }).process?.env ?? {};

/** True when at least one of the {@link SIS_ENV} variables is set (to something other than blanks). */
export const hasSisEnv = (env: Environment = processEnv()): boolean => Object.values(SIS_ENV).some((name) => (env[name]?.trim() ?? '') !== '');

/**
 * Client options from the environment: `HUAWEICLOUD_SIS_PROJECT_ID`, `HUAWEICLOUD_SIS_REGION` or
 * `HUAWEICLOUD_SIS_ENDPOINT` (one of the two, as in the options), and `HUAWEICLOUD_SIS_AK` + `HUAWEICLOUD_SIS_SK`
 * or `HUAWEICLOUD_SIS_TOKEN`; `HUAWEICLOUD_SIS_ENTERPRISE_PROJECT_ID` optionally. The credentials in the
 * result are hidden from `util.inspect` and JSON. Spread the result to add options of your own.
 * @throws {SisConfigError} naming every variable that is missing or malformed (never a secret's value).
 * @example
 * const client = createSisClient({ ...sisOptionsFromEnv(), timeouts: { idle: 5_000 } });
 */
export const sisOptionsFromEnv = (env: Environment = processEnv()): SisClientOptions & { readonly auth: CredentialAuth } => {
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const ak = value(SIS_ENV.ak);
  const sk = value(SIS_ENV.sk);
  const token = value(SIS_ENV.token);
  const projectId = value(SIS_ENV.projectId);
  const region = value(SIS_ENV.region);
  const endpoint = value(SIS_ENV.endpoint);
  const enterpriseProjectId = value(SIS_ENV.enterpriseProjectId);

  const problems: Problem[] = [];
  if (projectId === undefined) problems.push({ path: SIS_ENV.projectId, message: 'is not set (the project id of the region, from the console)' });
  if (endpoint !== undefined && region !== undefined) {
    // The options refuse both; letting one win here would hide a leftover variable pointing elsewhere.
    problems.push({ path: SIS_ENV.region, message: `is set together with ${SIS_ENV.endpoint}: set one of the two` });
  } else if (endpoint !== undefined) {
    problems.push(...parseEndpoint(endpoint, false).problems.map((p) => ({ ...p, path: SIS_ENV.endpoint })));
  } else if (region === undefined) {
    problems.push({ path: SIS_ENV.region, message: `is not set: set it (e.g. cn-north-4) or ${SIS_ENV.endpoint}` });
  } else if (!REGION_PATTERN.test(region)) {
    problems.push({ path: SIS_ENV.region, message: `must be a region name like cn-north-4, got ${JSON.stringify(region)}` });
  }
  if (token !== undefined && (ak !== undefined || sk !== undefined)) {
    problems.push({ path: SIS_ENV.token, message: `is set together with ${SIS_ENV.ak}/${SIS_ENV.sk}: set one kind of credential only` });
  } else if (ak !== undefined && sk === undefined) {
    problems.push({ path: SIS_ENV.sk, message: `is not set (${SIS_ENV.ak} is: both are needed)` });
  } else if (sk !== undefined && ak === undefined) {
    problems.push({ path: SIS_ENV.ak, message: `is not set (${SIS_ENV.sk} is: both are needed)` });
  } else if (token === undefined && ak === undefined) {
    problems.push({ path: SIS_ENV.ak, message: `is not set: set ${SIS_ENV.ak} and ${SIS_ENV.sk} (an access key), or ${SIS_ENV.token} (an IAM token)` });
  }
  const location: SisLocation | undefined = endpoint !== undefined ? { endpoint } : region !== undefined ? { region } : undefined;
  const auth: CredentialAuth | undefined = token !== undefined ? { token } : ak !== undefined && sk !== undefined ? { ak, sk } : undefined;
  if (problems.length > 0 || projectId === undefined || location === undefined || auth === undefined) throw new SisConfigError(problems, 'environment');

  return {
    ...location,
    projectId,
    auth: redactedAuth(auth),
    ...(enterpriseProjectId === undefined ? {} : { enterpriseProjectId }),
  };
};
