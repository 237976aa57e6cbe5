import test, { type ExecutionContext } from 'ava';
import { startGateway } from '../helpers/gateway.ts';
import { rawGet, rawRequest } from '../helpers/raw-request.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

// Host is a host: a Host header (or an absolute-form authority) that is not a host name or an
// IP literal with an optional port is refused with 400 before routing, so it can neither match
// a wildcard route nor reach an upstream as Host or X-Forwarded-Host.

interface Setup {
  url: string;
  wild: Upstream;
  rest: Upstream;
}

/** `*.example.com` → wild; everything else → rest. */
async function setup(t: ExecutionContext): Promise<Setup> {
  const wild = await startUpstream('wild');
  const rest = await startUpstream('rest');
  t.teardown(() => Promise.all([wild.close(), rest.close()]));
  const pool = (u: Upstream) => ({ policy: 'round-robin', nodes: [{ url: u.url }], health: false });
  const { url } = await startGateway(t, {
    pools: { wild: pool(wild), rest: pool(rest) },
    routes: [{ host: '*.example.com', pool: 'wild' }, { pool: 'rest' }],
  });
  return { url, wild, rest };
}

const refused: Array<[host: string, why: string]> = [
  ['evil.com/.example.com', 'a path in the host (reproduced: matched *.example.com)'],
  ['x.example.com:1@evil.com', 'userinfo (reproduced: matched *.example.com)'],
  ['evil.com?.example.com', 'a query in the host'],
  ['evil.com#.example.com', 'a fragment in the host'],
  ['evil.com\\.example.com', 'a backslash'],
  ['evil.com .example.com', 'a space'],
  ['evil.com,x.example.com', 'a list (upstreams split X-Forwarded-Host on commas)'],
  ['evil.com;.example.com', 'a sub-delimiter'],
  ['evil.com%2f.example.com', 'percent-encoding'],
  ['user@x.example.com', 'userinfo'],
  ['x.example.com:65536', 'a port over 65535'],
  ['x.example.com:', 'an empty port'],
  ['x.example.com:80:80', 'two ports'],
  ['x..example.com', 'an empty label'],
  ['127.1', 'a short IPv4 form'],
  ['[::1', 'an unclosed IPv6 literal'],
  ['[fe80::1%25eth0]', 'an IPv6 zone'],
  ['', 'an empty Host'],
];

for (const [host, why] of refused) {
  test(`Host ${JSON.stringify(host)} (${why}): 400, nothing forwarded`, async (t) => {
    const { url, wild, rest } = await setup(t);
    const { responses } = await rawGet(url, '/x', host);
    t.is(responses[0]?.status, 400);
    t.is(JSON.parse(responses[0]!.body).error.code, 'BAD_REQUEST');
    t.is(wild.requests.length + rest.requests.length, 0);
  });
}

const accepted: Array<[host: string, pool: 'wild' | 'rest']> = [
  ['a.example.com', 'wild'],
  ['A.Example.COM:8080', 'wild'],
  ['a.example.com.', 'wild'],
  ['a_b.example.com', 'wild'],
  ['example.com', 'rest'],
  ['127.0.0.1:80', 'rest'],
  ['[::1]:8080', 'rest'],
];

for (const [host, pool] of accepted) {
  test(`Host ${JSON.stringify(host)} is routed to ${pool} and forwarded unchanged`, async (t) => {
    const setupResult = await setup(t);
    const { responses } = await rawGet(setupResult.url, '/x', host);
    t.is(responses[0]?.status, 200);
    const seen = setupResult[pool].requests[0]!;
    t.is(seen.headers.host, host);
    t.is(seen.headers['x-forwarded-host'], host);
  });
}

test('HTTP/1.0 without a Host header is still routed (to host-less routes)', async (t) => {
  const { url, rest } = await setup(t);
  const { responses } = await rawRequest(url, 'GET /x HTTP/1.0\r\n\r\n');
  t.is(responses[0]?.status, 200);
  t.is(rest.requests.length, 1);
});

const absolute: Array<[target: string, host: string, status: number, upstreamUrl?: string]> = [
  ['http://a.example.com/x?q=1', 'a.example.com', 200, '/x?q=1'],
  ['HTTP://A.example.com:80/x', 'a.example.com', 200, '/x'],
  ['https://a.example.com:443/x', 'a.example.com', 200, '/x'],
  ['http://a.example.com', 'a.example.com', 200, '/'],
  ['http://a.example.com?q', 'a.example.com', 200, '/?q'],
  ['http://a.example.com/./x/../y', 'a.example.com', 200, '/y'],
  ['http://evil.com/x', 'a.example.com', 400],
  ['http://a.example.com:8080/x', 'a.example.com', 400],
  ['http://x.example.com:1@evil.com/x', 'evil.com', 400],
  ['http://user@a.example.com/x', 'a.example.com', 400],
  ['http://evil.com%2f.example.com/x', 'evil.com%2f.example.com', 400],
  ['http://a.example.com:99999/x', 'a.example.com:99999', 400],
  ['http:///x', 'a.example.com', 400],
  ['ftp://a.example.com/x', 'a.example.com', 400],
];

for (const [target, host, status, upstreamUrl] of absolute) {
  test(`absolute-form ${target} with Host ${host}: ${status}`, async (t) => {
    const { url, wild, rest } = await setup(t);
    const { responses } = await rawGet(url, target, host);
    t.is(responses[0]?.status, status);
    if (upstreamUrl === undefined) t.is(wild.requests.length + rest.requests.length, 0);
    else t.is(wild.requests[0]?.url, upstreamUrl);
  });
}

// Websocket handshakes run the same pipeline stages as any request, the Host check included.
test('a websocket handshake with a bad Host: 400 before routing, nothing forwarded', async (t) => {
  const wild = await startUpstream('wild');
  t.teardown(() => wild.close());
  const { url } = await startGateway(t, {
    pools: { wild: { policy: 'round-robin', nodes: [{ url: wild.url }], health: false } },
    routes: [{ host: '*.example.com', pool: 'wild', websocket: true }],
  });
  const handshake = [
    'GET /ws HTTP/1.1',
    'Host: evil.com/.example.com',
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    '',
    '',
  ].join('\r\n');
  const { responses } = await rawRequest(url, handshake, 4000);
  t.is(responses[0]?.status, 400);
  t.is(wild.connections(), 0);
});
