import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { startGateway } from '../helpers/gateway.ts';
import { exchange, RawClient } from '../helpers/raw-http.ts';
import { echoRequest, sha256, startRawUpstream } from '../helpers/raw-upstream.ts';

/**
 * Upgrades other than a websocket handshake on a `websocket: true` route are plain HTTP/1.1
 * requests (as NGINX does): `Upgrade`, `HTTP2-Settings` and the Connection tokens naming them
 * are removed, the body is read and forwarded, and the connection stays usable.
 */

const port = (url: string) => new URL(url).port;
const settings = 'AAMAAABkAAQAoAAAAAIAAAAA';

async function setup(t: ExecutionContext) {
  const up = await startRawUpstream((req, res, body) => {
    if (req.url === '/slow') return void setTimeout(() => echoRequest(req, res, body, undefined as never), 200);
    echoRequest(req, res, body, undefined as never);
  });
  t.teardown(() => up.close());
  const gateway = await startGateway(t, {
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [
      { path: '/ws', pool: 'web', websocket: true },
      { path: '/', pool: 'web' },
    ],
  });
  return { up, gateway, port: port(gateway.url) };
}

const cases = [
  {
    name: 'h2c GET, as curl --http2 sends it',
    bytes: `GET /h2c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: ${settings}\r\n\r\n`,
    method: 'GET',
    body: '',
  },
  {
    name: 'h2c POST with a Content-Length body',
    bytes: `POST /h2c HTTP/1.1\r\nHost: x\r\nConnection: HTTP2-Settings, Upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: ${settings}\r\nContent-Length: 11\r\n\r\nhello world`,
    method: 'POST',
    body: 'hello world',
  },
  {
    name: 'h2c POST with a chunked body',
    bytes: `POST /h2c HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: h2c\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`,
    method: 'POST',
    body: 'hello world',
  },
  {
    name: 'an unknown protocol on a websocket route',
    bytes: 'GET /ws/x HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: foo/2\r\n\r\n',
    method: 'GET',
    body: '',
  },
  // A handshake has no body (RFC 6455 §4.1). One that declares a body is a plain request, body
  // included: read as tunnel data instead, the upstream got a GET without the body the client
  // sent. Found by the differential fuzzer (bench/fuzz.ts, input seeds 3437654019, 3437654283).
  {
    name: 'a websocket GET with a Content-Length body on a websocket route',
    bytes:
      'GET /ws/x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 5\r\n\r\nhello',
    method: 'GET',
    body: 'hello',
  },
  {
    name: 'a websocket GET with a chunked body on a plain route',
    bytes:
      'GET /plain HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    method: 'GET',
    body: 'hello',
  },
  {
    name: 'a websocket upgrade with POST',
    bytes: 'POST /ws/x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\nhi',
    method: 'POST',
    body: 'hi',
  },
];

for (const c of cases) {
  test(`plain request: ${c.name}`, async (t) => {
    const { up, port } = await setup(t);
    const client = await RawClient.connect(port);
    t.teardown(() => client.destroy());
    client.write(c.bytes);
    const response = await client.response(c.method);
    t.is(response.status, 200);
    const seen = up.requests();
    t.is(seen.length, 1);
    t.is(seen[0]!.method, c.method);
    t.is(seen[0]!.body.toString(), c.body);
    t.false('upgrade' in seen[0]!.headers);
    t.false('http2-settings' in seen[0]!.headers);
    t.false(/upgrade|http2-settings/i.test(String(seen[0]!.headers.connection ?? '')));
    // The connection is still an HTTP/1.1 connection.
    client.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    const next = await client.response();
    t.is(next.status, 200);
    t.is(JSON.parse(next.body.toString()).url, '/next');
  });
}

test('pipelined behind a slow request, an h2c request is answered in order, and so is what follows it', async (t) => {
  const { port } = await setup(t);
  const reply = await exchange(
    port,
    'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n' +
      'POST /h2c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 3\r\n\r\nabc' +
      'GET /h2c-again HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n' +
      'GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    { methods: ['GET', 'POST', 'GET', 'GET'] },
  );
  t.is(reply.error, undefined);
  t.deepEqual(
    reply.responses.map(
      (r) => `${r.status} ${JSON.parse(r.body.toString()).url} ${JSON.parse(r.body.toString()).bytes}`,
    ),
    ['200 /slow 0', '200 /h2c 3', '200 /h2c-again 0', '200 /last 0'],
  );
});

test('pipelined behind a slow request, a websocket handshake waits for its turn', async (t) => {
  const { port } = await setup(t);
  // This upstream has no websocket support: it answers the handshake as a plain GET.
  const reply = await exchange(
    port,
    'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /ws/chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    { methods: ['GET', 'GET'] },
  );
  t.is(reply.error, undefined);
  t.deepEqual(
    reply.responses.map((r) => `${r.status} ${JSON.parse(r.body.toString()).url}`),
    ['200 /slow', '200 /ws/chat'],
  );
});

test('a websocket handshake on a route without websocket: true is a plain request without Upgrade', async (t) => {
  const { up, port } = await setup(t);
  const client = await RawClient.connect(port);
  client.write(
    'GET /plain HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  const response = await client.response();
  t.is(response.status, 200);
  t.is(JSON.parse(response.body.toString()).url, '/plain');
  await client.closed;
  const [seen] = up.requests();
  t.is(seen?.method, 'GET');
  t.is(seen?.headers.upgrade, undefined);
  t.false(/upgrade/i.test(String(seen?.headers.connection ?? '')));
});

test('a websocket handshake without Host is refused like any HTTP/1.1 request without Host', async (t) => {
  const { up, port } = await setup(t);
  const client = await RawClient.connect(port);
  client.write(
    'GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  t.is((await client.response()).status, 400);
  await client.closed;
  t.deepEqual(up.requests(), []);
});

test('curl --http2 on http:// falls back to HTTP/1.1 and gets its answer', async (t) => {
  const curl = await promisify(execFile)('curl', ['--version']).then(
    (out) => /\bHTTP2\b/.test(out.stdout),
    () => false,
  );
  // CI installs curl (.ci/run): there a missing curl fails instead of passing unseen.
  if (!curl && !process.env.CI) {
    t.log('skipped: curl with HTTP/2 support is not installed');
    return t.pass();
  }
  t.true(curl, 'curl with HTTP/2 support is installed');
  const { up, port } = await setup(t);
  const run = promisify(execFile);
  const get = await run('curl', ['-sS', '--http2', '--max-time', '5', `http://127.0.0.1:${port}/curl-get`]);
  t.is(JSON.parse(get.stdout).url, '/curl-get');
  const post = await run('curl', [
    '-sS',
    '--http2',
    '--max-time',
    '5',
    '--data-binary',
    'curl body',
    `http://127.0.0.1:${port}/curl-post`,
  ]);
  t.is(JSON.parse(post.stdout).sha256, sha256('curl body'));
  t.is(up.requests().length, 2);
  t.false(up.requests().some((r) => 'upgrade' in r.headers || 'http2-settings' in r.headers));
});

test("Node's server, pinned: with an 'upgrade' listener, nothing after an upgrade request's head is parsed", async (t) => {
  // What src/pipeline/upgrade.ts is built on: the body and any pipelined request arrive as
  // the raw `head` of the 'upgrade' event, and no 'request' event ever comes for them.
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`request ${req.url}`);
    res.end();
  });
  let head = '';
  server.on('upgrade', (req, socket, rest: Buffer) => {
    seen.push(`upgrade ${req.url}`);
    head = rest.toString();
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await exchange(
    (server.address() as AddressInfo).port,
    'POST /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\nHost: x\r\n\r\n',
  );
  t.deepEqual(seen, ['upgrade /x']);
  t.is(head, 'helloGET /next HTTP/1.1\r\nHost: x\r\n\r\n');
});
