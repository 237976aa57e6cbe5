import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startGateway } from '../helpers/gateway.ts';
import { rawRequest } from '../helpers/raw-request.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

// Header hygiene: every Connection header counts, in both directions, and a client cannot
// smuggle the headers Baton owns under an underscore spelling (CGI, WSGI and Rack read
// X_Forwarded_For as HTTP_X_FORWARDED_FOR, the same variable as X-Forwarded-For).

const pool = (url: string) => ({ policy: 'round-robin', nodes: [{ url }], health: false });

async function throughGateway(
  t: ExecutionContext,
  config: Record<string, unknown> = {},
): Promise<{ url: string; up: Upstream }> {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { url } = await startGateway(t, { pools: { web: pool(up.url) }, routes: [{ pool: 'web' }], ...config });
  return { url, up };
}

const request = (lines: string[]) => [...lines, 'Connection: close', '', ''].join('\r\n');

// --- requests -------------------------------------------------------------------------------

const underscoreSpellings = [
  'X_Forwarded_For: 6.6.6.6',
  'X-Forwarded_For: 6.6.6.7',
  'X_Forwarded_Host: evil.example',
  'X_Forwarded_Proto: https',
  'X_Forwarded_Port: 443',
  'X_Real_IP: 6.6.6.6',
  'X_Request_Id: forged',
  'X_Baton_Epoch: 999',
  'Transfer_Encoding: chunked',
  'Content_Length: 5',
  'Proxy_Authorization: Basic Zm9v',
  'Keep_Alive: timeout=1',
];

for (const trusted of [false, true]) {
  test(`underscore spellings of the headers Baton owns are dropped (${trusted ? 'trusted proxy' : 'untrusted client'})`, async (t) => {
    const { url, up } = await throughGateway(t, {
      listen: { host: '127.0.0.1', port: 0, trustedProxies: trusted ? ['loopback'] : [] },
    });
    const { responses } = await rawRequest(
      url,
      request(['GET /x HTTP/1.1', 'Host: gw.test', ...underscoreSpellings, 'X_Custom_Thing: kept']),
    );
    t.is(responses[0]?.status, 200);
    const names = up.requests[0]!.rawHeaders.filter((_, i) => i % 2 === 0);
    t.deepEqual(
      names.filter((name) => name.includes('_')).map((name) => name.toLowerCase()),
      ['x_custom_thing'],
      'only names that impersonate nothing pass',
    );
    const seen = up.requests[0]!.headers;
    t.is(seen['x-forwarded-for'], '127.0.0.1');
    t.is(seen['x-forwarded-host'], 'gw.test');
    t.not(seen['x-request-id'], 'forged');
  });
}

test('every Connection header of a request is honoured', async (t) => {
  const { url, up } = await throughGateway(t);
  const { responses } = await rawRequest(
    url,
    request([
      'GET /x HTTP/1.1',
      'Host: gw.test',
      'Connection: keep-alive',
      'Connection: x-secret-a',
      'Connection: x-secret-b, x-secret-c',
      'X-Secret-A: 1',
      'X-Secret-B: 2',
      'X-Secret-C: 3',
      'X-Visible: yes',
    ]),
  );
  t.is(responses[0]?.status, 200);
  const seen = up.requests[0]!.headers;
  t.false('x-secret-a' in seen || 'x-secret-b' in seen || 'x-secret-c' in seen);
  t.is(seen['x-visible'], 'yes');
});

test('a framing header named in a second Connection header is refused', async (t) => {
  const { url, up } = await throughGateway(t);
  const { responses } = await rawRequest(
    url,
    request(['GET /x HTTP/1.1', 'Host: gw.test', 'Connection: keep-alive', 'Connection: content-length']),
  );
  t.is(responses[0]?.status, 400);
  t.is(up.requests.length, 0);
});

// --- responses ------------------------------------------------------------------------------

/** An upstream that answers every request with exactly these bytes. */
async function rawUpstream(t: ExecutionContext, response: string): Promise<string> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) socket.end(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const responseCases: Array<[name: string, headers: string[], dropped: string[], kept: string[]]> = [
  [
    'a second Connection header',
    ['Connection: keep-alive', 'Connection: x-secret-a', 'X-Secret-A: 1'],
    ['x-secret-a'],
    [],
  ],
  [
    'three Connection headers with lists',
    ['Connection: x-a', 'Connection: x-b, x-c', 'Connection: X-D', 'X-A: 1', 'X-B: 2', 'X-C: 3', 'x-d: 4'],
    ['x-a', 'x-b', 'x-c', 'x-d'],
    [],
  ],
  [
    'a Connection header that also names Content-Length',
    ['Connection: content-length, x-a', 'X-A: 1'],
    ['x-a'],
    ['content-length'],
  ],
  [
    'a Connection header after the one it names',
    ['X-Late: 1', 'Connection: close', 'Connection: x-late'],
    ['x-late'],
    [],
  ],
];

for (const [name, headers, dropped, kept] of responseCases) {
  test(`response: ${name}: every listed header is removed`, async (t) => {
    const upstream = await rawUpstream(
      t,
      ['HTTP/1.1 200 OK', 'Content-Length: 5', 'X-Visible: yes', ...headers, '', 'hello'].join('\r\n'),
    );
    const { url } = await startGateway(t, { pools: { web: pool(upstream) }, routes: [{ pool: 'web' }] });
    const { responses } = await rawRequest(url, request(['GET /x HTTP/1.1', 'Host: gw.test']));
    const response = responses[0]!;
    t.is(response.status, 200);
    t.is(response.body, 'hello');
    t.is(response.header('x-visible'), 'yes');
    for (const header of dropped) t.is(response.header(header), undefined, `${header} must not reach the client`);
    for (const header of kept) t.not(response.header(header), undefined, `${header} is kept`);
  });
}
