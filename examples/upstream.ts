/**
 * A small upstream for the demo and the tests: answers every request with JSON describing what
 * it received (its name, the path, the request id, the epoch, forwarding headers). `/health`
 * answers 200. Query parameters make it misbehave on demand: `?delay=500` waits, `?status=503`
 * answers with that status.
 *
 *   node --import tsx examples/upstream.ts --port 9101 --name web-1
 */
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    name: { type: 'string', default: 'upstream' },
  },
});

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://upstream');
  if (url.pathname === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const delay = Number(url.searchParams.get('delay') ?? 0);
    const status = Number(url.searchParams.get('status') ?? 200);
    setTimeout(() => {
      const body = JSON.stringify({
        node: values.name,
        method: req.method,
        path: req.url,
        bytes: Buffer.concat(chunks).length,
        requestId: req.headers['x-request-id'],
        epoch: req.headers['x-baton-epoch'],
        forwardedFor: req.headers['x-forwarded-for'],
      });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${body}\n`);
    }, delay);
  });
});

server.listen(Number(values.port), values.host, () => {
  const address = server.address() as { port: number };
  process.stdout.write(`listening ${address.port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
