import test from 'ava';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { makePki, type TestPki } from '../helpers/certificates.ts';
import { startGateway } from '../helpers/gateway.ts';
import { request } from '../helpers/http.ts';
import { httpsRequest, servedCertificate } from '../helpers/https.ts';
import { settingsFor } from '../helpers/settings.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

let pki: TestPki;
let otherCa: TestPki;
let upstream: Upstream;

test.before(async () => {
  pki = makePki();
  otherCa = makePki('Someone Else CA');
  upstream = await startUpstream('up');
});
test.after.always(async () => {
  pki?.remove();
  otherCa?.remove();
  await upstream?.close();
});

const pool = () => ({ web: { policy: 'round-robin', nodes: [{ url: upstream.url }], health: false } });

function tlsConfig(tls: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    listen: { host: '127.0.0.1', port: 0, tls },
    pools: pool(),
    routes: [{ path: '/', pool: 'web' }],
    admin: { port: 0 },
    log: { level: 'silent', access: false },
    server: { drainTimeout: '1s' },
    ...extra,
  };
}

test('SNI picks the certificate for the name asked; wildcards cover one label; others get the default', async (t) => {
  const fallback = await pki.server('default', ['default.test', '127.0.0.1']);
  const api = await pki.server('api', ['api.example.test']);
  const apps = await pki.server('apps', ['*.apps.example.test']);
  const { url } = await startGateway(
    t,
    tlsConfig({
      cert: fallback.certFile,
      key: fallback.keyFile,
      certificates: [
        { hosts: ['api.example.test'], cert: api.cert, key: api.key }, // inline PEM works as well as files
        { hosts: ['*.apps.example.test'], cert: apps.certFile, key: apps.keyFile },
      ],
    }),
  );
  const port = Number(new URL(url).port);
  const cases: Array<[string | undefined, string]> = [
    ['api.example.test', 'api.example.test'],
    ['shop.apps.example.test', '*.apps.example.test'],
    ['a.b.apps.example.test', 'default.test'],
    ['unknown.test', 'default.test'],
    [undefined, 'default.test'],
  ];
  for (const [servername, cn] of cases) {
    t.is((await servedCertificate(port, servername, pki.ca.cert)).cn, cn, `SNI ${servername}`);
  }
  const reply = await httpsRequest(`https://127.0.0.1:${port}/hello`, {
    ca: pki.ca.cert,
    servername: 'shop.apps.example.test',
  });
  t.is(reply.status, 200, 'a client that checks the certificate against the name accepts it');
  t.is(reply.json().url, '/hello');
});

test('X-Forwarded-Proto is https on TLS requests, whatever the client says', async (t) => {
  const cert = await pki.server('proto', ['127.0.0.1']);
  const { url } = await startGateway(t, tlsConfig({ cert: cert.certFile, key: cert.keyFile }));
  t.regex(url, /^https:\/\//);
  const reply = await httpsRequest(`${url}/p`, {
    ca: pki.ca.cert,
    headers: { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.test' },
  });
  t.like(reply.json().headers, { 'x-forwarded-proto': 'https', 'x-forwarded-host': url.slice('https://'.length) });
});

test('a reload swaps the certificate: new connections see the new one, an open connection keeps working', async (t) => {
  const first = await pki.server('first', ['127.0.0.1'], 5);
  const second = await pki.server('second', ['127.0.0.1'], 20);
  const config = (cert: typeof first) => tlsConfig({ cert: cert.certFile, key: cert.keyFile });
  const { url, gateway } = await startGateway(t, config(first));
  const port = Number(new URL(url).port);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: pki.ca.cert });
  t.teardown(() => agent.destroy());
  const onAgent = () =>
    new Promise<{ notAfter: string; reused: boolean; status: number }>((resolve, reject) => {
      const req = https.get(`${url}/keep`, { agent }, (res) => {
        const notAfter = (res.socket as TLSSocket).getPeerCertificate().valid_to;
        res.resume();
        res.on('end', () => resolve({ notAfter, reused: req.reusedSocket, status: res.statusCode ?? 0 }));
      });
      req.on('error', reject);
    });
  const before = await onAgent();
  t.is(before.notAfter, new X509Certificate(first.cert).validTo);

  const result = gateway.reload(settingsFor(config(second)));
  t.deepEqual(result.restartNeeded, []);
  const fresh = await servedCertificate(port, undefined, pki.ca.cert);
  t.is(fresh.validTo, new X509Certificate(second.cert).validTo, 'a new connection gets the new certificate');
  const kept = await onAgent();
  t.true(kept.reused, 'the request went over the connection opened before the reload');
  t.is(kept.status, 200);
  t.is(kept.notAfter, before.notAfter, 'which keeps the session it negotiated');
});

test('mutual TLS: the verified subject goes upstream in X-Baton-Client-Cert-Subject, and nobody else can set it', async (t) => {
  const cert = await pki.server('mtls', ['127.0.0.1']);
  const alice = await pki.client('alice', '/CN=alice/O=Example, Inc.');
  const mallory = await otherCa.client('mallory', '/CN=admin');
  const { url } = await startGateway(
    t,
    tlsConfig({ cert: cert.certFile, key: cert.keyFile, ca: pki.ca.certFile, clientCertificate: 'request' }),
  );
  const spoof: Record<string, string> = {
    'x-baton-client-cert-subject': 'CN=admin',
    X_Baton_Client_Cert_Subject: 'CN=admin',
  };
  const cases: Array<[string, { cert?: string; key?: string }, string | undefined]> = [
    ['a client certificate signed by the CA', { cert: alice.cert, key: alice.key }, 'CN=alice,O=Example\\, Inc.'],
    ['no client certificate', {}, undefined],
    ['a certificate from another CA', { cert: mallory.cert, key: mallory.key }, undefined],
  ];
  for (const [name, client, subject] of cases) {
    const reply = await httpsRequest(`${url}/who`, { ca: pki.ca.cert, headers: spoof, ...client });
    t.is(reply.status, 200, name);
    const headers = reply.json().headers as Record<string, string | undefined>;
    t.is(headers['x-baton-client-cert-subject'], subject, name);
    t.false('x_baton_client_cert_subject' in headers, name);
  }
});

test("clientCertificate 'require': a client without a valid certificate does not get past the handshake", async (t) => {
  const cert = await pki.server('mtls-req', ['127.0.0.1']);
  const alice = await pki.client('alice-req', '/CN=alice');
  const { url } = await startGateway(t, tlsConfig({ cert: cert.certFile, key: cert.keyFile, ca: pki.ca.cert }));
  await t.throwsAsync(httpsRequest(`${url}/required`, { ca: pki.ca.cert }));
  const reply = await httpsRequest(`${url}/required`, { ca: pki.ca.cert, cert: alice.cert, key: alice.key });
  t.is(reply.json().headers['x-baton-client-cert-subject'], 'CN=alice');
  const reached = upstream.requests.filter((r) => r.url === '/required');
  t.is(reached.length, 1, 'only the authenticated request reached the upstream');
});

test("an HTTP listener's redirect: 'https' route sends clients to the TLS listener; TLS requests skip it", async (t) => {
  const cert = await pki.server('redirect', ['127.0.0.1']);
  const { urls } = await startGateway(t, {
    listen: [
      { host: '127.0.0.1', port: 0, tls: { cert: cert.certFile, key: cert.keyFile } },
      { host: '127.0.0.1', port: 0 },
    ],
    pools: pool(),
    routes: [
      { path: '/', redirect: 'https' },
      { path: '/', pool: 'web' },
    ],
  });
  const [secure, plain] = urls as [string, string];
  t.regex(secure, /^https:/);
  t.regex(plain, /^http:/);
  const redirected = await request(`${plain}/a/b?c=d`, { method: 'POST', body: 'x' });
  t.is(redirected.status, 308);
  t.is(redirected.headers.location, `${secure}/a/b?c=d`);
  const served = await httpsRequest(`${secure}/a/b?c=d`, { ca: pki.ca.cert });
  t.is(served.status, 200);
  t.is(served.json().url, '/a/b?c=d');
});

test('certificate expiry is in /status and /metrics', async (t) => {
  const cert = await pki.server('expiry', ['127.0.0.1', 'expiry.test'], 7);
  const { url, adminUrl } = await startGateway(
    t,
    tlsConfig({ certificates: [{ hosts: ['expiry.test'], cert: cert.certFile, key: cert.keyFile }] }),
  );
  const notAfter = Date.parse(new X509Certificate(cert.cert).validTo);
  const status = (await request(`${adminUrl}/status`)).json();
  t.deepEqual(status.certificates, [{ listener: url, hosts: ['expiry.test'], subject: 'CN=127.0.0.1', notAfter }]);
  const metrics = (await request(`${adminUrl}/metrics`)).body;
  const line = metrics.split('\n').find((l) => l.startsWith('baton_tls_certificate_expiry_timestamp_seconds{'));
  t.truthy(line);
  t.regex(
    line!,
    new RegExp(`listener="${url}",hosts="expiry.test",subject="CN=127.0.0.1"} ${Math.floor(notAfter / 1000)}$`),
  );
});
