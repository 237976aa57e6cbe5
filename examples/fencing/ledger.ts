/**
 * The shared resource behind a hot-standby pair (think: the database both nodes write to),
 * reduced to what fencing needs. It remembers the highest fencing token (X-Baton-Epoch, passed
 * on by the app as `X-Fence`) of any write it accepted, and refuses a write that carries a lower
 * one: once a new active node has written, nothing from an older epoch gets in, whichever node
 * or gateway instance sends it. The check and the write are one step (in a real database: one
 * transaction, or a conditional UPDATE; see docs/fencing.md).
 *
 *   POST /entries   X-Fence: <epoch>   body: text   → 201 {index, fence} | 409 {error, fence}
 *   GET  /entries                                    → 200 [{index, fence, text}]
 *
 *   node --import tsx examples/fencing/ledger.ts --port 9300
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

export interface Entry {
  readonly index: number;
  readonly fence: number;
  readonly text: string;
}

export interface Ledger {
  readonly url: string;
  readonly entries: Entry[];
  close(): Promise<void>;
}

export async function startLedger(port = 0): Promise<Ledger> {
  const entries: Entry[] = [];
  let fence = 0;
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    if (req.method === 'GET') return reply(200, entries);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const token = Number(req.headers['x-fence']);
      if (!Number.isInteger(token) || token < 1) return reply(400, { error: 'a write needs X-Fence: <epoch>' });
      // The whole point: compare and record in one step, and never accept a lower token.
      if (token < fence) return reply(409, { error: 'fenced: a newer epoch has written', fence });
      fence = token;
      const entry = { index: entries.length, fence: token, text: Buffer.concat(chunks).toString('utf8') };
      entries.push(entry);
      reply(201, { index: entry.index, fence });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    entries,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '9300' } } });
  const ledger = await startLedger(Number(values.port));
  console.log(`ledger on ${ledger.url}`);
}
