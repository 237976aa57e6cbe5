import test from 'ava';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/util/logger.ts';
import { startGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/http.ts';
import { exchange } from '../helpers/raw-http.ts';
import { echoRequest, startRawUpstream } from '../helpers/raw-upstream.ts';

/**
 * Pipelined requests are taken in turn, as NGINX does: Node parses every request a client
 * pipelines at once, but a request is forwarded only when the answers before it are out. An
 * answer that closes the connection (an error with an unread body, `Connection: close`) ends
 * the requests queued behind it: none reaches an upstream (the client never gets their answers,
 * and may send them again), and each is still one access-log line, aborted.
 *
 * Found by the differential fuzzer (bench/fuzz.ts, input seed 992153612): the queued request
 * reached the upstream and never appeared in the access log, and it stayed counted in flight
 * forever (every graceful stop then waited the whole server.drainTimeout).
 */

const port = (url: string) => new URL(url).port;

function collector() {
  const lines: Array<Record<string, any>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

/** `parsed`: Node's parser reads on after the first request (it stops after `Connection: close`). */
const closers: Array<[name: string, first: string, parsed: boolean]> = [
  [
    'a 400 for a request whose body was not read',
    'POST /%zz HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\nContent-Length: 5\r\n\r\nhello',
    true,
  ],
  [
    'a 413 for a body over maxBody',
    `POST /big HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\nContent-Length: 100\r\n\r\n${'b'.repeat(100)}`,
    true,
  ],
  [
    'a request with Connection: close',
    'GET /slow HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\nConnection: close\r\n\r\n',
    false,
  ],
];

for (const [name, first, parsed] of closers) {
  test(`behind ${name}, pipelined requests never reach an upstream and are logged as aborted`, async (t) => {
    const up = await startRawUpstream((req, res, body, request) => {
      if (req.url === '/slow') return void setTimeout(() => echoRequest(req, res, body, request), 200);
      echoRequest(req, res, body, request);
    });
    t.teardown(() => up.close());
    const { lines, logger } = collector();
    const { url, stop } = await startGateway(
      t,
      {
        log: { level: 'info', access: true },
        server: { maxBody: 64, drainTimeout: '60s' },
        pools: { web: { policy: 'round-robin', nodes: [{ url: up.url, id: 'web' }], health: false } },
        routes: [{ path: '/', pool: 'web' }],
      },
      { logger },
    );
    const queued = [
      'DELETE /queued-1 HTTP/1.1\r\nHost: x\r\nX-Request-Id: queued-1\r\n\r\n',
      'POST /queued-2 HTTP/1.1\r\nHost: x\r\nX-Request-Id: queued-2\r\nContent-Length: 3\r\n\r\nabc',
    ];
    const reply = await exchange(port(url), [first + queued.join('')], { timeoutMs: 3000 });
    t.true(reply.closed);
    t.is(reply.error, undefined);
    t.is(reply.responses.length, 1, 'one answer, then the connection closes');
    const ids = parsed ? ['first', 'queued-1', 'queued-2'] : ['first'];
    await eventually(() => lines.filter((l) => l.msg === 'request').length >= ids.length, 3000).catch(() => {});
    const records = lines.filter((l) => l.msg === 'request');
    t.deepEqual(records.map((l) => l.requestId).sort(), ids, 'every request the gateway parsed is one access-log line');
    for (const id of ids.slice(1))
      t.like(
        records.find((l) => l.requestId === id),
        { aborted: true, attempts: 0 },
      );
    // Give a forwarded request every chance to arrive before looking.
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.deepEqual(
      up
        .requests()
        .map((r) => r.url)
        .filter((u) => u.startsWith('/queued')),
      [],
    );
    // A request whose turn never came is not in flight: a graceful stop has nothing to wait for.
    const stopping = Date.now();
    await stop();
    t.true(Date.now() - stopping < 20_000, `stopped after ${Date.now() - stopping} ms, not after server.drainTimeout`);
  });
}

test('pipelined requests are answered in order, and each goes upstream only once the one before is answered', async (t) => {
  const order: string[] = [];
  const up = await startRawUpstream((req, res, body, request) => {
    order.push(`arrive ${req.url}`);
    res.once('finish', () => order.push(`answer ${req.url}`));
    if (req.url === '/slow') return void setTimeout(() => echoRequest(req, res, body, request), 200);
    echoRequest(req, res, body, request);
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const bytes = ['GET /slow', 'POST /b', 'GET /c']
    .map((line) => `${line} HTTP/1.1\r\nHost: x\r\n${line.startsWith('POST') ? 'Content-Length: 2\r\n\r\nhi' : '\r\n'}`)
    .join('');
  const reply = await exchange(port(url), bytes, { methods: ['GET', 'POST', 'GET'] });
  t.is(reply.error, undefined);
  t.deepEqual(
    reply.responses.map((r) => JSON.parse(r.body.toString()).url),
    ['/slow', '/b', '/c'],
  );
  t.deepEqual(order, ['arrive /slow', 'answer /slow', 'arrive /b', 'answer /b', 'arrive /c', 'answer /c']);
});

test('a deep pipeline costs one close listener per connection, not one per queued request', async (t) => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const up = await startRawUpstream();
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const paths = Array.from({ length: 16 }, (_, i) => `/deep/${i}`);
  const reply = await exchange(port(url), paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''), {
    methods: paths.map(() => 'GET'),
    timeoutMs: 10_000,
  });
  t.is(reply.error, undefined);
  t.deepEqual(
    reply.responses.map((r) => JSON.parse(r.body.toString()).url),
    paths,
  );
  // Warnings are emitted on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(
    warnings.filter((w) => w.includes('MaxListeners') || w.includes('memory leak')),
    [],
  );
});
