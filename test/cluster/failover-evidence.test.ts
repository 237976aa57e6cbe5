import test from 'ava';
import { eventually, request } from '../helpers/http.ts';
import { PausableClock } from '../state/redis-stores.ts';
import { hotStandbyCluster } from './hot-standby-cluster.ts';

// Failover follows cluster evidence, and delays are measured in the store's clock.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test.serial("quorum 'majority': one instance that cannot reach the primary does not move the others", async (t) => {
  t.timeout(60_000);
  const c = await hotStandbyCluster(t, {
    instances: [{}, {}, { cutFromPrimary: true }],
    cluster: { quorum: 'majority' },
    policy: { failbackDelay: '300ms' },
  });
  await eventually(() => c.status(2).nodes[0]!.local === 'down', 5000);
  await sleep(2500);
  t.deepEqual(
    c.promotions.map((p) => p.length),
    [0, 0, 0],
    'no promotion anywhere',
  );
  for (let i = 0; i < 3; i++) t.like(c.status(i), { active: 'primary', epoch: 1 });
  t.is(c.status(0).nodes[0]!.cluster, 'up', 'one vote of three is not a majority');
  t.deepEqual(c.status(0).nodes[0]!.downVotes, ['gw-2']);
  t.is((await request(`${c.gateways[0]!.url}/x`)).json().node, 'primary');

  // The primary really dies: the other two vote too, and the cluster fails over once.
  await c.upstreams.primary.close();
  await eventually(() => [0, 1, 2].every((i) => c.status(i).active === 'standby'), 5000);
  await sleep(1000);
  t.deepEqual(
    [0, 1, 2].map((i) => c.status(i).epoch),
    [2, 2, 2],
  );
  t.is(c.promotions.flat().filter((p) => p.epoch === 2).length, 3, 'one promotion, seen by the three');
});

test.serial('a host clock 45 s ahead: an operator’s forced failover is not undone', async (t) => {
  t.timeout(60_000);
  const ahead = new PausableClock();
  ahead.skew = 45_000;
  const c = await hotStandbyCluster(t, { instances: [{}, { clock: ahead }], policy: { failbackDelay: '10s' } });
  const forced = await c.admin(0, '/pools/db/failover', { to: 'standby' });
  t.is(forced.status, 200);
  await eventually(() => c.status(1).active === 'standby', 2000);
  await sleep(1500);
  t.like(c.status(1), { active: 'standby', epoch: 2 });
  t.like(c.status(0), { active: 'standby', epoch: 2 });
});

test.serial('a host clock 45 s ahead: an automatic failback still waits failbackDelay in Redis time', async (t) => {
  t.timeout(60_000);
  const ahead = new PausableClock();
  ahead.skew = 45_000;
  const c = await hotStandbyCluster(t, { instances: [{}, { clock: ahead }], policy: { failbackDelay: '3s' } });
  await c.admin(0, '/pools/db/nodes/primary/drain');
  await eventually(() => c.status(1).active === 'standby', 3000);
  const enabledAt = Date.now();
  await c.admin(0, '/pools/db/nodes/primary/enable');
  await eventually(() => c.status(1).active === 'primary', 10_000, 20);
  const waited = Date.now() - enabledAt;
  t.log(`failed back ${waited} ms after the primary was enabled (failbackDelay 3 s)`);
  t.true(waited >= 2500, `failback after ${waited} ms`);
  t.is(c.status(0).epoch, 3);
});
