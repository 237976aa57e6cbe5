/**
 * The baseline: a minimal reverse proxy on raw http-proxy (round-robin over the given
 * upstreams, keep-alive agent), with nothing else. Baton's figures are ratios to this.
 * With XFWD=1 it also sets X-Forwarded-* (http-proxy's xfwd), closer to what Baton sends.
 */
import http from 'node:http';
import httpProxy from 'http-proxy';

const targets = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
const proxy = httpProxy.createProxyServer({ agent, xfwd: process.env.XFWD === '1' });
proxy.on('error', (_error, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
});
let next = 0;
const server = http.createServer((req, res) => proxy.web(req, res, { target: targets[next++ % targets.length] }));
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`));
