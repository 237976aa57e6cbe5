/**
 * An upstream node of a hot-standby pool that uses X-Baton-Epoch as a fencing token: every
 * write it makes to the shared resource (examples/fencing/ledger.ts) carries the epoch of the
 * request that caused it, and the resource refuses writes from an epoch older than one it has
 * seen. It also refuses, itself, a request with an epoch below the highest this node has
 * served (cheap, and it catches a gateway instance that missed several changes), and one without
 * an epoch (it did not come through the active-passive pool).
 *
 *   GET  /anything   → 200 {node, epoch}
 *   POST /orders     → the ledger's answer: 201 {index, fence}, or 409 when fenced
 *
 *   node --import tsx examples/fencing/app.ts --port 9301 --name primary --ledger http://127.0.0.1:9300
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

export interface App {
  readonly url: string;
  close(): Promise<void>;
}

export async function startApp(options: { name: string; ledger: string; port?: number }): Promise<App> {
  let highest = 0;
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    if (req.url === '/health') return reply(200, { node: options.name });
    const epoch = Number(req.headers['x-baton-epoch']);
    if (!Number.isInteger(epoch) || epoch < 1)
      return reply(400, { error: 'no X-Baton-Epoch: not sent by an active-passive pool' });
    if (epoch < highest) return reply(409, { error: 'stale epoch', epoch, highest, node: options.name });
    highest = epoch;
    if (req.method !== 'POST') return reply(200, { node: options.name, epoch });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      // The epoch travels with the write to where it is enforced.
      const answer = await fetch(`${options.ledger}/entries`, {
        method: 'POST',
        headers: { 'x-fence': String(epoch) },
        body: Buffer.concat(chunks),
      });
      reply(answer.status, { node: options.name, epoch, ledger: await answer.json() });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '9301' },
      name: { type: 'string', default: 'app' },
      ledger: { type: 'string', default: 'http://127.0.0.1:9300' },
    },
  });
  const app = await startApp({ name: values.name, ledger: values.ledger, port: Number(values.port) });
  console.log(`${values.name} on ${app.url}, writing to ${values.ledger}`);
}
