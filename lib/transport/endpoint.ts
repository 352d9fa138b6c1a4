/** Where a session connects, and the TLS policy that goes with it. */
import type { Problem } from '../errors.js';

/** 127.0.0.0/8, ::1 and localhost: the only hosts plain `ws://` may reach without `allowInsecure`. */
export const isLoopbackHost = (hostname: string): boolean => {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
};

/** A checked endpoint: the base URL and whether TLS certificates must be verified. */
export interface Endpoint {
  readonly base: URL;
  readonly rejectUnauthorized: boolean;
}

/**
 * Checks an endpoint such as `wss://sis-ext.cn-north-4.myhuaweicloud.com` or the emulator's
 * `ws://127.0.0.1:port`. Plain `ws://` is allowed only to loopback hosts unless `allowInsecure`.
 */
export const parseEndpoint = (endpoint: string, allowInsecure: boolean): { endpoint?: Endpoint; problems: Problem[] } => {
  let base: URL;
  try {
    base = new URL(endpoint);
  } catch {
    return { problems: [{ path: 'endpoint', message: `is not a URL: ${JSON.stringify(endpoint)} (expected e.g. wss://sis-ext.cn-north-4.myhuaweicloud.com)` }] };
  }
  const problems: Problem[] = [];
  if (base.protocol !== 'ws:' && base.protocol !== 'wss:') {
    problems.push({ path: 'endpoint', message: `must use wss:// (or ws:// to a loopback emulator), got ${base.protocol}//` });
  } else if (base.protocol === 'ws:' && !isLoopbackHost(base.hostname) && !allowInsecure) {
    problems.push({ path: 'endpoint', message: `plain ws:// is only allowed to loopback hosts; use wss://${base.host} or set allowInsecure: true` });
  }
  if (base.username !== '' || base.password !== '') problems.push({ path: 'endpoint', message: 'must not carry credentials; use the auth option' });
  if (base.search !== '' || base.hash !== '') problems.push({ path: 'endpoint', message: 'must not have a query or fragment' });
  return problems.length > 0 ? { problems } : { endpoint: { base, rejectUnauthorized: !allowInsecure }, problems };
};

/** `{endpoint}/v1/{projectId}/rtts`, keeping any base path the endpoint has. */
export const rttsUrl = (endpoint: Endpoint, projectId: string): string => {
  const url = new URL(endpoint.base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/${encodeURIComponent(projectId)}/rtts`;
  return url.href;
};
