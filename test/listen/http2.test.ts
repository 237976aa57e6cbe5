import test from 'ava';
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { makePki, type Issued, type TestPki } from '../helpers/certificates.ts';
import { startGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/http.ts';
import { httpsRequest } from '../helpers/https.ts';
import type { Plugin } from '../../src/index.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

let pki: TestPki;
let cert: Issued;
test.before(async () => {
  pki = makePki();
  cert = await pki.server('h2', ['127.0.0.1', 'localhost']);
});
test.after.always(() => pki?.remove());

function config(up: Upstream, extra: Record<string, unknown> = {}) {
  return {
    listen: { host: '127.0.0.1', port: 0, tls: { cert: cert.certFile, key: cert.keyFile } },
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [
      { path: '/ws', pool: 'web', websocket: true },
      { path: '/', pool: 'web' },
    ],
    ...extra,
  };
}

function connect(url: string): http2.ClientHttp2Session {
  const session = http2.connect(url, { ca: pki.ca.cert });
  session.on('error', () => {});
  return session;
}

/** One request on an HTTP/2 session: status, headers and body. */
function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: string,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let data = '';
    let head: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (data += chunk));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: data }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

test('HTTP/1.1 and HTTP/2 requests reach the upstream identically (as HTTP/1.1, Host from :authority)', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, config(up));
  const authority = url.slice('https://'.length);
  const common = { 'x-request-id': 'same-id', 'x-custom': 'a', accept: 'application/json', 'user-agent': 'test' };
  await httpsRequest(`${url}/get?q=1`, { ca: pki.ca.cert, headers: common });
  await httpsRequest(`${url}/post?q=2`, {
    ca: pki.ca.cert,
    method: 'POST',
    headers: { ...common, 'content-type': 'text/plain' },
    body: 'hello body',
  });
  const session = connect(url);
  t.teardown(() => session.close());
  const get = await h2Request(session, { ':method': 'GET', ':path': '/get?q=1', ...common });
  t.is(get.status, 200);
  t.is(get.headers['x-request-id'], 'same-id');
  t.false('connection' in get.headers);
  const post = await h2Request(
    session,
    { ':method': 'POST', ':path': '/post?q=2', ...common, 'content-type': 'text/plain' },
    'hello body',
  );
  t.is(post.status, 200);
  const [h1Get, h1Post, h2Get, h2Post] = up.requests;
  t.is(h1Get!.headers.host, authority);
  for (const [h1, h2, what] of [
    [h1Get!, h2Get!, 'GET'],
    [h1Post!, h2Post!, 'POST'],
  ] as const) {
    t.is(h2.method, h1.method, what);
    t.is(h2.url, h1.url, what);
    t.is(h2.body.toString(), h1.body.toString(), what);
    t.deepEqual(h2.headers, h1.headers, what);
  }
});

test('curl --http2 over TLS negotiates h2 and gets its answer', async (t) => {
  const curl = await promisify(execFile)('curl', ['--version']).then(
    (r) => /HTTP2/.test(r.stdout),
    () => false,
  );
  // CI installs curl (.ci/run): there a missing curl fails instead of passing unseen.
  if (!curl && !process.env.CI) {
    t.log('skipped: curl with HTTP/2 support is not installed');
    t.pass();
    return;
  }
  t.true(curl, 'curl with HTTP/2 support is installed');
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, config(up));
  const result = await promisify(execFile)('curl', [
    '-sS',
    '--http2',
    '--cacert',
    pki.ca.certFile,
    '--max-time',
    '10',
    '-w',
    '\n%{http_version}',
    `${url}/curl?x=1`,
  ]);
  const [body, version] = result.stdout.split('\n');
  t.is(version, '2');
  t.is(JSON.parse(body!).url, '/curl?x=1');
  t.is(up.requests.at(-1)!.headers['x-forwarded-proto'], 'https');
});

test('a stream reset cancels the upstream request, as a client disconnect does', async (t) => {
  let closed = 0;
  const up = await startUpstream('hang', (req, res) => {
    if (req.url === '/hang') req.socket.on('close', () => (closed += 1));
    else res.end('fine');
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, config(up));
  const session = connect(url);
  t.teardown(() => session.close());
  const stream = session.request({ ':path': '/hang' });
  stream.on('error', () => {});
  await eventually(() => up.requests.some((r) => r.url === '/hang'), 10_000);
  stream.close(http2.constants.NGHTTP2_CANCEL);
  await eventually(() => closed === 1, 10_000);
  const other = await h2Request(session, { ':path': '/fine' });
  t.is(other.status, 200, 'the connection and its other streams go on');
  t.is(other.body, 'fine');
});

test('rapid reset (CVE-2023-44487): a client that opens and cancels streams in a loop is cut off; another client keeps being served', async (t) => {
  t.timeout(30_000);
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(
    t,
    config(up, { server: { drainTimeout: '1s', http2: { maxResets: 50, floodWindow: '10s' } } }),
  );
  const attacker = connect(url);
  const victim = connect(url);
  t.teardown(() => {
    attacker.destroy();
    victim.close();
  });
  await new Promise((resolve) => attacker.once('connect', resolve));
  let cut = false;
  const goaway = new Promise<number>((resolve) => attacker.once('goaway', (code) => resolve(code)));
  const closedAttacker = new Promise<void>((resolve) => attacker.once('close', () => resolve()));
  void goaway.then(() => (cut = true));
  let sent = 0;
  // Well below nghttp2's own reset limit (1000 in a burst): what cuts this client off is Baton's.
  while (!cut && !attacker.destroyed && sent < 300) {
    const stream = attacker.request({ ':path': `/r${sent}` });
    stream.on('error', () => {});
    stream.close(http2.constants.NGHTTP2_CANCEL);
    sent += 1;
    if (sent % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.is(await goaway, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  await closedAttacker;
  t.true(sent < 300, `cut off after ${sent} resets`);
  const served = await h2Request(victim, { ':path': '/still-served' });
  t.is(served.status, 200);
});

test('a PING flood is cut off', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, config(up, { server: { drainTimeout: '1s', http2: { maxPings: 20 } } }));
  const session = connect(url);
  t.teardown(() => session.destroy());
  await new Promise((resolve) => session.once('connect', resolve));
  const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
  for (let i = 0; i < 40 && !session.destroyed; i++) {
    session.ping(Buffer.alloc(8, i), () => {});
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  t.is(await goaway, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
});

test('websockets keep working over HTTP/1.1 on the TLS port that offers h2', async (t) => {
  const net = await import('node:net');
  const http = await import('node:http');
  const server = http.createServer();
  server.on('upgrade', (_req, socket: import('node:net').Socket) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: test\r\n\r\n',
    );
    socket.on('data', (data) => socket.write(data.toString().toUpperCase()));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const upUrl = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
  const { url } = await startGateway(t, config({ url: upUrl } as Upstream));
  void net;
  const socket = tls.connect({
    host: '127.0.0.1',
    port: Number(new URL(url).port),
    ca: pki.ca.cert,
    ALPNProtocols: ['http/1.1'],
  });
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  socket.write(
    'GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  const head = await new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString())));
  t.regex(head, /^HTTP\/1\.1 101 /);
  socket.write('hello');
  const echoed = await new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString())));
  t.is(echoed, 'HELLO');
});

test('an answer the upstream breaks off mid-body is reset with INTERNAL_ERROR, not counted as the client’s reset', async (t) => {
  // Each answer starts, then the upstream's connection is destroyed: the gateway can only reset
  // the client's stream, and must not let it end cleanly (a client would take the short body
  // for the whole). A client that sees more than maxResets of these did nothing wrong.
  const up = await startUpstream('dies-mid-body', (_req, res) => {
    res.writeHead(200, { 'transfer-encoding': 'chunked' });
    res.write('partial');
    setTimeout(() => res.socket?.destroy(), 5);
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(
    t,
    config(up, { server: { drainTimeout: '1s', http2: { maxResets: 3, floodWindow: '10s' } } }),
  );
  const session = connect(url);
  t.teardown(() => session.destroy());
  let goaway: number | undefined;
  session.on('goaway', (code) => (goaway = code));
  for (let i = 0; i < 8; i++) {
    const stream = session.request({ ':path': `/cut-${i}` });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    let ended = false;
    stream.on('end', () => (ended = true));
    stream.on('error', () => {});
    await new Promise((resolve) => stream.once('close', resolve));
    t.is(body, 'partial', `request ${i}: the part that came`);
    t.false(ended, `request ${i}: no clean end`);
    t.is(stream.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR, `request ${i}: reset as incomplete`);
  }
  t.is(goaway, undefined, 'no GOAWAY for resets the gateway made');
  t.false(session.destroyed || session.closed, 'the connection goes on');
});

test('an error after the answer started (a plugin that throws mid-body) resets the stream with INTERNAL_ERROR', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const throwsMidBody: Plugin = {
    name: 'throws-mid-body',
    async middleware(ctx) {
      ctx.res.writeHead(200, { 'content-type': 'text/plain' });
      ctx.res.write('started');
      throw new Error('the plugin failed after its answer started');
    },
  };
  const { url } = await startGateway(t, config(up, { server: { drainTimeout: '1s' } }), { plugins: [throwsMidBody] });
  const session = connect(url);
  t.teardown(() => session.destroy());
  const stream = session.request({ ':path': '/x' });
  let body = '';
  let ended = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (body += chunk));
  stream.on('end', () => (ended = true));
  stream.on('error', () => {});
  await new Promise((resolve) => stream.once('close', resolve));
  t.is(body, 'started');
  t.false(ended, 'no clean end');
  t.is(stream.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
  t.false(session.destroyed || session.closed, 'the connection goes on');
});
