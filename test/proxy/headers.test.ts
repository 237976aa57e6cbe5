import test from 'ava';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { clientResponseHeaders, connectionListed, upstreamHeaders, type ForwardedFacts } from '../../src/proxy/headers.ts';

const facts: ForwardedFacts = { peer: '10.0.0.9', trusted: false, proto: 'http', requestId: 'rid-1', upgrade: false };
const forward = (headers: IncomingHttpHeaders, over: Partial<ForwardedFacts> = {}) => upstreamHeaders({ headers } as IncomingMessage, { ...facts, ...over });

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

const connectionValues: Array<[value: string | undefined, listed: string[] | undefined]> = [
  [undefined, []],
  ['keep-alive', []],
  ['close', []],
  ['Upgrade', []],
  ['keep-alive, X-Secret', ['keep-alive', 'x-secret']],
  // Node joins repeated request Connection headers with ', '.
  ['keep-alive, x-a, close', ['keep-alive', 'x-a', 'close']],
  ['x-a, content-length', undefined],
  ['Transfer-Encoding', undefined],
  ['host', undefined],
];
for (const [value, listed] of connectionValues) {
  test(`request Connection ${JSON.stringify(value)} lists ${listed ? JSON.stringify(listed) : 'a framing header (refused)'}`, (t) => {
    const result = connectionListed(value);
    t.deepEqual(result && [...result], listed);
  });
}

const responses: Array<[name: string, raw: string[], client: string[]]> = [
  ['no Connection header', ['X-A', '1', 'Content-Length', '2'], ['X-A', '1', 'Content-Length', '2']],
  ['hop-by-hop headers', ['Keep-Alive', 'timeout=5', 'Connection', 'keep-alive', 'Proxy-Authenticate', 'Basic', 'X-A', '1'], ['X-A', '1']],
  ['one Connection header', ['Connection', 'x-a', 'X-A', '1', 'X-B', '2'], ['X-B', '2']],
  ['every Connection header', ['Connection', 'keep-alive', 'X-A', '1', 'Connection', 'x-a, X-B', 'X-B', '2', 'connection', 'x-c', 'x-c', '3', 'X-D', '4'], ['X-D', '4']],
  ['a framing name is left, the others go', ['Connection', 'content-length, x-a', 'Content-Length', '2', 'X-A', '1'], ['Content-Length', '2']],
  ['duplicates such as Set-Cookie are kept', ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'], ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']],
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
