import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { acceptRequestId, upstreamHeaders } from '../proxy/headers.ts';
import { rejectHandshake, type WebSocketTunnels } from '../proxy/websocket.ts';
import { canonicalTarget } from '../routing/canonical-path.ts';
import { stripPrefix } from '../routing/router.ts';
import type { UpstreamNode } from '../pool/upstream-node.ts';
import type { Clock } from '../util/clock.ts';
import type { Runtime } from './state.ts';

export interface UpgradeDeps {
  readonly runtime: () => Runtime;
  readonly tunnels: WebSocketTunnels;
  readonly clock: Clock;
  readonly draining: () => boolean;
  /** A tunnel with no traffic for this long is closed. */
  readonly idleTimeoutMs: number;
}

/**
 * Websocket handshakes (the server's 'upgrade' event; Koa never sees them). Only routes with
 * `websocket: true` accept them. The node is picked by the pool's policy like any request;
 * the tunnel then counts as one in-flight request on that node until it closes.
 */
export function upgradeHandler(deps: UpgradeDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    // No socket error may ever become an uncaught exception.
    socket.on('error', () => socket.destroy());
    const requestId = acceptRequestId(req.headers['x-request-id']) ?? randomUUID();
    if (deps.draining()) return rejectHandshake(socket, 'SHUTTING_DOWN', requestId);
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || req.method !== 'GET') {
      return rejectHandshake(socket, 'BAD_REQUEST', requestId);
    }
    const canonical = canonicalTarget(req.url ?? '');
    if (!canonical) return rejectHandshake(socket, 'BAD_REQUEST', requestId);
    const runtime = deps.runtime();
    const route = runtime.router.match(req.headers.host, canonical.path, 'GET');
    if (!route || !route.websocket) return rejectHandshake(socket, 'NO_ROUTE', requestId);
    const pool = runtime.pools.get(route.pool);
    if (!pool) return rejectHandshake(socket, 'INTERNAL', requestId);
    const clientIp = runtime.trusted.clientAddress(req);
    const node = pool.policy.pick(pool, {
      method: 'GET',
      path: canonical.path,
      headers: req.headers,
      clientIp,
      attempt: 1,
      tried: new Set(),
      now: deps.clock.now(),
    }) as UpstreamNode | undefined;
    if (!node || !node.usable || pool.node(node.id) !== node) return rejectHandshake(socket, 'NO_NODE_AVAILABLE', requestId);
    const headers = upstreamHeaders(req, {
      peer: req.socket.remoteAddress ?? '',
      trusted: runtime.trusted.trusts(req.socket.remoteAddress),
      proto: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      requestId,
      upgrade: true,
    });
    if (!headers) return rejectHandshake(socket, 'BAD_REQUEST', requestId);
    if (pool.epoch !== null) headers['x-baton-epoch'] = String(pool.epoch);
    req.headers = headers;
    req.url = (route.stripPath ? stripPrefix(route.path, canonical.path) : canonical.path) + canonical.query;
    node.inflight += 1;
    socket.once('close', () => (node.inflight -= 1));
    const started = performance.now();
    void deps.tunnels
      .open(req, socket, head, {
        target: node.target,
        agent: pool.agent,
        connectTimeoutMs: pool.settings.timeouts.connectMs,
        idleTimeoutMs: deps.idleTimeoutMs,
        requestId,
      })
      .then((outcome) => {
        const latencyMs = performance.now() - started;
        node.observe(
          outcome.ok
            ? { kind: 'ok', status: 101, failed: false, latencyMs }
            : { kind: outcome.kind, failed: true, latencyMs, detail: outcome.detail },
        );
      });
  };
}
