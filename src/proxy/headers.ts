import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/**
 * Header hygiene in both directions. Hop-by-hop headers (RFC 9110 §7.6.1) and any header the
 * Connection header names belong to one connection and never cross the gateway;
 * X-Forwarded-* are written by the gateway, and client values are believed only from a
 * trusted proxy; X-Baton-* headers are the gateway's own and never come from a client.
 */

const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Handled by the gateway itself: Node answers 100-continue to the client.
  'expect',
]);

/** Names that a Connection header may not list: dropping them would change message framing. */
const framing = new Set(['content-length', 'transfer-encoding', 'host']);

/** Names listed in Connection headers, lower-cased; undefined when it lists a framing header. */
const nothingListed: ReadonlySet<string> = new Set();

export function connectionListed(value: string | string[] | undefined): ReadonlySet<string> | undefined {
  // The usual values list only hop-by-hop names: no work, no allocation.
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'upgrade') return nothingListed;
  const listed = new Set<string>();
  for (const part of Array.isArray(value) ? value : [value]) {
    for (const token of part.split(',')) {
      const name = token.trim().toLowerCase();
      if (!name) continue;
      if (framing.has(name)) return undefined;
      listed.add(name);
    }
  }
  return listed;
}

const saneRequestId = /^[A-Za-z0-9._:@+=/-]{1,128}$/;

/** A client's X-Request-Id is kept when it is short and plain; otherwise the gateway makes one. */
export function acceptRequestId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && saneRequestId.test(value) ? value : undefined;
}

export interface ForwardedFacts {
  /** The direct peer's address. */
  readonly peer: string;
  /** Whether the direct peer is a trusted proxy whose X-Forwarded-* we extend. */
  readonly trusted: boolean;
  readonly proto: 'http' | 'https';
  readonly requestId: string;
  /** Keep Connection/Upgrade for a websocket handshake. */
  readonly upgrade: boolean;
}

/**
 * The headers the upstream receives, computed once per request. Returns undefined when the
 * request's Connection header lists a framing header (a request-smuggling attempt).
 */
export function upstreamHeaders(req: IncomingMessage, facts: ForwardedFacts): IncomingHttpHeaders | undefined {
  const listed = connectionListed(req.headers.connection);
  if (!listed) return undefined;
  const out: IncomingHttpHeaders = {};
  const source = req.headers;
  for (const name in source) {
    if (hopByHop.has(name) || listed.has(name) || name.startsWith('x-baton-')) continue;
    if (name.startsWith('x-forwarded-') || name === 'forwarded' || name === 'x-real-ip') {
      if (!facts.trusted) continue;
    }
    out[name] = source[name];
  }
  // TE: trailers is the one TE value an upstream may need (gRPC); anything else is hop-local.
  if (source.te === 'trailers') out.te = 'trailers';
  const priorFor = facts.trusted ? source['x-forwarded-for'] : undefined;
  out['x-forwarded-for'] = priorFor ? `${Array.isArray(priorFor) ? priorFor.join(', ') : priorFor}, ${facts.peer}` : facts.peer;
  if (!facts.trusted || !out['x-forwarded-proto']) out['x-forwarded-proto'] = facts.proto;
  if (!facts.trusted || !out['x-forwarded-host']) {
    if (source.host) out['x-forwarded-host'] = source.host;
    else delete out['x-forwarded-host'];
  }
  out['x-request-id'] = facts.requestId;
  if (facts.upgrade) {
    out.connection = 'upgrade';
    out.upgrade = source.upgrade;
  }
  return out;
}

/**
 * The upstream's response headers for the client as a flat [name, value, …] list (duplicates
 * such as Set-Cookie kept, original case kept), without hop-by-hop headers.
 */
export function clientResponseHeaders(rawHeaders: readonly string[], extra: readonly string[]): string[] {
  let listed: ReadonlySet<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') {
      listed = connectionListed(rawHeaders[i + 1]) ?? new Set();
      break;
    }
  }
  const out: string[] = [];
  let hasRequestId = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (hopByHop.has(lower) || listed?.has(lower)) continue;
    if (lower === 'x-request-id') hasRequestId = true;
    out.push(name, rawHeaders[i + 1]!);
  }
  for (let i = 0; i < extra.length; i += 2) {
    if (extra[i] === 'x-request-id' && hasRequestId) continue;
    out.push(extra[i]!, extra[i + 1]!);
  }
  return out;
}
