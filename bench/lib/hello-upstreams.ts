/** Two tiny upstreams in one process: answer every request with a short body. */
import http from 'node:http';

const body = Buffer.from('{"hello":"world"}\n');
const ports: number[] = [];
for (let i = 0; i < 2; i++) {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    ports.push((server.address() as { port: number }).port);
    if (ports.length === 2) process.stdout.write(`listening ${ports.join(' ')}\n`);
  });
}
