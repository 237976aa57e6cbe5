import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePki } from '../helpers/certificates.ts';
import { httpsRequest, servedCertificate } from '../helpers/https.ts';
import hotStandby from '../../plugins/hot-standby.ts';
import type { GatewayEvent } from '../../src/events/types.ts';
import { startGateway } from '../helpers/gateway.ts';
import { settingsFor } from '../helpers/settings.ts';
import { closedPort, startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually, request } from '../helpers/http.ts';
import { steadyLoad } from '../helpers/load.ts';
import { batonBin, indexUrl, launch, tempDir, writeFile } from '../helpers/process.ts';

const base = { listen: { host: '127.0.0.1', port: 0 }, admin: { port: 0 }, log: { level: 'silent', access: false } };
const nodesOf = (...ups: Upstream[]) => ups.map((u) => ({ url: u.url, id: u.name }));

test('adding and removing nodes under steady load: zero failed requests', async (t) => {
  t.timeout(20_000);
  const ups = await Promise.all(
    ['a', 'b', 'c'].map((n) => startUpstream(n, (_req, res) => setTimeout(() => res.end(n), 20))),
  );
  t.teardown(() => Promise.all(ups.map((u) => u.close())));
  const [a, b, c] = ups as [Upstream, Upstream, Upstream];
  const config = (nodes: object[]) => ({
    ...base,
    pools: { web: { policy: 'round-robin', nodes, health: false } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const { url, gateway } = await startGateway(t, config(nodesOf(a, b)));
  const load = steadyLoad(`${url}/x`, { rate: 200, durationMs: 3000 });
  const steps = [nodesOf(a, b, c), nodesOf(b, c), nodesOf(c), nodesOf(a, c)];
  for (const nodes of steps) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    gateway.reload(settingsFor(config(nodes)));
  }
  const result = await load;
  t.deepEqual(result.failures, []);
  t.true(c.requests.length > 0 && a.requests.length > 0 && b.requests.length > 0);
  t.deepEqual(
    gateway.status().pools.web!.nodes.map((n) => n.id),
    ['a', 'c'],
  );
});

test('unchanged nodes keep their state: health, breaker, drain, the active node and its epoch', async (t) => {
  const up = await startUpstream('up');
  const standby = await startUpstream('standby');
  t.teardown(() => Promise.all([up.close(), standby.close()]));
  const dead = await closedPort();
  const config = (extraRoute = false, retries = 3) => ({
    ...base,
    pools: {
      web: {
        policy: 'round-robin',
        nodes: [
          { url: up.url, id: 'up' },
          { url: `http://127.0.0.1:${dead}`, id: 'dead' },
        ],
        health: false,
        retry: { attempts: retries },
        breaker: { volumeThreshold: 1, errorThresholdPercentage: 10, resetTimeout: '1h' },
      },
      db: {
        policy: hotStandby({ failbackDelay: '1h' }),
        nodes: [
          { url: up.url, id: 'primary' },
          { url: standby.url, id: 'standby', tier: 1 },
        ],
        health: false,
      },
    },
    routes: [...(extraRoute ? [{ path: '/db', pool: 'db' }] : []), { path: '/', pool: 'web' }],
  });
  const { url, adminUrl, gateway } = await startGateway(t, config());
  for (let i = 0; i < 4; i++) await request(`${url}/x`);
  await request(`${adminUrl}/pools/web/nodes/up/drain`, { method: 'POST' });
  await request(`${adminUrl}/pools/db/failover`, { method: 'POST' });
  const before = gateway.status();
  t.like(before.pools.web!.nodes[1], { local: 'down', breaker: 'open' });
  t.true(before.pools.web!.nodes[0]!.draining);
  t.like(before.pools.db, { active: 'standby', epoch: 2 });
  const nodeObject = gateway.pools.get('web')!.node('dead');

  // A change to the web pool (retries) and a new route: the pool is rebuilt around the same nodes.
  const result = gateway.reload(settingsFor(config(true, 2)));
  t.deepEqual(result.changed, ['web']);
  t.deepEqual(result.unchanged, ['db']);
  const after = gateway.status();
  t.like(after.pools.web!.nodes[1], { local: 'down', breaker: 'open' });
  t.true(after.pools.web!.nodes[0]!.draining);
  t.like(after.pools.db, { active: 'standby', epoch: 2 });
  t.is(gateway.pools.get('web')!.node('dead'), nodeObject, 'the very same node object');
  t.is(gateway.pools.get('web')!.settings.retry.attempts, 2);
  const served = await request(`${url}/db/x`);
  t.is(served.status, 200, 'the new route serves');
  t.like(served.json(), { node: 'standby', url: '/db/x' }, 'through the db pool’s active node, still the standby');
});

test('a reload event names what changed', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const config = (pools: Record<string, object>) => ({ ...base, pools, routes: [{ path: '/', pool: 'a' }] });
  const pool = { policy: 'round-robin', nodes: [{ url: up.url }], health: false };
  const { gateway } = await startGateway(t, config({ a: pool, b: pool }));
  const events: GatewayEvent[] = [];
  gateway.events.subscribe((e) => events.push(e));
  gateway.reload(settingsFor(config({ a: pool, c: pool })));
  t.like(events.at(-1), { type: 'reload' });
  t.regex(events.at(-1)!.reason, /added c; removed b; 1 pools unchanged/);
});

test('SIGHUP: a bad config is refused with the check messages and the old one keeps serving; a good one applies', async (t) => {
  t.timeout(60_000);
  const one = await startUpstream('one');
  const two = await startUpstream('two');
  t.teardown(() => Promise.all([one.close(), two.close()]));
  const dir = tempDir(t);
  const config = (upstream: string, extra = '') => `
import { defineConfig } from '${indexUrl}';
export default defineConfig({
  listen: { host: '127.0.0.1', port: 0 }, admin: { port: 0 }, log: { level: 'warn' },
  pools: { web: { policy: 'round-robin', nodes: [{ url: '${upstream}' }], health: false } },
  routes: [{ path: '/', pool: 'web' }], ${extra}
});`;
  const file = writeFile(dir, 'gateway.config.ts', config(one.url));
  const gateway = launch(t, process.execPath, [batonBin, 'start', '--config', file]);
  const [, url] = await gateway.waitFor(/Baton listening on (\S+)/);
  t.is((await request(`${url}/x`)).json().node, 'one');

  writeFileSync(file, config('not a url'));
  gateway.child.kill('SIGHUP');
  // The refusal and each problem are separate lines: wait for both before reading.
  const problem = /pools\.web\.nodes\[0\]\.url: invalid URL "not a url"/;
  await eventually(() => /reload refused/.test(gateway.output()) && problem.test(gateway.output()), 10_000, 50);
  t.regex(gateway.output(), problem);
  t.is((await request(`${url}/x`)).json().node, 'one', 'still serving the previous config');

  writeFileSync(file, config(two.url));
  gateway.child.kill('SIGHUP');
  await gateway.waitFor(/reloaded .*gateway\.config\.ts/, 10_000);
  await eventually(async () => (await request(`${url}/x`)).json().node === 'two', 5000);
  gateway.child.kill('SIGTERM');
  t.is((await gateway.exited()).code, 0);
});

test('--watch: saving the config reloads it', async (t) => {
  t.timeout(60_000);
  const one = await startUpstream('one');
  const two = await startUpstream('two');
  t.teardown(() => Promise.all([one.close(), two.close()]));
  const dir = tempDir(t);
  const config = (upstream: string) => `export default {
  listen: { host: '127.0.0.1', port: 0 }, admin: false, log: { level: 'warn' },
  pools: { web: { policy: 'round-robin', nodes: [{ url: '${upstream}' }], health: false } },
  routes: [{ path: '/', pool: 'web' }],
};`;
  const file = writeFile(dir, 'gateway.config.ts', config(one.url));
  const gateway = launch(t, process.execPath, [batonBin, 'start', '--config', file, '--watch']);
  const [, url] = await gateway.waitFor(/Baton listening on (\S+)/);
  t.is((await request(`${url}/x`)).json().node, 'one');
  writeFileSync(file, config(two.url));
  await eventually(async () => (await request(`${url}/x`)).json().node === 'two', 10_000, 100);
  gateway.child.kill('SIGTERM');
  t.is((await gateway.exited()).code, 0);
});

test('--watch re-reads certificates: a new one is served on new connections; a bad one is refused and the old one keeps serving', async (t) => {
  t.timeout(60_000);
  const pki = makePki();
  t.teardown(() => pki.remove());
  const first = await pki.server('first', ['127.0.0.1'], 5);
  const second = await pki.server('second', ['127.0.0.1'], 20);
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const dir = tempDir(t);
  // Relative paths: from the config file's folder.
  const file = writeFile(
    dir,
    'gateway.config.ts',
    `export default {
  listen: { host: '127.0.0.1', port: 0, tls: { cert: 'tls/server.crt', key: 'tls/server.key' } }, admin: false, log: { level: 'warn' },
  pools: { web: { policy: 'round-robin', nodes: [{ url: '${up.url}' }], health: false } },
  routes: [{ path: '/', pool: 'web' }],
};`,
  );
  mkdirSync(join(dir, 'tls'));
  const install = (cert: string, key: string) => {
    writeFileSync(join(dir, 'tls/server.crt'), cert);
    writeFileSync(join(dir, 'tls/server.key'), key);
  };
  install(first.cert, first.key);
  const gateway = launch(t, process.execPath, [batonBin, 'start', '--config', file, '--watch']);
  const [, url] = await gateway.waitFor(/Baton listening on (https:\/\/\S+)/);
  const port = Number(new URL(url!).port);
  const expiry = (pem: string) => new X509Certificate(pem).validTo;
  t.is((await servedCertificate(port, undefined, pki.ca.cert)).validTo, expiry(first.cert));

  install(second.cert, second.key);
  await eventually(
    async () => (await servedCertificate(port, undefined, pki.ca.cert)).validTo === expiry(second.cert),
    10_000,
    100,
  );

  writeFileSync(join(dir, 'tls/server.key'), first.key);
  await eventually(
    () =>
      /reload refused/.test(gateway.output()) &&
      /listen\.tls: the certificate and key cannot be used together/.test(gateway.output()),
    10_000,
    50,
  );
  t.is(
    (await servedCertificate(port, undefined, pki.ca.cert)).validTo,
    expiry(second.cert),
    'the previous certificate keeps serving',
  );
  const reply = await httpsRequest(`${url}/still`, { ca: pki.ca.cert });
  t.is(reply.status, 200);
  gateway.child.kill('SIGTERM');
  t.is((await gateway.exited()).code, 0);
});
