import type { RouteSettings } from '../config/types.ts';

/**
 * Pure route matching: host (exact or `*.example.com`), path prefix on segment boundaries,
 * methods. Routes are tried in config order and the first match wins.
 */
export interface Router {
  /** `secure`: the request came over TLS, so `redirect: 'https'` routes do not apply to it. */
  match(host: string | undefined, path: string, method: string, secure?: boolean): RouteSettings | undefined;
}

/** Host header → bare lower-case host name: port and trailing dot removed, IPv6 brackets kept. */
export function hostName(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  let host = hostHeader.toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  if (colon !== -1) host = host.slice(0, colon);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

export function hostMatches(pattern: string | undefined, host: string | undefined): boolean {
  if (pattern === undefined) return true;
  if (host === undefined) return false;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return host === pattern;
}

/** `/api` matches `/api`, `/api/` and `/api/x`, never `/apix`; `/` matches everything. */
export function pathMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47) /* / */;
}

/** The path the upstream sees when the route strips its prefix: `/api/x` → `/x`, `/api` → `/`. */
export function stripPrefix(prefix: string, path: string): string {
  if (prefix === '/') return path;
  const rest = path.slice(prefix.length);
  return rest === '' ? '/' : rest;
}

export function createRouter(routes: readonly RouteSettings[]): Router {
  return {
    match(hostHeader, path, method, secure = false) {
      const host = hostName(hostHeader);
      for (const route of routes) {
        if (secure && route.redirect) continue;
        if (!pathMatches(route.path, path)) continue;
        if (!hostMatches(route.host, host)) continue;
        if (route.methods && !route.methods.includes(method)) continue;
        return route;
      }
      return undefined;
    },
  };
}
