import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { Middleware } from 'koa';
import { authorityKey, validHost } from '../routing/host.ts';
import { hostName } from '../routing/router.ts';
import { BatonError, type ErrorCode } from '../util/errors.ts';

/**
 * Keeps web pages from driving the admin API through the operator's browser, as Caddy's admin
 * endpoint does. Without a token (the default) any page could otherwise POST a drain to
 * 127.0.0.1 as a CORS "simple" request (the browser sends it and only hides the answer), and
 * a DNS-rebound name could read /status.
 *
 * - Host must name an address the admin API listens on, or one of `admin.allowedHosts`: a
 *   rebound `evil.example` resolving to 127.0.0.1 still says `Host: evil.example`.
 * - A mutating call (anything but GET, HEAD, OPTIONS) is refused when it says it comes from
 *   another origin: an `Origin` that is not the admin API's own (`null` included), or
 *   `Sec-Fetch-Site` other than `same-origin` or `none`. Browsers send both on every POST.
 * - A mutating call carries `content-type: application/json`, or no content type and no body:
 *   text/plain, form and multipart bodies are what cross-origin simple requests can send;
 *   `curl -X POST` without a body keeps working.
 *
 * `/healthz` and `/readyz` stay open to any Host: orchestrator probes use whatever address
 * they reach, and the answers say nothing.
 */

/** Which Host header values the admin API answers to. */
export function adminHostCheck(
  listenHost: string,
  allowedHosts: readonly string[],
): (host: string | undefined) => boolean {
  const bare = listenHost.startsWith('[') ? listenHost.slice(1, -1) : listenHost;
  const wildcard = bare === '0.0.0.0' || bare === '::' || bare === '';
  const names = new Set(allowedHosts.map((host) => hostName(host)!));
  if (wildcard || isLoopback(bare)) for (const name of ['localhost', '127.0.0.1', '[::1]']) names.add(name);
  if (!wildcard) names.add(isIP(bare) === 6 ? `[${bare.toLowerCase()}]` : bare.toLowerCase());
  return (host) => {
    if (host === undefined || !validHost(host)) return false;
    const name = hostName(host)!;
    // A wildcard listener is reached through addresses it cannot list (NAT, published container
    // ports); an address in Host cannot come from DNS rebinding, only a name can.
    return names.has(name) || (wildcard && (name.startsWith('[') || isIP(name) === 4));
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

export interface AdminCall {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface Refusal {
  readonly code: ErrorCode;
  readonly detail: string;
}

const openPaths = new Set(['/healthz', '/readyz']);
const reads = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Pure: why this call must be refused, or undefined. */
export function browserRefusal(
  call: AdminCall,
  hostAllowed: (host: string | undefined) => boolean,
): Refusal | undefined {
  if (openPaths.has(call.path)) return undefined;
  const { headers } = call;
  if (!hostAllowed(headers.host)) return { code: 'HOST_NOT_ALLOWED', detail: `Host: ${headers.host ?? '(none)'}` };
  if (reads.has(call.method)) return undefined;
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return { code: 'CROSS_ORIGIN', detail: `Sec-Fetch-Site: ${site}` };
  const origin = headers.origin;
  if (origin !== undefined && !sameOrigin(origin, headers.host!))
    return { code: 'CROSS_ORIGIN', detail: `Origin: ${origin}` };
  const type = headers['content-type'];
  if (type === undefined) {
    const hasBody =
      headers['transfer-encoding'] !== undefined ||
      (headers['content-length'] !== undefined && headers['content-length'] !== '0');
    return hasBody ? { code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'a body without a content type' } : undefined;
  }
  const mediaType = type.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json'
    ? undefined
    : { code: 'UNSUPPORTED_MEDIA_TYPE', detail: `content-type: ${type}` };
}

/** `http(s)://authority` with the same host and port as the request's Host. */
function sameOrigin(origin: string, host: string): boolean {
  const match = /^(https?):\/\/([^/]+)$/i.exec(origin);
  if (!match || !validHost(match[2]!)) return false;
  const defaultPort = match[1]!.length === 5 ? 443 : 80;
  return authorityKey(match[2]!, defaultPort) === authorityKey(host, defaultPort);
}

export function browserGuard(hostAllowed: (host: string | undefined) => boolean): Middleware {
  return async (ctx, next) => {
    const refusal = browserRefusal({ method: ctx.method, path: ctx.path, headers: ctx.headers }, hostAllowed);
    if (refusal) throw new BatonError(refusal.code, refusal.detail);
    await next();
  };
}
