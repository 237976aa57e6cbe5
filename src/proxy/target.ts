import http, { type Agent, type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';

/**
 * Where a node is, precomputed once per node, and the one call that opens a request to it.
 * The gateway sends upstream requests with Node's own client (no proxy library in between), so
 * that it decides every header, and with it the framing of every body, itself.
 */

export interface ProxyTarget {
  readonly protocol: string;
  readonly hostname: string;
  readonly port: string;
  /** Base path of the node URL ('' for none), prefixed to every request path. */
  readonly path: string;
}

export function proxyTarget(url: URL): ProxyTarget {
  return {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || (url.protocol === 'https:' ? '443' : '80'),
    path: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
  };
}

/**
 * Opens (but does not send) a request to a node. `path` is the origin-form target the node
 * receives after its base path; `headers` are sent as they are (the client's Host included).
 */
export function upstreamRequest(
  target: ProxyTarget,
  agent: Agent,
  method: string,
  path: string,
  headers: OutgoingHttpHeaders,
): ClientRequest {
  const send = target.protocol === 'https:' ? https.request : http.request;
  return send({
    host: target.hostname,
    port: target.port,
    method,
    path: target.path ? target.path + path : path,
    headers,
    agent,
  });
}
