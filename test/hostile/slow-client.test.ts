import test from 'ava';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/http.ts';
import { header, parseResponses, RawClient } from '../helpers/raw-http.ts';

/**
 * Bodies and slow peers end cleanly: a body that turns out too large ends the exchange at
 * once, a client that reads slowly is not mistaken for a stalled upstream, a client that stops
 * reading is cut off after server.sendTimeout, and a slow upload is not cut off by the
 * upstream's response timeout.
 */

const port = (url: string) => new URL(url).port;
const MiB = 1024 * 1024;

interface Plain {
  readonly url: string;
  /** Upstream sockets that closed (the gateway released or aborted them). */
  readonly closedSockets: () => number;
  close(): Promise<void>;
}

async function plainUpstream(handler: http.RequestListener): Promise<Plain> {
  let closed = 0;
  const server = http.createServer(handler);
  server.on('connection', (socket) => {
    socket.on('error', () => {});
    socket.on('close', () => (closed += 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    closedSockets: () => closed,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** 20 MiB of deterministic bytes, and their hash. */
const big = Buffer.alloc(20 * MiB);
for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
const bigHash = createHash('sha256').update(big).digest('hex');

test('a streamed body that passes maxBody after the upstream started answering ends the client connection at once', async (t) => {
  let upstreamAborted = false;
  const up = await plainUpstream((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('started');
    req.on('error', () => {});
    req.on('close', () => (upstreamAborted = !req.complete));
    req.resume();
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false, retry: { bufferBody: 0 } } },
    routes: [{ path: '/', pool: 'web', maxBody: '4kb' }],
  });
  const client = await RawClient.connect(port(url));
  t.teardown(() => client.destroy());
  client.write(`POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'a'.repeat(1024)}\r\n`);
  await eventually(() => client.received.includes('started'), 3000);
  const chunk = `400\r\n${'b'.repeat(1024)}\r\n`;
  for (let i = 0; i < 5 && !client.isClosed; i++) {
    client.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const closed = await Promise.race([
    client.closed,
    new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 3000)),
  ]);
  t.not(closed, 'hung', 'the gateway ends the connection');
  const parsed = parseResponses(client.received, { methods: ['POST'], ended: true });
  t.deepEqual(parsed.responses, [], 'never a clean-looking complete response');
  await eventually(() => upstreamAborted, 2000);
});

test('a streamed body that passes maxBody before the upstream answers gets 413 and the connection closes', async (t) => {
  const up = await plainUpstream((req, res) => {
    req.resume();
    req.on('error', () => {});
    req.on('end', () => res.end('done'));
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false, retry: { bufferBody: 0 } } },
    routes: [{ path: '/', pool: 'web', maxBody: '4kb' }],
  });
  const client = await RawClient.connect(port(url));
  t.teardown(() => client.destroy());
  client.write('POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
  const chunk = `400\r\n${'b'.repeat(1024)}\r\n`;
  for (let i = 0; i < 6 && !client.isClosed; i++) client.write(chunk);
  const response = await client.response('POST');
  t.is(response.status, 413);
  t.is(header(response, 'connection'), 'close');
  await client.closed;
});

test('a client that reads slowly gets the whole response: its pauses are not an upstream stall', async (t) => {
  const up = await plainUpstream((_req, res) => {
    res.writeHead(200, { 'content-length': big.length });
    res.end(big);
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false, timeouts: { response: 500 } } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const body = await new Promise<Buffer>((resolve, reject) => {
    http
      .get(`${url}/big`, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let paused = false;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (!paused && size > MiB) {
            paused = true;
            res.pause();
            setTimeout(() => res.resume(), 2500); // five response timeouts
          }
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  t.is(body.length, big.length);
  t.is(createHash('sha256').update(body).digest('hex'), bigHash);
});

test('a client that stops reading is cut off after server.sendTimeout, and the upstream is released', async (t) => {
  const up = await plainUpstream((_req, res) => {
    res.writeHead(200, { 'content-length': big.length });
    res.end(big);
  });
  t.teardown(() => up.close());
  const outcomes: string[] = [];
  const { url, gateway } = await startGateway(
    t,
    {
      server: { sendTimeout: 500, drainTimeout: '1s' },
      pools: {
        web: { policy: 'round-robin', nodes: [{ url: up.url, id: 'up' }], health: false, timeouts: { response: 300 } },
      },
      routes: [{ path: '/', pool: 'web' }],
    },
    { onAttempt: (_pool, _node, outcome) => outcomes.push(outcome.kind) },
  );
  let pausedAt = 0;
  let resume = () => {};
  const ended = new Promise<string>((resolve) => {
    const req = http.get(`${url}/big`, { agent: false }, (res) => {
      res.once('data', () => {
        res.pause(); // and reads nothing more until the test says so
        pausedAt = Date.now();
      });
      resume = () => res.resume();
      res.on('error', () => resolve('error'));
      res.on('close', () => resolve(res.complete ? 'complete' : 'cut'));
    });
    req.on('error', () => resolve('error'));
  });
  // A paused client cannot notice anything; the gateway's side shows the cut: the upstream
  // connection is released while the client still sits on its paused response.
  await eventually(() => up.closedSockets() >= 1, 5000);
  const cutAfter = Date.now() - pausedAt;
  t.true(pausedAt > 0 && cutAfter >= 400 && cutAfter < 4000, `cut ${cutAfter}ms after the client stopped reading`);
  resume();
  t.not(await ended, 'complete', 'the client gets a broken response, never all of it');
  t.deepEqual(outcomes, ['ok']);
  t.true(gateway.pools.get('web')!.node('up')!.usable);
});

test('an upstream that stalls while the client keeps up is still cut off after timeouts.response', async (t) => {
  const up = await plainUpstream((_req, res) => {
    res.writeHead(200, { 'content-length': '100000' });
    res.write(Buffer.alloc(1000, 1));
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false, timeouts: { response: 300 } } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const started = Date.now();
  const client = await RawClient.connect(port(url));
  client.write('GET /stall HTTP/1.1\r\nHost: x\r\n\r\n');
  await client.closed;
  t.true(Date.now() - started < 3000);
  t.deepEqual(
    parseResponses(client.received, { ended: true }).responses,
    [],
    'a short body is never passed off as complete',
  );
});

test('a slow upload is not cut off by the response timeout, which starts once the request is sent', async (t) => {
  const up = await plainUpstream((req, res) => {
    let size = 0;
    req.on('data', (chunk: Buffer) => (size += chunk.length));
    req.on('end', () => res.end(String(size)));
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: {
      web: {
        policy: 'round-robin',
        nodes: [{ url: up.url }],
        health: false,
        timeouts: { response: 400 },
        retry: { bufferBody: 0 },
      },
    },
    routes: [{ path: '/', pool: 'web' }],
  });
  const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(`${url}/upload`, { method: 'POST', agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    let sent = 0;
    const tick = setInterval(() => {
      req.write(Buffer.alloc(1000, 7));
      if (++sent === 8) {
        clearInterval(tick);
        req.end();
      }
    }, 150);
  });
  t.deepEqual(reply, { status: 200, body: '8000' });
});

test('an upstream that stops taking the request body is timed out after timeouts.response', async (t) => {
  const up = await plainUpstream((req) => req.pause()); // never reads, never answers
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: {
      web: {
        policy: 'round-robin',
        nodes: [{ url: up.url }],
        health: false,
        timeouts: { response: 300 },
        retry: { bufferBody: 0 },
      },
    },
    routes: [{ path: '/', pool: 'web', maxBody: false }],
  });
  const started = Date.now();
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(`${url}/upload`, { method: 'POST', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(256 * 1024, 1);
    // Keeps uploading for as long as anyone takes the bytes.
    const pump = () => {
      while (!req.destroyed && req.write(chunk));
    };
    req.on('drain', pump);
    pump();
  });
  t.is(status, 504);
  t.true(Date.now() - started < 10_000);
});
