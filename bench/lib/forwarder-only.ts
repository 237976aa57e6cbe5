/**
 * A/B variant for bench/cpu-per-request.ts: Baton's forwarder (src/proxy) in a plain Node
 * server, with no Koa, no pipeline, no breaker. Shows what our proxy layer costs by itself.
 */
import http from 'node:http';
import { Forwarder } from '../../src/proxy/forwarder.ts';
import { proxyTarget } from '../../src/proxy/target.ts';
import { WebSocketTunnels } from '../../src/proxy/websocket.ts';
import { createAgent } from '../../src/pool/pool.ts';
import type { PoolSettings } from '../../src/config/types.ts';

const targets = process.argv.slice(2).map((u) => proxyTarget(new URL(u)));
// The agent a pool of http:// nodes gets (no TLS settings).
const agent = createAgent({ nodes: [{ url: new URL('http://x') }], tls: undefined } as unknown as PoolSettings);
const forwarder = new Forwarder(new WebSocketTunnels(60_000));
const owner = { holdStatus: () => false, responseHeaders: () => [] };
let next = 0;

export function forwardOnce(req: http.IncomingMessage, res: http.ServerResponse) {
  return forwarder.forward(res, {
    target: targets[next++ % targets.length]!,
    agent,
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    headers: req.headers,
    body: undefined,
    connectTimeoutMs: 2000,
    responseTimeoutMs: 30000,
    sendTimeoutMs: 60000,
    owner,
    tunnel: undefined,
  });
}

if (!process.env.AS_MODULE) {
  const server = http.createServer((req, res) => void forwardOnce(req, res));
  server.listen(0, '127.0.0.1', () =>
    process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`),
  );
}
