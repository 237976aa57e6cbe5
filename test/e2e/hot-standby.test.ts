import test from 'ava';
import { join } from 'node:path';
import hotStandby from '../../plugins/hot-standby.ts';
import { commandActivation } from '../../examples/plugins/command-activation.ts';
import { startGateway } from '../helpers/gateway.ts';
import { startChildUpstream } from '../helpers/child-upstream.ts';
import { steadyLoad } from '../helpers/load.ts';
import { eventually, request } from '../helpers/http.ts';
import { closedPort } from '../helpers/upstream.ts';
import { repoRoot } from '../helpers/process.ts';
import { ownedCommand } from '../helpers/spawn-owned.ts';

const token = 'test-admin-token';

async function primaryAndStandby(
  t: Parameters<typeof startChildUpstream>[0],
  policyOptions: object = {},
  extra: object = {},
) {
  const primary = await startChildUpstream(t, 'primary');
  const standby = await startChildUpstream(t, 'standby');
  const running = await startGateway(t, {
    admin: { port: 0, token },
    pools: {
      db: {
        policy: hotStandby(policyOptions),
        nodes: [
          { url: primary.url, id: 'primary' },
          { url: standby.url, id: 'standby', tier: 1 },
        ],
        health: { path: '/health' },
        ...extra,
      },
    },
    routes: [{ path: '/', pool: 'db' }],
  });
  const status = () => running.gateway.status().pools.db!;
  await eventually(() => status().active === 'primary' && status().nodes.every((n) => n.health === 'up'), 3000);
  return { primary, standby, ...running, status };
}

const admin = (base: string, path: string, options: { token?: string; body?: object } = {}) =>
  request(`${base}${path}`, {
    method: 'POST',
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      'content-type': 'application/json',
    },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });

test.serial('kill -9 of the primary under steady GET load: the standby serves with zero failed requests', async (t) => {
  t.timeout(30_000);
  const { primary, url, status } = await primaryAndStandby(t);
  t.like(status(), { active: 'primary', epoch: 1 });
  t.is((await request(`${url}/x`)).json().epoch, '1', 'upstreams receive the epoch');
  const load = steadyLoad(`${url}/orders`, { rate: 200, durationMs: 4000 });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const killedAt = Date.now();
  await primary.kill();
  await eventually(() => status().active === 'standby', 2000);
  const switchedMs = Date.now() - killedAt;
  const result = await load;
  t.log(
    `switched to the standby ${switchedMs} ms after kill -9; ${result.sent} sent, ${result.failures.length} failed`,
  );
  t.deepEqual(result.failures, []);
  t.like(status(), { active: 'standby', epoch: 2 });
  const after = await request(`${url}/x`);
  t.is(after.json().node, 'standby');
  t.is(after.json().epoch, '2');
});

test.serial('primary back: automatic failback after failbackDelay, not before', async (t) => {
  t.timeout(30_000);
  const { primary, status, gateway } = await primaryAndStandby(t, { failbackDelay: '1500ms' });
  const port = primary.port;
  await primary.kill();
  await eventually(() => status().active === 'standby', 2000);
  // When the switch back happens, how long the primary has been up by then, on the gateway's
  // clock (timeOrigin + performance.now(), which Date.now() may drift from).
  const failbacks: Array<{ time: number; upSince: number | undefined }> = [];
  gateway.events.subscribe((e) => {
    const time = performance.timeOrigin + performance.now();
    if (e.type === 'promotion' && e.to === 'primary')
      failbacks.push({ time, upSince: gateway.pools.get('db')!.node('primary')!.upSince });
  });
  await startChildUpstream(t, 'primary-again', { port });
  await eventually(() => status().active === 'primary', 6000);
  t.is(failbacks.length, 1);
  const [{ time, upSince }] = failbacks as [{ time: number; upSince: number | undefined }];
  t.not(upSince, undefined, 'the primary is up when it takes over');
  const waited = time - upSince!;
  t.log(`failed back ${Math.round(waited)} ms after the primary was up again`);
  t.true(waited >= 1500, `${waited} ms`);
  t.true(waited < 5000, `${waited} ms: not much later either`);
  t.is(status().epoch, 3);
});

test.serial(
  'a primary killed and restarted: passing heartbeats end its ejection, so failback comes failbackDelay after it is healthy',
  async (t) => {
    t.timeout(60_000);
    // A long ejection, so that waiting it out could not pass for the failback delay.
    const { primary, url, status } = await primaryAndStandby(
      t,
      { failbackDelay: '1s' },
      { passive: { ejectTime: '30s', maxEjectTime: '60s' } },
    );
    const port = primary.port;
    await primary.kill();
    t.is((await request(`${url}/x`)).json().node, 'standby', 'the refused connection ejects the primary');
    t.true(status().nodes[0]!.ejectedUntil! > Date.now() + 20_000);
    await startChildUpstream(t, 'primary-again', { port });
    const restartedAt = Date.now();
    await eventually(() => status().nodes[0]!.health === 'up', 10_000, 20);
    const healthyAt = Date.now();
    await eventually(() => status().active === 'primary', 10_000, 20);
    const failedBackAt = Date.now();
    t.log(`healthy ${healthyAt - restartedAt} ms after the restart, failed back ${failedBackAt - healthyAt} ms later`);
    t.is(status().nodes[0]!.ejectedUntil, null);
    t.true(failedBackAt - healthyAt >= 900, 'not before failbackDelay');
    t.true(failedBackAt - restartedAt < 10_000, 'long before the 30 s ejection would have ended');
  },
);

test.serial('a forced failover holds: no automatic failback until the failback call', async (t) => {
  t.timeout(30_000);
  const { status, adminUrl } = await primaryAndStandby(t, { failbackDelay: '200ms' });
  t.is((await admin(adminUrl, '/pools/db/failover', { token })).status, 200);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.like(status(), { active: 'standby', epoch: 2, pinned: true, failbackAt: null });
  t.like((await admin(adminUrl, '/pools/db/failback', { token })).json(), { active: 'primary', epoch: 3 });
  t.like(status(), { pinned: false });
});

test.serial('manual failback: only on the admin call, which needs the token', async (t) => {
  t.timeout(30_000);
  const { primary, status, adminUrl } = await primaryAndStandby(t, { failback: 'manual', failbackDelay: '200ms' });
  const port = primary.port;
  await primary.kill();
  await eventually(() => status().active === 'standby', 2000);
  await startChildUpstream(t, 'primary-again', { port });
  await eventually(() => status().nodes[0]!.health === 'up', 3000);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.is(status().active, 'standby');
  t.is((await admin(adminUrl, '/pools/db/failback')).status, 401);
  t.is((await admin(adminUrl, '/pools/db/failback', { token: 'wrong-token' })).status, 403);
  const reply = await admin(adminUrl, '/pools/db/failback', { token });
  t.is(reply.status, 200);
  t.like(reply.json(), { pool: 'db', active: 'primary', epoch: 3 });
  t.is(status().active, 'primary');
});

test.serial('forced failover through the admin API, to a named node or the policy’s choice', async (t) => {
  const { status, adminUrl, url } = await primaryAndStandby(t, { failbackDelay: '1h' });
  const forced = await admin(adminUrl, '/pools/db/failover', { token, body: { to: 'standby' } });
  t.is(forced.status, 200);
  t.like(forced.json(), { active: 'standby', epoch: 2 });
  t.is((await request(`${url}/x`)).json().node, 'standby');
  const again = await admin(adminUrl, '/pools/db/failover', { token });
  t.like(again.json(), { active: 'primary', epoch: 3 });
  const refused = await admin(adminUrl, '/pools/db/failover', { token, body: { to: 'primary' } });
  t.is(refused.status, 409);
  t.is(refused.json().error.code, 'FAILOVER_REFUSED');
  t.is((await admin(adminUrl, '/pools/db/failover', { token, body: { to: 'nope' } })).status, 404);
  t.is((await admin(adminUrl, '/pools/nope/failover', { token })).status, 404);
  t.is(status().epoch, 3);
});

test.serial('a hung primary is caught by the fast default heartbeats in well under a second', async (t) => {
  const { primary, status, gateway } = await primaryAndStandby(t);
  let switchedAt = 0;
  gateway.events.subscribe((e) => {
    if (e.type === 'promotion' && e.to === 'standby' && !switchedAt) switchedAt = e.time;
  });
  await primary.setMode('hang');
  // Counted from the upstream acknowledging the switch (a few ms after it began to hang).
  const hungAt = Date.now();
  await eventually(() => status().active === 'standby', 3000);
  const took = switchedAt - hungAt;
  t.log(`switched ${took} ms after the primary hung (idle pool: heartbeats only)`);
  // 250 ms heartbeats, 200 ms timeout, down after 2: about 450–700 ms, plus scheduling lag.
  t.true(took < 1000, `${took} ms`);
});

test.serial('cold standby: promoted, activated by a plugin, traffic waits for its heartbeat', async (t) => {
  t.timeout(30_000);
  const primary = await startChildUpstream(t, 'primary');
  const coldPort = await closedPort();
  // The plugin spawns the cold node itself: wrapped so that it dies with this test process too.
  const activation = commandActivation({
    ...ownedCommand(process.execPath, [
      '--import',
      'tsx',
      join(repoRoot, 'examples/upstream.ts'),
      '--port',
      '{port}',
      '--name',
      'cold-{id}',
    ]),
    until: 'spawn',
  });
  const { url, gateway } = await startGateway(
    t,
    {
      pools: {
        db: {
          policy: hotStandby(),
          nodes: [
            { url: primary.url, id: 'primary' },
            { url: `http://127.0.0.1:${coldPort}`, id: 'spare', tier: 1, standby: 'cold' },
          ],
          health: { path: '/health', interval: '100ms', timeout: '100ms' },
          retry: { waitForNode: '15s', deadline: '20s' },
        },
      },
      routes: [{ path: '/', pool: 'db' }],
    },
    { plugins: [activation] },
  );
  const status = () => gateway.status().pools.db!;
  await eventually(() => status().active === 'primary' && status().nodes[1]!.health === 'down', 3000);
  await primary.kill();
  const reply = await request(`${url}/x`, { timeoutMs: 20_000 });
  t.is(reply.status, 200);
  t.is(reply.json().node, 'cold-spare');
  t.like(status(), { active: 'spare', epoch: 2 });
});
