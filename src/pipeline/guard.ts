import type { IncomingMessage } from 'node:http';
import { canonicalTarget } from '../routing/canonical-path.ts';
import { authorityKey, validHost } from '../routing/host.ts';
import { BatonError } from '../util/errors.ts';
import type { Stage } from './state.ts';

/**
 * Request hygiene that Node's strict parser leaves to us: methods a gateway should not pass
 * on, a duplicate Host (Node keeps the first silently), a Host that is not a host (it would
 * match wildcard routes and be forwarded as Host and X-Forwarded-Host), absolute-form targets
 * whose authority disagrees with Host, and one canonical path so that routing and the
 * upstream agree, also an upstream that reads more into the path than Baton does. Kept in this stage so that every request runs it before routing, websocket
 * handshakes included.
 */
export const guard: Stage = (ctx) => {
  const req = ctx.req;
  if (req.method === 'CONNECT' || req.method === 'TRACE') throw new BatonError('METHOD_NOT_ALLOWED', req.method);
  if (hasDuplicateHost(req)) throw new BatonError('BAD_REQUEST', 'more than one Host header');
  const host = req.headers.host;
  if (req.httpVersionMajor === 2) checkAuthority(req, host);
  if (host !== undefined && !validHost(host))
    throw new BatonError('BAD_REQUEST', 'the Host header is not a host name or IP address with an optional port');
  let target = req.url ?? '';
  if (target.charCodeAt(0) !== 47 /* / */) {
    const originForm = fromAbsoluteForm(target, host);
    if (originForm === undefined) throw new BatonError('BAD_REQUEST', 'unsupported request target');
    target = originForm;
  }
  const runtime = ctx.state.runtime;
  const canonical = canonicalTarget(target, runtime.settings.server.escapedSlashes);
  if (!canonical) throw new BatonError('BAD_REQUEST', 'invalid path');
  // An upstream that reads `%2F` as a separator or drops `;` parameters must land in the
  // route Baton chose: `/api;x/secret` is not routed by `/` and then served as `/api/secret`.
  if (canonical.decoded !== canonical.path) {
    const method = req.method ?? 'GET';
    const secure = ctx.state.listener.secure;
    if (
      runtime.router.match(host, canonical.path, method, secure) !==
      runtime.router.match(host, canonical.decoded, method, secure)
    ) {
      throw new BatonError('BAD_REQUEST', 'the path leaves its route once %2F, %5C or ; parameters are decoded');
    }
  }
  const url = canonical.path + canonical.query;
  if (url !== req.url) req.url = url;
  ctx.state.path = canonical.path;
  ctx.state.query = canonical.query;
};

/** HTTP/2: the authority is :authority (Host taken from it); a Host that names another is malformed (RFC 9113 §8.3.1). */
function checkAuthority(req: IncomingMessage, host: string | undefined): void {
  const authority = req.headers[':authority'];
  if (host === undefined) throw new BatonError('BAD_REQUEST', 'an HTTP/2 request needs :authority or Host');
  if (authority !== undefined && authority !== host) throw new BatonError('BAD_REQUEST', 'Host and :authority differ');
}

function hasDuplicateHost(req: IncomingMessage): boolean {
  const raw = req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++seen > 1) return true;
  }
  return false;
}

/**
 * `http://host/path` → `/path`, only when the authority is a valid host and the same as the
 * Host header (RFC 9112 §3.2.2; default ports compare equal). Parsed by hand, not with URL:
 * WHATWG URL parsing would accept userinfo and turn backslashes into slashes.
 */
function fromAbsoluteForm(target: string, host: string | undefined): string | undefined {
  const scheme = /^(https?):\/\//i.exec(target);
  if (!scheme || host === undefined) return undefined;
  const start = scheme[0].length;
  let end = start;
  while (end < target.length && target.charCodeAt(end) !== 47 /* / */ && target.charCodeAt(end) !== 63 /* ? */) end++;
  const authority = target.slice(start, end);
  if (!validHost(authority)) return undefined;
  const defaultPort = scheme[1]!.length === 5 ? 443 : 80;
  if (authorityKey(authority, defaultPort) !== authorityKey(host, defaultPort)) return undefined;
  const rest = target.slice(end);
  return rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
}
