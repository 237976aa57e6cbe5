import test from 'ava';
import { launchGateway, startGateway, type RunningGateway } from '../helpers/gateway.ts';
import { chunkedBody, exchange, header, RawClient } from '../helpers/raw-http.ts';
import { startRawUpstream, type RawUpstream } from '../helpers/raw-upstream.ts';

/**
 * Every body the gateway forwards is framed: a buffered body with its exact Content-Length, a
 * streamed one with its Content-Length when the client declared one and with
 * `Transfer-Encoding: chunked` otherwise, for every method, on every try. The upstream (Node's
 * own parser) must parse exactly one request per request sent, with exactly the body sent.
 */

const port = (url: string) => new URL(url).port;

/** A body that is itself a request for `/smuggled/<name>`: sent unframed, an upstream parses it as a second one. */
function bodyOf(size: number, name: string): Buffer {
  const smuggled = `GET /smuggled/${name} HTTP/1.1\r\nHost: x\r\nX-Baton-Epoch: 999\r\n\r\n`;
  return Buffer.from(smuggled.repeat(Math.ceil(size / smuggled.length)).slice(0, size));
}

function requestBytes(method: string, path: string, body: Buffer, framing: 'length' | 'chunked'): Buffer {
  const head = `${method} ${path} HTTP/1.1\r\nHost: framing.test\r\nConnection: close\r\n`;
  if (framing === 'length') return Buffer.concat([Buffer.from(`${head}Content-Length: ${body.length}\r\n\r\n`), body]);
  return Buffer.concat([
    Buffer.from(`${head}Transfer-Encoding: chunked\r\n\r\n`),
    chunkedBody(body, [Math.ceil(body.length / 3)]),
  ]);
}

/** Cases are told apart by their path; nothing else may ever be parsed by an upstream. */
function strangers(...upstreams: RawUpstream[]): string[] {
  return upstreams.flatMap((up) =>
    up
      .requests()
      .filter((r) => !r.url.startsWith('/case/'))
      .map((r) => `${r.method} ${r.url}`),
  );
}
function parseErrors(...upstreams: RawUpstream[]): string[] {
  return upstreams.flatMap((up) => up.connections.flatMap((c) => c.errors));
}

const methods = ['GET', 'HEAD', 'DELETE', 'OPTIONS', 'POST', 'PUT', 'PATCH'] as const;
const BUFFER_LIMIT = 64;
const sizes = { buffered: 40, streamed: 3000 } as const;

let gatewayPort = '';
let gateway: RunningGateway | undefined;
let healthy: RawUpstream;
let failing: RawUpstream;

test.before(async () => {
  healthy = await startRawUpstream();
  // Reads the whole body, then answers 503: an idempotent try is retried on the next node.
  failing = await startRawUpstream((_req, res) => res.writeHead(503, { 'content-length': '4' }).end('busy'));
  const plain = { health: false, passive: false, breaker: false };
  const retry = { bufferBody: BUFFER_LIMIT, nonIdempotent: true };
  gateway = await launchGateway({
    pools: {
      first: { policy: 'round-robin', nodes: [{ url: healthy.url, id: 'healthy' }], retry, ...plain },
      retry: {
        policy: 'round-robin',
        nodes: [
          { url: failing.url, id: 'failing' },
          { url: healthy.url, id: 'healthy', tier: 1 },
        ],
        retry,
        ...plain,
      },
    },
    routes: [
      { path: '/case/first', pool: 'first' },
      { path: '/case/retry', pool: 'retry' },
    ],
  });
  gatewayPort = port(gateway.url);
});

test.after.always(async () => {
  await gateway?.stop();
  await Promise.all([healthy?.close(), failing?.close()]);
});

for (const method of methods) {
  for (const framing of ['length', 'chunked'] as const) {
    for (const size of ['buffered', 'streamed'] as const) {
      for (const attempt of ['first', 'retry'] as const) {
        const name = `${method} ${size} (${framing === 'length' ? 'Content-Length' : 'chunked'}) ${attempt === 'first' ? 'first try' : 'after a retry'}`;
        test(`framed upstream request: ${name}`, async (t) => {
          const path = `/case/${attempt}/${method}-${framing}-${size}`;
          const body = bodyOf(sizes[size], `${attempt}/${method}-${framing}-${size}`);
          const reply = await exchange(gatewayPort, requestBytes(method, path, body, framing), { methods: [method] });
          t.is(reply.error, undefined, 'the client gets a well-formed response');
          // A streamed body cannot be replayed, so the first node's 503 is the answer.
          const retried = attempt === 'retry' && size === 'buffered';
          t.is(reply.responses[0]?.status, attempt === 'retry' && !retried ? 503 : 200);
          const expected = attempt === 'first' ? [healthy] : retried ? [failing, healthy] : [failing];
          for (const up of [healthy, failing]) {
            const seen = up.requests().filter((r) => r.url === path);
            t.is(
              seen.length,
              expected.includes(up) ? 1 : 0,
              `${up === healthy ? 'healthy' : 'failing'} node parses one request per try`,
            );
            for (const request of seen) {
              t.true(request.complete);
              t.is(request.method, method);
              t.true(request.body.equals(body), 'exactly the body sent');
              const length = request.headers['content-length'];
              if (size === 'buffered' || framing === 'length') t.is(length, String(body.length));
              else t.is(request.headers['transfer-encoding'], 'chunked');
            }
          }
          t.deepEqual(
            strangers(healthy, failing).filter((r) => r.includes(`/smuggled/${attempt}/${method}-${framing}-${size}`)),
            [],
          );
        });
      }
    }
  }
}

/** Framing that Node's strict parser or the gateway refuses before anything reaches a node. */
const refused: Array<[name: string, head: string, body: string, status: number]> = [
  ['Content-Length with Transfer-Encoding', 'Content-Length: 5\r\nTransfer-Encoding: chunked', '0\r\n\r\n', 400],
  ['two different Content-Lengths', 'Content-Length: 5\r\nContent-Length: 6', 'hello!', 400],
  ['Transfer-Encoding: chunked twice', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked', '0\r\n\r\n', 400],
  ['Transfer-Encoding: identity', 'Transfer-Encoding: identity', 'hello', 400],
  ['a chunk size that is not hex', 'Transfer-Encoding: chunked', 'zz\r\nhello\r\n0\r\n\r\n', 400],
  ['an obs-folded header', 'X-Folded: a\r\n b', '', 400],
  ['a space before the colon', 'Content-Length : 5', 'hello', 400],
  ['Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: gzip, chunked', '5\r\nhello\r\n0\r\n\r\n', 501],
];

for (const [name, head, body, status] of refused) {
  test(`refused before any node: ${name} (${status})`, async (t) => {
    const path = `/case/first/refused-${name.replace(/\W+/g, '-')}`;
    const reply = await exchange(gatewayPort, `POST ${path} HTTP/1.1\r\nHost: framing.test\r\n${head}\r\n\r\n${body}`, {
      methods: ['POST'],
    });
    t.is(reply.responses[0]?.status, status);
    t.deepEqual(
      healthy.requests().filter((r) => r.url === path),
      [],
    );
  });
}

test('a bare LF line ending is refused (400)', async (t) => {
  const reply = await exchange(gatewayPort, 'GET /case/first/bare-lf HTTP/1.1\nHost: framing.test\n\n', {
    methods: ['GET'],
  });
  t.is(reply.responses[0]?.status, 400);
  t.deepEqual(
    healthy.requests().filter((r) => r.url === '/case/first/bare-lf'),
    [],
  );
});

test.after('no upstream ever parsed a request that was not sent', (t) => {
  t.deepEqual(strangers(healthy, failing), []);
  t.deepEqual(parseErrors(healthy, failing), []);
});

test('a chunked GET cannot smuggle a second request (forged X-Forwarded-For and epoch) to the upstream', async (t) => {
  const up = await startRawUpstream();
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: { policy: 'hot-standby', nodes: [{ url: up.url, id: 'primary' }], health: false } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const inner = 'GET /smuggled-admin HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\nX-Baton-Epoch: 999\r\n\r\n';
  const reply = await exchange(
    port(url),
    `GET /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`,
    {
      methods: ['GET'],
    },
  );
  t.is(reply.responses[0]?.status, 200);
  // Give a smuggled request every chance to be parsed before looking.
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.deepEqual(
    up.requests().map((r) => `${r.method} ${r.url} ${r.body.toString()}`),
    [`GET /hello ${inner}`],
  );
  t.is(up.requests()[0]!.headers['x-baton-epoch'], '1');
  t.deepEqual(parseErrors(up), []);
});

test("a smuggled slow request cannot poison another client's response queue", async (t) => {
  const up = await startRawUpstream((req, res, body) => {
    const answer = () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`answer to ${req.url}`);
    if (req.url === '/slow') setTimeout(answer, 300);
    else answer();
    void body;
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const inner = 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n';
  const attacker = await exchange(
    port(url),
    `GET /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`,
    {
      methods: ['GET'],
    },
  );
  t.is(attacker.responses[0]?.body.toString(), 'answer to /hello');
  // The victim's request goes out on the pooled upstream connection the attacker used.
  const victim = await exchange(port(url), 'GET /victim HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
    methods: ['GET'],
  });
  t.is(victim.responses[0]?.body.toString(), 'answer to /victim');
  t.deepEqual(
    up.requests().map((r) => r.url),
    ['/hello', '/victim'],
  );
});

test('an unsupported transfer coding gets 501 and never reaches an upstream', async (t) => {
  const up = await startRawUpstream();
  t.teardown(() => up.close());
  const { url } = await startGateway(t, {
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [{ path: '/', pool: 'web' }],
  });
  for (const coding of ['gzip, chunked', 'deflate, chunked']) {
    const client = await RawClient.connect(port(url));
    client.write(`POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${coding}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
    const response = await client.response('POST');
    t.is(response.status, 501, coding);
    t.is(JSON.parse(response.body.toString()).error.code, 'UNSUPPORTED_TRANSFER_CODING');
    t.is(header(response, 'connection'), 'close');
    await client.closed;
  }
  t.deepEqual(up.requests(), []);
});
