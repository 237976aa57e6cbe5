import test from 'ava';
import { makePki, type Issued, type TestPki } from '../helpers/certificates.ts';
import { startGateway } from '../helpers/gateway.ts';
import { eventually, request } from '../helpers/http.ts';
import { startHttpsUpstream, type Upstream } from '../helpers/upstream.ts';

/** `https://` nodes: a private CA, a certificate for another name than the address, mTLS to the node. */

let pki: TestPki;
let backendCert: Issued;
let gatewayClient: Issued;
let strangerPki: TestPki;
let stranger: Issued;

test.before(async () => {
  pki = makePki('Upstream CA');
  strangerPki = makePki('Stranger CA');
  // The node's certificate names backend.internal only: reaching it by address needs servername.
  backendCert = await pki.server('backend', ['backend.internal']);
  gatewayClient = await pki.client('gateway', '/CN=baton-gateway');
  stranger = await strangerPki.client('stranger', '/CN=stranger');
});
test.after.always(() => {
  pki?.remove();
  strangerPki?.remove();
});

async function backend(t: { teardown(fn: () => unknown): void }, clientCa?: string): Promise<Upstream> {
  const up = await startHttpsUpstream('backend', { cert: backendCert.cert, key: backendCert.key, clientCa });
  t.teardown(() => up.close());
  return up;
}

const config = (up: Upstream, tls: Record<string, unknown> | undefined, health: unknown = false) => ({
  pools: {
    secure: {
      policy: 'round-robin',
      nodes: [{ url: up.url, id: 'backend' }],
      health,
      retry: { attempts: 1 },
      ...(tls ? { tls } : {}),
    },
  },
  routes: [{ path: '/', pool: 'secure' }],
});

const cases: Array<{ name: string; tls: (ca: string) => Record<string, unknown> | undefined; status: number }> = [
  {
    name: 'private CA and servername: verified, 200',
    tls: (ca) => ({ ca, servername: 'backend.internal' }),
    status: 200,
  },
  {
    name: 'private CA without servername: the address is not the certificate’s name, 502',
    tls: (ca) => ({ ca }),
    status: 502,
  },
  {
    name: 'no CA: Node’s public CAs do not know the private one, 502',
    tls: () => ({ servername: 'backend.internal' }),
    status: 502,
  },
  { name: 'no tls settings at all: 502', tls: () => undefined, status: 502 },
  {
    name: 'rejectUnauthorized: false accepts any certificate, 200',
    tls: () => ({ rejectUnauthorized: false }),
    status: 200,
  },
];

for (const { name, tls, status } of cases) {
  test(`https node: ${name}`, async (t) => {
    const up = await backend(t);
    const { url } = await startGateway(t, config(up, tls(pki.ca.cert)));
    const reply = await request(`${url}/tls`);
    t.is(reply.status, status, reply.body);
    if (status === 200) t.is(reply.json().url, '/tls');
    else t.is(reply.json().error.code, 'UPSTREAM_CONNECT');
  });
}

test('mTLS to the node: the pool’s client certificate is presented; without it the node refuses', async (t) => {
  const up = await backend(t, pki.ca.cert);
  const withCert = await startGateway(
    t,
    config(up, {
      ca: pki.ca.certFile,
      servername: 'backend.internal',
      cert: gatewayClient.certFile,
      key: gatewayClient.keyFile,
    }),
  );
  const ok = await request(`${withCert.url}/m`);
  t.is(ok.status, 200);
  t.is(up.requests.at(-1)!.clientCertCn, 'baton-gateway');

  const withStranger = await startGateway(
    t,
    config(up, { ca: pki.ca.cert, servername: 'backend.internal', cert: stranger.cert, key: stranger.key }),
  );
  const refused = await request(`${withStranger.url}/m`);
  t.is(refused.status, 502);
  const without = await startGateway(t, config(up, { ca: pki.ca.cert, servername: 'backend.internal' }));
  t.is((await request(`${without.url}/m`)).status, 502);
  t.is(up.requests.length, 1, 'only the gateway with the right certificate got a request through');
});

test('TLS connections to a node are reused (keep-alive), not one handshake per request', async (t) => {
  const up = await backend(t);
  const { url } = await startGateway(t, config(up, { ca: pki.ca.cert, servername: 'backend.internal' }));
  for (let i = 0; i < 5; i++) t.is((await request(`${url}/r${i}`)).status, 200);
  t.is(up.requests.length, 5);
  t.is(up.connections(), 1);
});

test('heartbeats use the pool’s TLS settings: up with them, down without', async (t) => {
  const up = await backend(t, pki.ca.cert);
  const health = { path: '/health', interval: '100ms', timeout: '1s', rise: 1, fall: 1 };
  const good = await startGateway(
    t,
    config(
      up,
      { ca: pki.ca.cert, servername: 'backend.internal', cert: gatewayClient.cert, key: gatewayClient.key },
      health,
    ),
  );
  const bad = await startGateway(t, config(up, { ca: pki.ca.cert, servername: 'backend.internal' }, health));
  const local = (gateway: typeof good) => gateway.gateway.status().pools.secure!.nodes[0]!.local;
  await eventually(() => local(good) === 'up' && local(bad) === 'down', 10_000, 50);
  t.true(
    up.requests.some(
      (r) => r.url === '/health' && r.headers['user-agent'] === 'baton-heartbeat' && r.clientCertCn === 'baton-gateway',
    ),
  );
});
