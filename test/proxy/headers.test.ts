import test from 'ava';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import {
  acceptRequestId,
  clientResponseHeaders,
  connectionListed,
  upstreamHeaders,
  type ForwardedFacts,
} from '../../src/proxy/headers.ts';

const facts: ForwardedFacts = { peer: '10.0.0.9', trusted: false, proto: 'http', requestId: 'rid-1', upgrade: false };
const forward = (headers: IncomingHttpHeaders, over: Partial<ForwardedFacts> = {}) =>
  upstreamHeaders({ headers } as IncomingMessage, { ...facts, ...over });

const requestNames: Array<[name: string, forwarded: boolean]> = [
  ['x_forwarded_for', false],
  ['x-forwarded_for', false],
  ['x_forwarded-for', false],
  ['x_forwarded_host', false],
  ['x_forwarded_proto', false],
  ['x_forwarded_port', false],
  ['x_forwarded_prefix', false],
  ['x_real_ip', false],
  ['x_request_id', false],
  ['x_baton_epoch', false],
  ['x_baton_anything', false],
  ['transfer_encoding', false],
  ['content_length', false],
  ['proxy_authorization', false],
  ['keep_alive', false],
  ['x_custom', true],
  ['x_forwarded', true],
  ['my_x_forwarded_for', true],
  ['x-custom', true],
];

for (const [name, forwarded] of requestNames) {
  for (const trusted of [false, true]) {
    test(`request header ${name} ${forwarded ? 'is forwarded' : 'is dropped'} (${trusted ? 'trusted' : 'untrusted'} peer)`, (t) => {
      const out = forward({ host: 'gw.test', [name]: 'v' }, { trusted })!;
      t.is(name in out, forwarded);
    });
  }
}

const connectionValues: Array<[value: string | string[] | undefined, listed: string[] | undefined]> = [
  [undefined, []],
  ['keep-alive', []],
  ['close', []],
  ['Upgrade', []],
  ['upgrade', []],
  ['Keep-Alive', []],
  ['x-a', ['x-a']],
  [
    ['x-a', 'x-b'],
    ['x-a', 'x-b'],
  ],
  [['x-a', 'host'], undefined],
  ['x-a, , X-B ,', ['x-a', 'x-b']],
  ['keep-alive, X-Secret', ['keep-alive', 'x-secret']],
  // Node joins repeated request Connection headers with ', '.
  ['keep-alive, x-a, close', ['keep-alive', 'x-a', 'close']],
  ['x-a, content-length', undefined],
  ['Transfer-Encoding', undefined],
  ['host', undefined],
  ['Host', undefined],
  ['transfer-encoding', undefined],
  ['keep-alive, Content-Length', undefined],
];
for (const [value, listed] of connectionValues) {
  test(`request Connection ${JSON.stringify(value)} lists ${listed ? JSON.stringify(listed) : 'a framing header (refused)'}`, (t) => {
    const result = connectionListed(value);
    t.deepEqual(result && [...result], listed);
  });
}

const responses: Array<[name: string, raw: string[], client: string[]]> = [
  ['no Connection header', ['X-A', '1', 'Content-Length', '2'], ['X-A', '1', 'Content-Length', '2']],
  [
    'hop-by-hop headers',
    ['Keep-Alive', 'timeout=5', 'Connection', 'keep-alive', 'Proxy-Authenticate', 'Basic', 'X-A', '1'],
    ['X-A', '1'],
  ],
  ['one Connection header', ['Connection', 'x-a', 'X-A', '1', 'X-B', '2'], ['X-B', '2']],
  [
    'every Connection header',
    [
      'Connection',
      'keep-alive',
      'X-A',
      '1',
      'Connection',
      'x-a, X-B',
      'X-B',
      '2',
      'connection',
      'x-c',
      'x-c',
      '3',
      'X-D',
      '4',
    ],
    ['X-D', '4'],
  ],
  [
    'a framing name is left, the others go',
    ['Connection', 'content-length, x-a', 'Content-Length', '2', 'X-A', '1'],
    ['Content-Length', '2'],
  ],
  [
    'duplicates such as Set-Cookie are kept',
    ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'],
    ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'],
  ],
];
for (const [name, raw, client] of responses) {
  test(`response headers: ${name}`, (t) => {
    t.deepEqual(clientResponseHeaders(raw, []), client);
  });
}

test("response headers: the gateway's request id is added unless the upstream sent one", (t) => {
  t.deepEqual(clientResponseHeaders(['X-A', '1'], ['x-request-id', 'rid']), ['X-A', '1', 'x-request-id', 'rid']);
  t.deepEqual(clientResponseHeaders(['X-Request-Id', 'up'], ['x-request-id', 'rid']), ['X-Request-Id', 'up']);
});

/** Hop-by-hop request headers never reach the upstream (RFC 9110 §7.6.1), whoever sends them. */
const hopByHopRequest: Array<[name: string, value: string]> = [
  ['connection', 'keep-alive'],
  ['keep-alive', 'timeout=5'],
  ['proxy-connection', 'keep-alive'],
  ['proxy-authenticate', 'Basic'],
  ['proxy-authorization', 'Basic eA=='],
  ['te', 'gzip'],
  ['te', 'trailers, gzip'],
  ['trailer', 'x-sum'],
  ['transfer-encoding', 'chunked'],
  ['upgrade', 'websocket'],
  ['expect', '100-continue'],
  ['x-baton-epoch', '7'],
  ['x-baton-anything', 'x'],
];
for (const [name, value] of hopByHopRequest) {
  for (const trusted of [false, true]) {
    test(`request header ${name}: ${value} is not forwarded (${trusted ? 'trusted' : 'untrusted'} peer)`, (t) => {
      const out = forward({ host: 'gw.test', [name]: value, 'x-kept': 'k' }, { trusted })!;
      t.false(name in out);
      t.is(out['x-kept'], 'k');
    });
  }
}

test('TE: trailers is the one TE value that passes (gRPC needs it)', (t) => {
  t.is(forward({ host: 'gw.test', te: 'trailers' })!.te, 'trailers');
  t.false('te' in forward({ host: 'gw.test', te: 'trailers, deflate' })!);
});

test('a websocket handshake keeps Connection: upgrade and its Upgrade header, nothing else the Connection lists', (t) => {
  const out = forward(
    { host: 'gw.test', connection: 'Upgrade, x-a', upgrade: 'websocket', 'x-a': '1' },
    { upgrade: true },
  )!;
  t.is(out.connection, 'upgrade');
  t.is(out.upgrade, 'websocket');
  t.false('x-a' in out);
  t.false('connection' in forward({ host: 'gw.test', connection: 'Upgrade', upgrade: 'websocket' })!);
});

/** Client-sent forwarding headers: believed (and extended) only from a trusted proxy. */
const forwarding: Array<[name: string, value: string]> = [
  ['x-forwarded-port', '8443'],
  ['x-forwarded-prefix', '/admin'],
  ['x-forwarded-anything', 'x'],
  ['forwarded', 'for=1.2.3.4'],
  ['x-real-ip', '1.2.3.4'],
];
for (const [name, value] of forwarding) {
  test(`${name} from an untrusted peer is dropped, from a trusted proxy kept`, (t) => {
    t.false(name in forward({ host: 'gw.test', [name]: value })!);
    t.is(forward({ host: 'gw.test', [name]: value }, { trusted: true })![name], value);
  });
}

const forwardedFacts: Array<{
  name: string;
  headers: IncomingHttpHeaders;
  trusted: boolean;
  expected: Record<string, string | undefined>;
}> = [
  {
    name: 'untrusted: the gateway writes X-Forwarded-For/-Proto/-Host over what the client sent',
    headers: {
      host: 'gw.test',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.test',
    },
    trusted: false,
    expected: { 'x-forwarded-for': '10.0.0.9', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'gw.test' },
  },
  {
    name: "trusted: X-Forwarded-For is extended with the peer, the proxy's proto and host kept",
    headers: {
      host: 'gw.test',
      'x-forwarded-for': '1.1.1.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'front.test',
    },
    trusted: true,
    expected: {
      'x-forwarded-for': '1.1.1.1, 10.0.0.9',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'front.test',
    },
  },
  {
    name: 'trusted: a proxy that sent no X-Forwarded-* still gets them set',
    headers: { host: 'gw.test' },
    trusted: true,
    expected: { 'x-forwarded-for': '10.0.0.9', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'gw.test' },
  },
  {
    name: 'trusted: repeated X-Forwarded-For headers are joined before the peer',
    headers: { host: 'gw.test', 'x-forwarded-for': ['1.1.1.1', '2.2.2.2'] as unknown as string },
    trusted: true,
    expected: { 'x-forwarded-for': '1.1.1.1, 2.2.2.2, 10.0.0.9' },
  },
  {
    name: 'untrusted without Host: no X-Forwarded-Host at all',
    headers: { 'x-forwarded-host': 'evil.test' },
    trusted: false,
    expected: { 'x-forwarded-host': undefined },
  },
  {
    name: "trusted without Host: the proxy's X-Forwarded-Host kept",
    headers: { 'x-forwarded-host': 'front.test' },
    trusted: true,
    expected: { 'x-forwarded-host': 'front.test' },
  },
  {
    name: "trusted without Host: the proxy's empty X-Forwarded-Host is not passed on",
    headers: { 'x-forwarded-host': '' },
    trusted: true,
    expected: { 'x-forwarded-host': undefined },
  },
  {
    name: 'a client X-Request-Id is replaced by the one the gateway decided on',
    headers: { host: 'gw.test', 'x-request-id': 'client' },
    trusted: true,
    expected: { 'x-request-id': 'rid-1' },
  },
];
for (const { name, headers, trusted, expected } of forwardedFacts) {
  test(`forwarding facts: ${name}`, (t) => {
    const out = forward(headers, { trusted })!;
    for (const [header, value] of Object.entries(expected)) {
      t.is(out[header], value, header);
      if (value === undefined) t.false(header in out, `${header} absent`);
    }
  });
}

test('a request whose Connection lists a framing header gets no upstream headers (refused)', (t) => {
  t.is(forward({ host: 'gw.test', connection: 'host' }), undefined);
  t.is(forward({ host: 'gw.test', connection: 'close, Transfer-Encoding' }), undefined);
});

const requestIds: Array<[value: string | string[] | undefined, kept: boolean]> = [
  ['abc-123', true],
  ['A.z_0:@+=/-', true],
  ['x'.repeat(128), true],
  ['x'.repeat(129), false],
  ['', false],
  [undefined, false],
  [['a', 'b'], false],
  [['abc'], false], // a repeated header, even with one plain value
  ['a b', false],
  ['<script>abc', false], // anchored at the start
  ['abc<script>', false], // and at the end
  ['abc\ndef', false],
];
for (const [value, kept] of requestIds) {
  test(`a client X-Request-Id ${JSON.stringify(value)?.slice(0, 40)} is ${kept ? 'kept' : 'replaced'}`, (t) => {
    t.is(acceptRequestId(value) as unknown, kept ? value : undefined);
  });
}

const moreResponses: Array<[name: string, raw: string[], extra: string[], client: string[]]> = [
  ['Connection: close lists nothing; it goes itself', ['Connection', 'close', 'X-A', '1'], [], ['X-A', '1']],
  [
    'Connection: close is the option, not a name: a field named Close (reserved, RFC 9110 §7.6.1) stays, as in requests',
    ['Connection', 'close', 'Close', 'x', 'X-A', '1'],
    [],
    ['Close', 'x', 'X-A', '1'],
  ],
  [
    'CONNECTION in capitals is still the Connection header',
    ['CONNECTION', 'x-a', 'X-A', '1', 'X-B', '2'],
    [],
    ['X-B', '2'],
  ],
  [
    'a 10-letter header that is not Connection lists nothing',
    ['X-Nothing1', 'x-a', 'X-A', '1'],
    [],
    ['X-Nothing1', 'x-a', 'X-A', '1'],
  ],
  [
    'Upgrade, TE, Trailer, Transfer-Encoding, Expect are hop-by-hop',
    [
      'Upgrade',
      'h2c',
      'TE',
      'trailers',
      'Trailer',
      'x',
      'Transfer-Encoding',
      'chunked',
      'Expect',
      'x',
      'Proxy-Connection',
      'x',
      'X-A',
      '1',
    ],
    [],
    ['X-A', '1'],
  ],
  [
    'an upstream x-request-id in any case: no second one',
    ['x-request-id', 'up'],
    ['x-request-id', 'rid'],
    ['x-request-id', 'up'],
  ],
  [
    "other extra headers are added after the upstream's",
    ['X-A', '1'],
    ['x-baton-node', 'n1', 'x-request-id', 'rid'],
    ['X-A', '1', 'x-baton-node', 'n1', 'x-request-id', 'rid'],
  ],
  [
    'with an upstream request id, the other extras are still added',
    ['X-Request-Id', 'up'],
    ['x-request-id', 'rid', 'x-baton-node', 'n1'],
    ['X-Request-Id', 'up', 'x-baton-node', 'n1'],
  ],
];
for (const [name, raw, extra, client] of moreResponses) {
  test(`response headers: ${name}`, (t) => {
    t.deepEqual(clientResponseHeaders(raw, extra), client);
  });
}

test('Connection: close in a request lists nothing either: a field named Close is forwarded', (t) => {
  t.is(forward({ host: 'gw.test', connection: 'close', close: 'x' })!.close, 'x');
});
