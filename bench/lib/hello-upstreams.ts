/**
 * Two tiny upstreams in one process: answer every request with a short body. A request with a
 * body (bench/throughput.ts --post) is read to its end first, as a real service would, so the
 * whole body crosses the proxy; a bodiless GET is answered at once, as before.
 */
import http from 'node:http';

const body = Buffer.from('{"hello":"world"}\n');
const ports: number[] = [];
for (let i = 0; i < 2; i++) {
  const server = http.createServer((req, res) => {
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    };
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return answer();
    req.on('end', answer);
    req.resume();
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    ports.push((server.address() as { port: number }).port);
    if (ports.length === 2) process.stdout.write(`listening ${ports.join(' ')}\n`);
  });
}
