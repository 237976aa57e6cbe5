import test from 'ava';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { startGateway } from '../helpers/gateway.ts';
import { closedPort, startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually, request } from '../helpers/http.ts';

// No socket error anywhere in this file may become an uncaught exception.
const uncaught: unknown[] = [];
process.on('uncaughtException', (error) => uncaught.push(error));
test.after.always('no uncaught exceptions', (t) => {
  t.deepEqual(uncaught, []);
});

const pool = (...upstreams: Upstream[]) => ({
  policy: 'round-robin',
  nodes: upstreams.map((u) => ({ url: u.url, id: u.name })),
  health: false,
});

test('proxies GETs round-robin and returns the upstream response', async (t) => {
  const a = await startUpstream('a');
  const b = await startUpstream('b');
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const { url } = await startGateway(t, { pools: { web: pool(a, b) }, routes: [{ path: '/', pool: 'web' }] });
  const nodes = [];
  for (let i = 0; i < 4; i++) {
    const reply = await request(`${url}/hello?x=${i}`);
    t.is(reply.status, 200);
    t.is(reply.json().url, `/hello?x=${i}`);
    t.truthy(reply.headers['x-request-id']);
    nodes.push(reply.json().node);
  }
  t.deepEqual(nodes, ['a', 'b', 'a', 'b']);
});

test('hop-by-hop and Connection-listed headers never cross, in either direction', async (t) => {
  const up = await startUpstream('up', (_req, res) => {
    res.writeHead(200, {
      connection: 'x-up-secret',
      'x-up-secret': 'hidden',
      'keep-alive': 'timeout=77',
      'proxy-authenticate': 'Basic',
      'x-up-visible': 'yes',
      'set-cookie': ['a=1', 'b=2'],
    });
    res.end('ok');
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, { pools: { web: pool(up) }, routes: [{ path: '/', pool: 'web' }] });
  // A chunked body, so that the client may announce a Trailer (Node refuses one otherwise).
  const reply = await request(`${url}/h`, {
    method: 'POST',
    body: 'x',
    headers: {
      'transfer-encoding': 'chunked',
      connection: 'keep-alive, x-secret',
      'x-secret': 'hidden',
      'keep-alive': 'timeout=100',
      'proxy-authorization': 'Basic abc',
      'proxy-connection': 'keep-alive',
      te: 'gzip',
      trailer: 'x-checksum',
      'x-baton-epoch': '999',
      'x-custom': 'kept',
    },
  });
  t.is(reply.status, 200);
  const seen = up.requests[0]!.headers;
  // Every name checked here was sent by the client: its absence upstream is the gateway's doing.
  for (const name of [
    'x-secret',
    'keep-alive',
    'proxy-authorization',
    'proxy-connection',
    'te',
    'trailer',
    'x-baton-epoch',
  ]) {
    t.false(name in seen, `upstream must not receive ${name}`);
  }
  // The upstream connection's own Connection header (the gateway's agent writes one) lists none of the client's names.
  t.notRegex(String(seen.connection ?? ''), /x-secret/i);
  t.is(seen['x-custom'], 'kept');
  for (const name of ['x-up-secret', 'proxy-authenticate'])
    t.false(name in reply.headers, `client must not receive ${name}`);
  // The gateway announces its own keep-alive timeout; the upstream's never passes.
  t.regex(String(reply.headers['keep-alive'] ?? ''), /^timeout=\d+$/);
  t.not(reply.headers['keep-alive'], 'timeout=77');
  t.is(reply.headers['x-up-visible'], 'yes');
  t.deepEqual(reply.headers['set-cookie'], ['a=1', 'b=2']);
});

test('a Connection header naming a framing header is refused', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, { pools: { web: pool(up) }, routes: [{ path: '/', pool: 'web' }] });
  const reply = await request(`${url}/x`, { headers: { connection: 'content-length' } });
  t.is(reply.status, 400);
  t.is(reply.json().error.code, 'BAD_REQUEST');
  t.is(up.requests.length, 0);
});

test('X-Forwarded-* from an untrusted client are replaced, not appended', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, { pools: { web: pool(up) }, routes: [{ path: '/', pool: 'web' }] });
  await request(`${url}/`, {
    headers: {
      host: 'shop.example.com',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-host': 'evil.example.com',
      'x-forwarded-proto': 'https',
      forwarded: 'for=6.6.6.6',
      'x-real-ip': '6.6.6.6',
    },
  });
  const seen = up.requests[0]!.headers;
  t.is(seen['x-forwarded-for'], '127.0.0.1');
  t.is(seen['x-forwarded-host'], 'shop.example.com');
  t.is(seen['x-forwarded-proto'], 'http');
  t.false('forwarded' in seen);
  t.false('x-real-ip' in seen);
  t.is(seen.host, 'shop.example.com', 'the client Host is passed through');
});

test('X-Forwarded-* from a trusted proxy are extended', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    listen: { host: '127.0.0.1', port: 0, trustedProxies: ['loopback'] },
    pools: { web: pool(up) },
    routes: [{ path: '/', pool: 'web' }],
  });
  await request(`${url}/`, {
    headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example.com' },
  });
  const seen = up.requests[0]!.headers;
  t.is(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  t.is(seen['x-forwarded-proto'], 'https');
  t.is(seen['x-forwarded-host'], 'shop.example.com');
});

test('X-Request-Id: a sane client value is kept, anything else replaced', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, { pools: { web: pool(up) }, routes: [{ path: '/', pool: 'web' }] });
  const kept = await request(`${url}/`, { headers: { 'x-request-id': 'req-123.abc' } });
  t.is(kept.headers['x-request-id'], 'req-123.abc');
  t.is(up.requests[0]!.headers['x-request-id'], 'req-123.abc');
  const replaced = await request(`${url}/`, { headers: { 'x-request-id': 'has spaces and <script>' } });
  t.regex(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  t.is(up.requests[1]!.headers['x-request-id'], replaced.headers['x-request-id']);
});

for (const chunked of [false, true]) {
  test(`a 5 MiB upload arrives byte for byte (${chunked ? 'chunked' : 'content-length'})`, async (t) => {
    const up = await startUpstream('up', (_req, res, body) => res.end(createHash('sha256').update(body).digest('hex')));
    t.teardown(() => up.close());
    const { url } = await startGateway(t, { pools: { web: pool(up) }, routes: [{ path: '/', pool: 'web' }] });
    const payload = randomBytes(5 * 1024 * 1024);
    const expected = createHash('sha256').update(payload).digest('hex');
    const reply = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        `${url}/upload`,
        { method: 'POST', headers: chunked ? {} : { 'content-length': payload.length } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      // Several writes so that a chunked upload really arrives in chunks.
      for (let offset = 0; offset < payload.length; offset += 256 * 1024)
        req.write(payload.subarray(offset, offset + 256 * 1024));
      req.end();
    });
    t.is(reply, expected);
  });
}

test('upstream connections are kept alive and reused', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, { pools: { web: pool(up) }, routes: [{ path: '/', pool: 'web' }] });
  for (let i = 0; i < 20; i++) t.is((await request(`${url}/${i}`)).status, 200);
  t.is(up.requests.length, 20);
  t.is(up.connections(), 1);
});

test('a client that disconnects cancels the upstream request within 1 s', async (t) => {
  let upstreamSawClose = 0;
  let received = 0;
  const up = await startUpstream('up', (req) => {
    received = Date.now();
    req.socket.once('close', () => (upstreamSawClose = Date.now()));
    // Never answers.
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, { pools: { web: pool(up) }, routes: [{ path: '/', pool: 'web' }] });
  const aborted = new AbortController();
  const req = http.get(`${url}/slow`, { signal: aborted.signal });
  req.on('error', () => {});
  await eventually(() => up.requests.length >= 1 || received > 0, 10_000);
  const abortedAt = Date.now();
  aborted.abort();
  await eventually(() => upstreamSawClose > 0, 1000);
  t.true(upstreamSawClose - abortedAt < 1000);
});

test('connection refused: 502 with a coded JSON body', async (t) => {
  const port = await closedPort();
  const { url } = await startGateway(t, {
    pools: { web: { policy: 'round-robin', nodes: [{ url: `http://127.0.0.1:${port}` }], health: false } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const reply = await request(`${url}/`);
  t.is(reply.status, 502);
  t.is(reply.headers['content-type'], 'application/json; charset=utf-8');
  t.like(reply.json().error, { code: 'UPSTREAM_CONNECT' });
  t.truthy(reply.json().error.requestId);
});

test('no response in time: 504 with a coded JSON body', async (t) => {
  const up = await startUpstream('up', (_req, res) => {
    const timer = setTimeout(() => res.end('late'), 5000);
    res.on('close', () => clearTimeout(timer));
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: { ...pool(up), timeouts: { response: 150 }, retry: { attempts: 1 } } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const started = Date.now();
  const reply = await request(`${url}/`);
  t.is(reply.status, 504);
  t.is(reply.json().error.code, 'UPSTREAM_TIMEOUT');
  t.true(Date.now() - started < 3000, 'answered at the response timeout, long before the upstream');
});

test('no matching route: 404 with a coded JSON body', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, { pools: { web: pool(up) }, routes: [{ path: '/api', pool: 'web' }] });
  const reply = await request(`${url}/apix`);
  t.is(reply.status, 404);
  t.is(reply.json().error.code, 'NO_ROUTE');
});

test('stripPath: the upstream sees the path without the prefix, query kept', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: pool(up) },
    routes: [{ path: '/api', pool: 'web', stripPath: true }],
  });
  await request(`${url}/api/users?x=1`);
  await request(`${url}/api`);
  t.deepEqual(
    up.requests.map((r) => r.url),
    ['/users?x=1', '/'],
  );
});

test('routing and the upstream see the same canonical path', async (t) => {
  const pub = await startUpstream('public');
  const adm = await startUpstream('admin');
  t.teardown(() => Promise.all([pub.close(), adm.close()]));
  const { url } = await startGateway(t, {
    pools: { pub: pool(pub), adm: pool(adm) },
    routes: [
      { path: '/public', pool: 'pub' },
      { path: '/admin', pool: 'adm' },
    ],
  });
  const reply = await rawRequest(
    url,
    'GET /public/%2e%2e/admin/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  t.regex(reply, /^HTTP\/1.1 200/);
  t.is(pub.requests.length, 0);
  t.deepEqual(
    adm.requests.map((r) => r.url),
    ['/admin/users'],
  );
  const bad = await rawRequest(url, 'GET /public/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.regex(bad, /^HTTP\/1.1 400/);
});

test('a request with two Host headers is refused', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, { pools: { web: pool(up) }, routes: [{ path: '/', pool: 'web' }] });
  const reply = await rawRequest(
    url,
    'GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n',
  );
  t.regex(reply, /^HTTP\/1.1 400/);
  t.is(up.requests.length, 0);
});

test('body limit: 413 before reading when Content-Length says so, and for chunked bodies', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: pool(up) },
    routes: [{ path: '/', pool: 'web', maxBody: '1kb' }],
  });
  const declared = await rawRequest(
    url,
    'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n',
  );
  t.regex(declared, /^HTTP\/1.1 413/);
  const chunked = await request(`${url}/x`, {
    method: 'POST',
    headers: { 'transfer-encoding': 'chunked' },
    body: Buffer.alloc(4096, 1),
  });
  t.is(chunked.status, 413);
  t.is(chunked.json().error.code, 'BODY_TOO_LARGE');
  t.is(up.requests.length, 0);
  const small = await request(`${url}/x`, { method: 'POST', body: 'fits' });
  t.is(small.status, 200);
});

test('an upstream header Node refuses to forward gives 502, not a crash', async (t) => {
  const up = await startUpstream('up', (_req, res) => {
    res.socket!.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Bad: a\u0001b\r\n\r\nok');
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: { ...pool(up), retry: { attempts: 1 } } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const reply = await request(`${url}/`);
  t.is(reply.status, 502);
});

test('an upstream that dies mid-body makes the client connection fail, never a short clean response', async (t) => {
  const up = await startUpstream('up', (_req, res) => {
    res.writeHead(200, { 'content-length': '1000000' });
    res.write(Buffer.alloc(1000, 1));
    setTimeout(() => res.socket!.destroy(), 50);
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, { pools: { web: pool(up) }, routes: [{ path: '/', pool: 'web' }] });
  await t.throwsAsync(request(`${url}/`));
  const chunkedUp = await startUpstream('chunked', (_req, res) => {
    res.writeHead(200);
    res.write('partial');
    setTimeout(() => res.socket!.destroy(), 50);
  });
  t.teardown(() => chunkedUp.close());
  const second = await startGateway(t, { pools: { web: pool(chunkedUp) }, routes: [{ path: '/', pool: 'web' }] });
  await t.throwsAsync(request(`${second.url}/`));
});

test('HEAD, 204 and 304 pass without a body and keep the connection usable', async (t) => {
  const up = await startUpstream('up', (req, res) => {
    if (req.url === '/204') return void res.writeHead(204).end();
    if (req.url === '/304') return void res.writeHead(304, { etag: '"x"' }).end();
    res.writeHead(200, { 'content-length': '5' });
    res.end(req.method === 'HEAD' ? undefined : 'hello');
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, { pools: { web: pool(up) }, routes: [{ path: '/', pool: 'web' }] });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const head = await request(`${url}/x`, { method: 'HEAD', agent });
  t.is(head.status, 200);
  t.is(head.headers['content-length'], '5');
  t.is(head.body, '');
  t.is((await request(`${url}/204`, { agent })).status, 204);
  t.is((await request(`${url}/304`, { agent })).status, 304);
  t.is((await request(`${url}/x`, { agent })).body, 'hello');
});

test('CONNECT and TRACE are refused', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, { pools: { web: pool(up) }, routes: [{ path: '/', pool: 'web' }] });
  t.is((await request(`${url}/`, { method: 'TRACE' })).status, 405);
  t.is(up.requests.length, 0);
});

function rawRequest(url: string, text: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (chunk) => (data += chunk));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

test('a node that never completes the TCP handshake costs one connect timeout, then the retry goes elsewhere', async (t) => {
  // A stopped process whose accept queue is full: the kernel drops further SYNs, so a
  // connect hangs (loopback otherwise answers every SYN at once).
  const child = spawn(
    process.execPath,
    [
      '-e',
      "require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () { console.log(this.address().port); process.kill(process.pid, 'SIGSTOP'); })",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => child.kill('SIGKILL'));
  const silentPort = Number(
    await new Promise<string>((resolve) => child.stdout!.once('data', (d) => resolve(String(d).trim()))),
  );
  const fillers: net.Socket[] = [];
  t.teardown(() => {
    for (const s of fillers) s.destroy();
  });
  for (;;) {
    const socket = net.connect(silentPort, '127.0.0.1');
    socket.on('error', () => {});
    fillers.push(socket);
    // Generous: on a busy machine a connect that does complete can take a while to be seen.
    const connected = await Promise.race([
      new Promise((resolve) => socket.once('connect', () => resolve(true))),
      new Promise((resolve) => setTimeout(() => resolve(false), 1500)),
    ]);
    if (!connected) break;
  }
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const outcomes: string[] = [];
  const { url } = await startGateway(
    t,
    {
      pools: {
        web: {
          policy: 'round-robin',
          nodes: [
            { url: `http://127.0.0.1:${silentPort}`, id: 'silent' },
            { url: up.url, id: 'up', tier: 1 },
          ],
          health: false,
          timeouts: { connect: 300 },
        },
      },
      routes: [{ path: '/', pool: 'web' }],
    },
    { onAttempt: (_pool, node, outcome) => outcomes.push(`${node.id} ${outcome.kind}`) },
  );
  const started = Date.now();
  const reply = await request(`${url}/x`);
  const elapsed = Date.now() - started;
  t.is(reply.status, 200);
  t.deepEqual(outcomes, ['silent connect', 'up ok']);
  t.true(elapsed >= 250 && elapsed < 3000, `answered after ${elapsed}ms`);
});
