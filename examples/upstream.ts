/**
 * A small upstream for the demo, the tests and the benchmarks. It answers every request with
 * JSON describing what it received (its name, the path, the request id, the epoch, the
 * forwarding headers); `/health` answers 200.
 *
 * It can misbehave, to show what the gateway does about it. The mode is set with `--mode` or
 * at run time by writing a line such as `mode hang` to its stdin:
 *   ok            answer normally
 *   hang          accept connections and requests, never answer
 *   status:503    answer every request (health included) with that status
 *   junk          answer with bytes that are not HTTP
 *   empty         close the connection without answering
 *   slow:300      answer after 300 ms
 * Per request, `?delay=500` waits and `?status=503` answers with that status.
 * `--log-requests` prints `REQ <method> <request id> <path> <epoch>` for every request (tests
 * count deliveries with it; the epoch is the X-Baton-Epoch header, `-` without one).
 *
 *   node --import tsx examples/upstream.ts --port 9101 --name web-1
 */
import http from 'node:http';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    name: { type: 'string', default: 'upstream' },
    mode: { type: 'string', default: 'ok' },
    'log-requests': { type: 'boolean', default: false },
  },
});

let mode = values.mode;

function misbehave(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const [kind, arg] = mode.split(':');
  switch (kind) {
    case 'hang':
      return true;
    case 'junk':
      res.socket?.end('THIS IS NOT HTTP\r\n\r\n');
      return true;
    case 'empty':
      res.socket?.destroy();
      return true;
    case 'status':
      res.writeHead(Number(arg), { 'content-type': 'application/json' });
      res.end(JSON.stringify({ node: values.name, mode }));
      return true;
    case 'slow':
      setTimeout(() => answer(req, res, []), Number(arg));
      return true;
    default:
      return false;
  }
}

function answer(req: http.IncomingMessage, res: http.ServerResponse, chunks: Buffer[]): void {
  const url = new URL(req.url ?? '/', 'http://upstream');
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
}

const server = http.createServer((req, res) => {
  res.on('error', () => {});
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('error', () => {});
  req.on('end', () => {
    if (values['log-requests'] && req.url !== '/health') {
      process.stdout.write(
        `REQ ${req.method} ${req.headers['x-request-id'] ?? '-'} ${req.url} ${req.headers['x-baton-epoch'] ?? '-'}\n`,
      );
    }
    if (misbehave(req, res)) return;
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    answer(req, res, chunks);
  });
});
server.on('connection', (socket) => socket.on('error', () => {}));

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, value] = line.trim().split(/\s+/);
  if (command === 'mode' && value) {
    mode = value;
    process.stdout.write(`MODE ${mode}\n`);
  }
});

server.listen(Number(values.port), values.host, () => {
  const address = server.address() as { port: number };
  process.stdout.write(`listening ${address.port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
