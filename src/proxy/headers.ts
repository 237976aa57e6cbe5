import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/**
 * Header hygiene in both directions. Hop-by-hop headers (RFC 9110 §7.6.1) and any header a
 * Connection header names (every Connection header, not only the first) belong to one
 * connection and never cross the gateway; X-Forwarded-* are written by the gateway, and client
 * values are believed only from a trusted proxy; X-Baton-* headers are the gateway's own and
 * never come from a client. Neither do underscore spellings of any of these (`X_Forwarded_For`):
 * CGI, WSGI and Rack map `-` and `_` to the same variable (HTTP_X_FORWARDED_FOR).
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
  // HTTP/2's upgrade token (h2c): connection-specific, and refused on HTTP/2 responses.
  'http2-settings',
  // Handled by the gateway itself: Node answers 100-continue to the client.
  'expect',
]);

/** Names that a Connection header may not list: dropping them would change message framing. */
const framing = new Set(['content-length', 'transfer-encoding', 'host']);

const nothingListed: ReadonlySet<string> = new Set();

/** The usual values list only hop-by-hop names: no work, no allocation. (Never true of a list of values.) */
function listsNothing(value: string | readonly string[]): boolean {
  return (
    value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'upgrade' || value === 'Upgrade'
  );
}

/**
 * Names a request's Connection header lists, lower-cased; undefined when it lists a framing
 * header. Node joins repeated Connection headers into one value, so this sees them all.
 */
export function connectionListed(value: string | string[] | undefined): ReadonlySet<string> | undefined {
  if (value === undefined || listsNothing(value)) return nothingListed;
  const listed = new Set<string>();
  for (const part of Array.isArray(value) ? value : [value]) {
    if (!addListed(part, listed)) return undefined;
  }
  return listed;
}

/** Adds the names one Connection value lists; false if it names a framing header (not added). */
function addListed(value: string, into: Set<string>): boolean {
  let clean = true;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (!name) continue;
    if (framing.has(name)) clean = false;
    else into.add(name);
  }
  return clean;
}

/**
 * Request headers the gateway writes or drops besides the hop-by-hop, X-Forwarded-* and X-Baton-*
 * ones, as far as they have an underscore spelling (`Forwarded` has none: it is dropped below).
 */
const owned = new Set(['x-real-ip', 'x-request-id']);

/**
 * Underscore spellings of names the gateway owns, replaces or removes: a client may not send
 * them (they would reach CGI-style upstreams as the real thing). Other underscore names pass.
 */
function impersonates(name: string): boolean {
  const dashed = name.replaceAll('_', '-');
  return (
    hopByHop.has(dashed) ||
    framing.has(dashed) ||
    owned.has(dashed) ||
    dashed.startsWith('x-forwarded-') ||
    dashed.startsWith('x-baton-')
  );
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
  /** The verified subject of the client's TLS certificate (mutual TLS), if any. */
  readonly clientSubject?: string | undefined;
}

/**
 * The header that carries a verified client certificate's subject upstream. An X-Baton-*
 * name: every client's own copy is dropped (above), so only the gateway ever sets it.
 */
export const clientSubjectHeader = 'x-baton-client-cert-subject';

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
    // HTTP/2 pseudo-headers (:method, :path, :authority, :scheme) become the request line and Host.
    if (name.charCodeAt(0) === 58 /* : */) continue;
    if (hopByHop.has(name) || listed.has(name) || name.startsWith('x-baton-')) continue;
    if (name.indexOf('_') !== -1 && impersonates(name)) continue;
    if (name.startsWith('x-forwarded-') || name === 'forwarded' || name === 'x-real-ip') {
      if (!facts.trusted) continue;
    }
    out[name] = source[name];
  }
  // TE: trailers is the one TE value an upstream may need (gRPC); anything else is hop-local.
  if (source.te === 'trailers') out.te = 'trailers';
  const priorFor = facts.trusted ? source['x-forwarded-for'] : undefined;
  out['x-forwarded-for'] = priorFor
    ? `${Array.isArray(priorFor) ? priorFor.join(', ') : priorFor}, ${facts.peer}`
    : facts.peer;
  if (!facts.trusted || !out['x-forwarded-proto']) out['x-forwarded-proto'] = facts.proto;
  if (!facts.trusted || !out['x-forwarded-host']) {
    if (source.host) out['x-forwarded-host'] = source.host;
    else delete out['x-forwarded-host'];
  }
  out['x-request-id'] = facts.requestId;
  if (facts.clientSubject !== undefined) out[clientSubjectHeader] = facts.clientSubject;
  if (facts.upgrade) {
    out.connection = 'upgrade';
    out.upgrade = source.upgrade;
  }
  return out;
}

/**
 * The upstream's response headers for the client as a flat [name, value, …] list (duplicates
 * such as Set-Cookie kept, original case kept), without hop-by-hop headers and without what any
 * of its Connection headers lists. A framing header named there is left to Node, which frames
 * the response for the client itself; the other names listed with it are still removed.
 */
export function clientResponseHeaders(rawHeaders: readonly string[], extra: readonly string[]): string[] {
  let listed: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    // Stryker disable next-line ConditionalExpression: a fast path: only a 10-letter name can be Connection
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    const value = rawHeaders[i + 1]!;
    if (listsNothing(value)) continue;
    addListed(value, (listed ??= new Set()));
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
