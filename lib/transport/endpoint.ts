/** Where a session connects, and the TLS policy that goes with it. */
import type { Problem } from '../errors.js';

/** 127.0.0.0/8, ::1 and localhost: the only hosts plain `ws://` may reach without `allowPlainWs`. */
export const isLoopbackHost = (hostname: string): boolean => {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
};

/** A checked endpoint. */
export interface Endpoint {
  readonly base: URL;
}

/**
 * Checks an endpoint such as `wss://sis-ext.cn-north-4.myhuaweicloud.com` or the emulator's
 * `ws://127.0.0.1:port`. Plain `ws://` is allowed only to loopback hosts unless `allowPlainWs`.
 */
export const parseEndpoint = (endpoint: string, allowPlainWs: boolean): { endpoint?: Endpoint; problems: Problem[] } => {
  let base: URL;
  try {
    base = new URL(endpoint);
  } catch {
    return {
      problems: [{ path: 'endpoint', message: `is not a URL: ${JSON.stringify(endpoint)} (expected e.g. wss://sis-ext.cn-north-4.myhuaweicloud.com)` }],
    };
  }
  const problems: Problem[] = [];
  if (base.protocol !== 'ws:' && base.protocol !== 'wss:') {
    problems.push({ path: 'endpoint', message: `must use wss:// (or ws:// to a loopback emulator), got ${base.protocol}//` });
  } else if (base.protocol === 'ws:' && !isLoopbackHost(base.hostname) && !allowPlainWs) {
    problems.push({ path: 'endpoint', message: `plain ws:// is only allowed to loopback hosts; use wss://${base.host} or set allowPlainWs: true` });
  }
  if (base.username !== '' || base.password !== '') problems.push({ path: 'endpoint', message: 'must not carry credentials; use the auth option' });
  if (base.search !== '' || base.hash !== '') problems.push({ path: 'endpoint', message: 'must not have a query or fragment' });
  return problems.length > 0 ? { problems } : { endpoint: { base }, problems };
};

/**
 * A URL component (path segment, query name or value) percent-decoded, or as it is when it is not
 * valid percent-encoding (`%E0%A4%A`): the signer and the emulator's router read URLs that arrive
 * encoded or not.
 */
export const safeDecodeURIComponent = (component: string): string => {
  try {
    return decodeURIComponent(component);
  } catch {
    return component;
  }
};

/** `{endpoint}/v1/{projectId}/rtts`, keeping any base path the endpoint has. */
export const rttsUrl = (endpoint: Endpoint, projectId: string): string => {
  const url = new URL(endpoint.base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/${encodeURIComponent(projectId)}/rtts`;
  return url.href;
};

/**
 * The streaming synthesis URL (protocol.md §2): `path` (with `{project_id}` replaced) under the
 * endpoint, keeping any base path the endpoint has.
 */
export const streamingUrl = (endpoint: Endpoint, projectId: string, path: string): string => {
  const url = new URL(endpoint.base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path.replaceAll('{project_id}', encodeURIComponent(projectId))}`;
  return url.href;
};

/** A region name as Huawei Cloud spells them: `cn-north-4`, `cn-east-3`, `ap-southeast-1`. */
export const REGION_PATTERN = /^[a-z]{2,}-[a-z]+-\d+$/;

/** The synthesis endpoint of a region, built as Huawei's SDKs build it. */
export const regionEndpoint = (region: string): string => `wss://sis-ext.${region}.myhuaweicloud.com`;

/** Checks that exactly one of `endpoint` and `region` is given, and what it points to. */
export const resolveEndpoint = (endpoint: unknown, region: unknown, allowPlainWs: boolean): { endpoint?: Endpoint; problems: Problem[] } => {
  if (endpoint !== undefined && region !== undefined) return { problems: [{ path: 'region', message: 'give endpoint or region, not both' }] };
  if (region !== undefined) {
    return typeof region === 'string' && REGION_PATTERN.test(region)
      ? parseEndpoint(regionEndpoint(region), allowPlainWs)
      : {
          problems: [
            { path: 'region', message: `must be a region name like cn-north-4, got ${typeof region === 'string' ? JSON.stringify(region) : typeof region}` },
          ],
        };
  }
  if (typeof endpoint !== 'string') {
    return { problems: [{ path: 'endpoint', message: 'is required (or region), e.g. wss://sis-ext.cn-north-4.myhuaweicloud.com or region: cn-north-4' }] };
  }
  return parseEndpoint(endpoint, allowPlainWs);
};
