import test from 'ava';
import { Writable, type Duplex } from 'node:stream';
import { definePlugin, definePolicy } from '../../src/index.ts';
import type { AttemptOutcome } from '../../src/policy/types.ts';
import { createLogger } from '../../src/util/logger.ts';
import { startGateway } from '../helpers/gateway.ts';
import { eventually, request } from '../helpers/http.ts';
import { header, RawClient } from '../helpers/raw-http.ts';
import { startRawUpstream, type RawUpstream } from '../helpers/raw-upstream.ts';
import { closedPort } from '../helpers/upstream.ts';

/**
 * A websocket handshake takes the same path as any request: plugin middleware, the breaker,
 * passive health and policy observation, in-flight accounting, the epoch header, retries, and
 * normally framed answers when it is refused.
 */

const port = (url: string) => new URL(url).port;

function handshake(path = '/ws', extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

/** Accepts the handshake and echoes every byte upper-cased. */
function accept(socket: Duplex): void {
  socket.on('error', () => {});
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
  );
  socket.on('data', (data: Buffer) => socket.write(data.toString().toUpperCase()));
  socket.on('end', () => socket.end());
}

interface WsUpstream extends RawUpstream {
  readonly handshakes: Array<{ url: string; headers: Record<string, unknown> }>;
  readonly open: Set<Duplex>;
}

async function wsUpstream(answer: (socket: Duplex) => void = accept): Promise<WsUpstream> {
  const handshakes: WsUpstream['handshakes'] = [];
  const open = new Set<Duplex>();
  const up = await startRawUpstream(undefined, {
    onUpgrade: (req, socket) => {
      handshakes.push({ url: req.url ?? '', headers: req.headers });
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      answer(socket);
    },
  });
  return Object.assign(up, { handshakes, open });
}

const plain = { health: false, breaker: false };

test('a plugin middleware that answers 401 stops the handshake: a framed 401, never a 101', async (t) => {
  const up = await wsUpstream();
  t.teardown(() => up.close());
  const auth = definePlugin({
    name: 'auth',
    async middleware(ctx, next) {
      if (ctx.get('authorization') !== 'Bearer good') {
        ctx.status = 401;
        ctx.body = { error: 'unauthorized' };
        return;
      }
      await next();
    },
  });
  const { url } = await startGateway(
    t,
    {
      pools: { ws: { policy: 'round-robin', nodes: [{ url: up.url }], ...plain } },
      routes: [{ path: '/ws', pool: 'ws', websocket: true }],
    },
    { plugins: [auth] },
  );
  const refused = await RawClient.connect(port(url));
  refused.write(handshake());
  const answer = await refused.response();
  t.is(answer.status, 401);
  t.is(answer.framing, 'length');
  t.deepEqual(JSON.parse(answer.body.toString()), { error: 'unauthorized' });
  t.is(header(answer, 'connection'), 'close');
  await refused.closed;
  t.is(refused.unread.length, 0, 'nothing after the 401');
  t.deepEqual(up.handshakes, []);

  const allowed = await RawClient.connect(port(url));
  t.teardown(() => allowed.destroy());
  allowed.write(handshake('/ws', 'Authorization: Bearer good\r\n'));
  t.is((await allowed.response()).status, 101);
  allowed.write('hi');
  t.is((await allowed.read(2)).toString(), 'HI');
});

for (const close of ['end', 'reset'] as const) {
  test(`a client that ${close === 'end' ? 'closes' : 'resets'} its own handshake is never a node failure`, async (t) => {
    const up = await wsUpstream((socket) => setTimeout(() => accept(socket), 300));
    t.teardown(() => up.close());
    const outcomes: AttemptOutcome[] = [];
    const { url, gateway } = await startGateway(
      t,
      {
        pools: {
          ws: { policy: 'round-robin', nodes: [{ url: up.url, id: 'only' }], health: false, passive: { failures: 2 } },
        },
        routes: [{ path: '/ws', pool: 'ws', websocket: true }],
      },
      { onAttempt: (_pool, _node, outcome) => outcomes.push(outcome) },
    );
    for (let i = 0; i < 6; i++) {
      const client = await RawClient.connect(port(url));
      client.write(handshake());
      await eventually(() => up.handshakes.length === i + 1, 2000);
      if (close === 'end') client.destroy();
      else client.socket.resetAndDestroy();
      await client.closed;
    }
    await eventually(() => outcomes.length === 6, 2000);
    // A reset is seen at once (aborted); a FIN is only read once the tunnel opens, which then
    // closes at once. Neither is a failure of the node.
    t.deepEqual(
      outcomes.map((o) => o.failed),
      Array(6).fill(false),
    );
    if (close === 'reset')
      t.deepEqual(
        outcomes.map((o) => o.kind),
        Array(6).fill('aborted'),
      );
    const node = gateway.pools.get('ws')!.node('only')!;
    t.true(node.usable);
    t.not(node.local, 'down');
    await eventually(() => node.inflight === 0, 2000);
  });
}

const answers = [
  {
    status: 403,
    bytes: 'HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nConnection: close\r\n\r\ndenied',
    body: 'denied',
    outcome: 'ok',
  },
  {
    status: 404,
    bytes: 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnope\r\n3\r\n!!!\r\n0\r\n\r\n',
    body: 'nope!!!',
    outcome: 'ok',
  },
  {
    status: 500,
    bytes: 'HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nbroken until close',
    body: 'broken until close',
    outcome: 'status',
  },
  { status: 426, bytes: 'HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n', body: '', outcome: 'ok' },
];

for (const answer of answers) {
  test(`an upstream that answers a handshake with ${answer.status} is relayed, framed, and counts as a response`, async (t) => {
    const up = await wsUpstream((socket) => {
      socket.on('error', () => {});
      socket.end(answer.bytes);
    });
    t.teardown(() => up.close());
    const outcomes: AttemptOutcome[] = [];
    const { url } = await startGateway(
      t,
      {
        pools: { ws: { policy: 'round-robin', nodes: [{ url: up.url }], ...plain } },
        routes: [{ path: '/ws', pool: 'ws', websocket: true }],
      },
      { onAttempt: (_pool, _node, outcome) => outcomes.push(outcome) },
    );
    const client = await RawClient.connect(port(url));
    client.write(handshake());
    const response = await client.response();
    t.is(response.status, answer.status);
    t.is(response.body.toString(), answer.body);
    t.not(response.framing, 'close', 'a length or chunks, so the client knows where it ends');
    await client.closed;
    t.like(outcomes, [{ kind: answer.outcome, status: answer.status }]);
  });
}

test('a handshake waits for its answer up to timeouts.response, not timeouts.connect', async (t) => {
  const slow = await wsUpstream((socket) => setTimeout(() => accept(socket), 1000));
  const silent = await wsUpstream(() => {});
  t.teardown(() => Promise.all([slow.close(), silent.close()]));
  const { url } = await startGateway(t, {
    pools: {
      slow: { policy: 'round-robin', nodes: [{ url: slow.url }], timeouts: { connect: 300, response: 5000 }, ...plain },
      silent: {
        policy: 'round-robin',
        nodes: [{ url: silent.url }],
        timeouts: { connect: 3000, response: 300 },
        retry: { attempts: 1 },
        ...plain,
      },
    },
    routes: [
      { path: '/slow', pool: 'slow', websocket: true },
      { path: '/silent', pool: 'silent', websocket: true },
    ],
  });
  const patient = await RawClient.connect(port(url));
  t.teardown(() => patient.destroy());
  patient.write(handshake('/slow'));
  t.is((await patient.response()).status, 101);

  const started = Date.now();
  const waiting = await RawClient.connect(port(url));
  waiting.write(handshake('/silent'));
  const timedOut = await waiting.response();
  t.is(timedOut.status, 504);
  t.is(JSON.parse(timedOut.body.toString()).error.code, 'UPSTREAM_TIMEOUT');
  t.true(Date.now() - started < 2500, 'answered after the response timeout, long before the connect timeout');
});

test('a refused connection is retried on the next node; handshakes count in flight and carry the epoch', async (t) => {
  const dead = await closedPort();
  const up = await wsUpstream();
  t.teardown(() => up.close());
  const { url, gateway } = await startGateway(t, {
    pools: {
      ws: {
        policy: 'hot-standby',
        nodes: [
          { url: `http://127.0.0.1:${dead}`, id: 'dead' },
          { url: up.url, id: 'live', tier: 1 },
        ],
        ...plain,
      },
    },
    routes: [{ path: '/ws', pool: 'ws', websocket: true }],
  });
  const client = await RawClient.connect(port(url));
  t.teardown(() => client.destroy());
  client.write(handshake());
  t.is((await client.response()).status, 101);
  t.truthy(up.handshakes[0]!.headers['x-baton-epoch']);
  t.is(up.handshakes[0]!.headers['x-forwarded-for'], '127.0.0.1');
  t.is(gateway.pools.get('ws')!.node('live')!.inflight, 1);
  client.destroy();
  await eventually(() => gateway.pools.get('ws')!.node('live')!.inflight === 0, 2000);
});

test("handshakes go through the node's breaker and the policy's observe", async (t) => {
  const up = await wsUpstream((socket) => socket.end('HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n'));
  t.teardown(() => up.close());
  const observed: string[] = [];
  const watching = definePolicy({
    name: 'watching',
    create: () => ({
      pick: (pool) => pool.nodes[0],
      observe: (_node, outcome) => void observed.push(`${outcome.kind} ${outcome.status ?? ''}`.trim()),
    }),
  });
  const { url } = await startGateway(
    t,
    {
      pools: {
        ws: {
          policy: 'watching',
          nodes: [{ url: up.url }],
          health: false,
          passive: false,
          breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeout: '1m' },
          retry: { attempts: 1 },
        },
      },
      routes: [{ path: '/ws', pool: 'ws', websocket: true }],
    },
    { plugins: [definePlugin({ name: 'watching-plugin', policies: [watching] })] },
  );
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    const client = await RawClient.connect(port(url));
    client.write(handshake());
    statuses.push((await client.response()).status);
    await client.closed;
  }
  t.deepEqual(statuses, [500, 500, 503], 'the third finds the breaker open');
  t.deepEqual(observed, ['status 500', 'status 500']);
  t.is(up.handshakes.length, 2);
});

test('when a hot-standby pool promotes another node, tunnels to the demoted node are closed', async (t) => {
  const primary = await wsUpstream();
  const standby = await wsUpstream();
  t.teardown(() => Promise.all([primary.close(), standby.close()]));
  const { url, adminUrl } = await startGateway(t, {
    pools: {
      ws: {
        policy: 'hot-standby',
        nodes: [
          { url: primary.url, id: 'primary' },
          { url: standby.url, id: 'standby', tier: 1 },
        ],
        ...plain,
      },
    },
    routes: [{ path: '/ws', pool: 'ws', websocket: true }],
  });
  const before = await RawClient.connect(port(url));
  t.teardown(() => before.destroy());
  before.write(handshake());
  t.is((await before.response()).status, 101);
  t.is(primary.open.size, 1);

  const failover = await request(`${adminUrl}/pools/ws/failover`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  t.is(failover.status, 200);
  const closed = await Promise.race([
    before.closed,
    new Promise((resolve) => setTimeout(() => resolve('still open'), 3000)),
  ]);
  t.not(closed, 'still open');
  await eventually(() => primary.open.size === 0, 2000);

  const after = await RawClient.connect(port(url));
  t.teardown(() => after.destroy());
  after.write(handshake());
  t.is((await after.response()).status, 101);
  t.is(standby.handshakes.length, 1);
  after.write('still');
  t.is((await after.read(5)).toString(), 'STILL');
});

test('a tunnel is one access-log line, written when it closes: status 101, not aborted', async (t) => {
  const up = await wsUpstream();
  t.teardown(() => up.close());
  const lines: Array<Record<string, any>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  const { url } = await startGateway(
    t,
    {
      log: { level: 'info', access: true },
      pools: { ws: { policy: 'round-robin', nodes: [{ url: up.url, id: 'echo' }], ...plain } },
      routes: [{ path: '/ws', pool: 'ws', websocket: true, name: 'sockets' }],
    },
    { logger: createLogger({ level: 'info', destination }) },
  );
  const client = await RawClient.connect(port(url));
  client.write(handshake('/ws', 'X-Request-Id: tunnel-1\r\n'));
  t.is((await client.response()).status, 101);
  client.write('ping');
  t.is((await client.read(4)).toString(), 'PING');
  t.deepEqual(
    lines.filter((l) => l.msg === 'request'),
    [],
    'nothing logged while the tunnel is open',
  );
  client.destroy();
  await eventually(() => lines.some((l) => l.msg === 'request'), 2000);
  t.like(
    lines.find((l) => l.msg === 'request'),
    {
      requestId: 'tunnel-1',
      method: 'GET',
      path: '/ws',
      route: 'sockets',
      node: 'echo',
      attempts: 1,
      status: 101,
      aborted: false,
    },
  );
});
