import test from 'ava';
import http from 'node:http';
import type { Writable } from 'node:stream';
import { startGateway } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';

const GiB = 1024 ** 3;
const chunk = Buffer.alloc(1024 * 1024, 7);

/** Writes 1 GiB of 1 MiB chunks, waiting for 'drain' whenever the stream asks to (backpressure). */
function writeGiB(stream: Writable): void {
  let sent = 0;
  const write = () => {
    while (sent < GiB) {
      sent += chunk.length;
      if (!stream.write(chunk)) return void stream.once('drain', write);
    }
    stream.end();
  };
  write();
}

/** Highest RSS seen while `work` runs, sampled every 50 ms. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    return { result: await work(), peak };
  } finally {
    clearInterval(timer);
  }
}

test.serial('a 1 GiB upload streams through with flat memory', async (t) => {
  t.timeout(120_000);
  let received = 0;
  const up = await startUpstream('sink', () => {});
  up.server.removeAllListeners('request');
  up.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.on('data', (c: Buffer) => (received += c.length));
    req.on('end', () => res.end(String(received)));
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { big: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [{ path: '/', pool: 'big', maxBody: false }],
  });
  const before = process.memoryUsage().rss;
  const { result, peak } = await peakRss(
    () =>
      new Promise<string>((resolve, reject) => {
        const req = http.request(`${url}/upload`, { method: 'PUT', headers: { 'content-length': GiB } }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        writeGiB(req);
      }),
  );
  t.is(result, String(GiB));
  const growth = (peak - before) / 1024 / 1024;
  t.log(`RSS growth during 1 GiB upload: ${growth.toFixed(1)} MiB`);
  t.true(growth < 150, `RSS grew by ${growth.toFixed(1)} MiB`);
});

test.serial('a 1 GiB download streams through with flat memory', async (t) => {
  t.timeout(120_000);
  const up = await startUpstream('source', (_req, res) => {
    res.writeHead(200, { 'content-length': GiB });
    writeGiB(res);
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { big: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [{ path: '/', pool: 'big' }],
  });
  const before = process.memoryUsage().rss;
  const { result, peak } = await peakRss(
    () =>
      new Promise<number>((resolve, reject) => {
        http.get(`${url}/download`, (res) => {
          let total = 0;
          res.on('data', (d: Buffer) => (total += d.length));
          res.on('end', () => resolve(total));
          res.on('error', reject);
        });
      }),
  );
  t.is(result, GiB);
  const growth = (peak - before) / 1024 / 1024;
  t.log(`RSS growth during 1 GiB download: ${growth.toFixed(1)} MiB`);
  t.true(growth < 150, `RSS grew by ${growth.toFixed(1)} MiB`);
});
