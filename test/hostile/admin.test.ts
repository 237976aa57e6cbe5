import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import { startGateway, type RunningGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/http.ts';
import { rawRequest } from '../helpers/raw-request.ts';
import { startUpstream } from '../helpers/upstream.ts';

// The admin API cannot be driven from a browser: a web page cannot POST to it (CSRF with a
// CORS "simple" request), a DNS-rebound name cannot read it, a client that never reads its
// event stream cannot grow the gateway's memory, and a slow client cannot hold its sockets.

async function setup(
  t: ExecutionContext,
  admin: Record<string, unknown> = {},
  server: Record<string, unknown> = {},
): Promise<RunningGateway & { adminPort: string }> {
  const up = await startUpstream('a');
  t.teardown(() => up.close());
  const running = await startGateway(t, {
    admin: { port: 0, ...admin },
    server: { drainTimeout: '1s', ...server },
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url, id: 'a' }], health: false } },
    routes: [{ pool: 'web' }],
  });
  return { ...running, adminPort: new URL(running.adminUrl).port };
}

const drained = (running: RunningGateway) => running.gateway.status().pools.web!.nodes[0]!.draining;

/** [what, extra header lines, body, expected status, expected code]. */
type MutatingCase = [name: string, headers: string[], body: string, status: number, code?: string];

const mutating = (self: string): MutatingCase[] => [
  [
    'a page elsewhere posts text/plain (a CORS simple request)',
    ['Origin: http://evil.example', 'Content-Type: text/plain'],
    'x',
    403,
    'CROSS_ORIGIN',
  ],
  [
    'a page elsewhere posts a form',
    ['Origin: http://evil.example', 'Content-Type: application/x-www-form-urlencoded'],
    'a=1',
    403,
    'CROSS_ORIGIN',
  ],
  ['a page elsewhere posts with no body (fetch no-cors)', ['Origin: http://evil.example'], '', 403, 'CROSS_ORIGIN'],
  [
    'a page elsewhere even with a JSON type',
    ['Origin: http://evil.example', 'Content-Type: application/json'],
    '{}',
    403,
    'CROSS_ORIGIN',
  ],
  ['a sandboxed or file: page (Origin: null)', ['Origin: null'], '', 403, 'CROSS_ORIGIN'],
  [
    'a page on the data port (same site, other origin)',
    ['Origin: http://127.0.0.1:8080', 'Sec-Fetch-Site: same-site'],
    '',
    403,
    'CROSS_ORIGIN',
  ],
  ['Sec-Fetch-Site: cross-site without Origin', ['Sec-Fetch-Site: cross-site'], '', 403, 'CROSS_ORIGIN'],
  ['no Origin, text/plain (an old browser)', ['Content-Type: text/plain'], 'x', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ['no Origin, a form', ['Content-Type: application/x-www-form-urlencoded'], 'a=1', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ['no Origin, multipart', ['Content-Type: multipart/form-data; boundary=x'], '--x--', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ['no Origin, a body without a content type (a Blob)', [], '{}', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  [
    'the dashboard: same origin, JSON',
    [`Origin: http://${self}`, 'Sec-Fetch-Site: same-origin', 'Content-Type: application/json'],
    '',
    200,
  ],
  [
    'the dashboard through localhost',
    [`Origin: http://localhost:${self.split(':')[1]}`, 'Content-Type: application/json; charset=utf-8'],
    '{}',
    200,
  ],
  ['curl -X POST: no Origin, no content type, no body', [], '', 200],
  ['a script: JSON without Origin', ['Content-Type: application/json'], '{}', 200],
];

for (const [name, headers, body, status, code] of mutating('127.0.0.1:PORT')) {
  test(`POST drain, ${name}: ${status}`, async (t) => {
    const running = await setup(t);
    const self = `127.0.0.1:${running.adminPort}`;
    const lines = headers.map((line) =>
      line.replace('127.0.0.1:PORT', self).replace('localhost:PORT', `localhost:${running.adminPort}`),
    );
    const host = lines.some((line) => line.startsWith('Origin: http://localhost'))
      ? `localhost:${running.adminPort}`
      : self;
    const bytes = [
      `POST /pools/web/nodes/a/drain HTTP/1.1`,
      `Host: ${host}`,
      ...lines,
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      '',
      body,
    ].join('\r\n');
    const { responses } = await rawRequest(running.adminUrl, bytes);
    t.is(responses[0]?.status, status);
    if (code) t.is(JSON.parse(responses[0]!.body).error.code, code);
    t.is(drained(running), status === 200);
  });
}

test('POST drain with a chunked body and no content type: 415', async (t) => {
  const running = await setup(t);
  const bytes = [
    'POST /pools/web/nodes/a/drain HTTP/1.1',
    `Host: 127.0.0.1:${running.adminPort}`,
    'Transfer-Encoding: chunked',
    'Connection: close',
    '',
    '2',
    '{}',
    '0',
    '',
    '',
  ].join('\r\n');
  const { responses } = await rawRequest(running.adminUrl, bytes);
  t.is(responses[0]?.status, 415);
  t.false(drained(running));
});

/** [Host header (PORT: the admin port), path, expected status]. */
const hosts: Array<[host: string, path: string, status: number, admin?: Record<string, unknown>]> = [
  ['evil.example:PORT', '/status', 403],
  ['evil.example', '/events', 403],
  ['evil.example:PORT', '/', 403],
  ['evil.example:PORT', '/metrics', 403],
  ['10.1.2.3:PORT', '/status', 403],
  ['127.0.0.1.evil.example', '/status', 403],
  ['127.0.0.1:PORT', '/status', 200],
  ['localhost:PORT', '/status', 200],
  ['LOCALHOST.:PORT', '/status', 200],
  ['[::1]:PORT', '/status', 200],
  // Probes use whatever address reaches the gateway, and the answers say nothing.
  ['evil.example', '/healthz', 200],
  ['evil.example', '/readyz', 200],
  ['admin.internal:PORT', '/status', 403],
  ['admin.internal:PORT', '/status', 200, { allowedHosts: ['admin.internal'] }],
  ['Admin.Internal', '/status', 200, { allowedHosts: ['admin.internal'] }],
];

for (const [host, path, status, admin] of hosts) {
  test(`GET ${path} with Host ${host}${admin ? ` (allowedHosts ${JSON.stringify(admin.allowedHosts)})` : ''}: ${status}`, async (t) => {
    const running = await setup(t, admin);
    const bytes = [
      `GET ${path} HTTP/1.1`,
      `Host: ${host.replace('PORT', running.adminPort)}`,
      'Connection: close',
      '',
      '',
    ].join('\r\n');
    const { responses } = await rawRequest(running.adminUrl, bytes);
    t.is(responses[0]?.status, status);
    if (status === 403) t.is(JSON.parse(responses[0]!.body).error.code, 'HOST_NOT_ALLOWED');
  });
}

/** Opens GET /events on a raw socket; `paused` never reads what comes. */
function openStream(adminUrl: string, port: string, paused = false): Promise<{ socket: net.Socket; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(adminUrl).port), '127.0.0.1', () => {
      socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    });
    socket.on('error', reject);
    socket.once('close', () => resolve({ socket, head: '' }));
    socket.once('data', (chunk) => {
      if (paused) socket.pause();
      resolve({ socket, head: chunk.toString('latin1') });
    });
  });
}

test('at most admin.maxEventStreams streams are open; the next gets 503 until one closes', async (t) => {
  const running = await setup(t, { maxEventStreams: 2 });
  const first = await openStream(running.adminUrl, running.adminPort);
  const second = await openStream(running.adminUrl, running.adminPort);
  t.teardown(() => second.socket.destroy());
  t.regex(first.head, /^HTTP\/1.1 200/);
  t.regex(second.head, /^HTTP\/1.1 200/);
  const third = await openStream(running.adminUrl, running.adminPort);
  third.socket.destroy();
  t.regex(third.head, /^HTTP\/1.1 503/);
  t.regex(third.head, /retry-after: 5/i);
  t.regex(third.head, /TOO_MANY_STREAMS/);
  first.socket.destroy();
  await eventually(
    async () => {
      const again = await openStream(running.adminUrl, running.adminPort);
      again.socket.destroy();
      return again.head.startsWith('HTTP/1.1 200');
    },
    10_000,
    50,
  );
});

test('a subscriber that never reads is cut once it is 1 MiB behind: memory stays bounded', async (t) => {
  const running = await setup(t, { maxEventStreams: 1 });
  const stuck = await openStream(running.adminUrl, running.adminPort, true);
  t.teardown(() => stuck.socket.destroy());
  // 32 MiB of events, more than the kernel's socket buffers absorb on loopback; each 4 KiB,
  // so the history that a new stream replays (200 events) stays under the bound.
  const reason = 'x'.repeat(4096);
  const emitted = 8192;
  for (let i = 0; i < emitted; i++) {
    running.gateway.events.emit({ type: 'reload', scope: 'local', time: Date.now(), instance: 'test', reason });
    if (i % 256 === 0) await new Promise((resolve) => setImmediate(resolve)); // let the socket drain what it can
  }
  // The slot is free again: the gateway dropped the stuck stream.
  await eventually(
    async () => {
      const again = await openStream(running.adminUrl, running.adminPort);
      again.socket.destroy();
      return again.head.startsWith('HTTP/1.1 200');
    },
    10_000,
    50,
  );
  // Reading now gets what the kernel held plus at most the bound, then the end.
  const { received, closed } = await new Promise<{ received: number; closed: boolean }>((resolve) => {
    let received = stuck.head.length;
    stuck.socket.on('data', (chunk: Buffer) => (received += chunk.length));
    stuck.socket.on('close', () => resolve({ received, closed: true }));
    setTimeout(() => resolve({ received, closed: false }), 10_000);
    stuck.socket.resume();
  });
  t.true(closed, 'the gateway ended the stream');
  t.true(received < (emitted * reason.length) / 2, `received ${received} bytes of ${emitted * reason.length}`);
});

test('the admin port has the data port slowloris guard: 408 and closed after headersTimeout', async (t) => {
  const running = await setup(t, {}, { headersTimeout: '500ms', requestTimeout: '2s' });
  const started = Date.now();
  // Node's default would keep the socket for 60 s; 0.5 s plus the 1 s check interval, with room for a busy machine.
  const { text, closedByServer } = await rawRequest(
    running.adminUrl,
    `GET /status HTTP/1.1\r\nHost: 127.0.0.1:${running.adminPort}\r\n`,
    8000,
  );
  t.regex(text, /^HTTP\/1.1 408/);
  t.true(closedByServer);
  t.true(Date.now() - started < 5000, `closed after ${Date.now() - started} ms`);
});
