import test from 'ava';
import { eventually } from '../helpers/http.ts';
import { hotStandbyCluster } from './hot-standby-cluster.ts';

// Operators stay in charge, and a pair that keeps flipping backs off: both live in the shared
// active state, so every instance behaves alike.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test.serial(
  'a forced failover suspends automatic failback on every instance until an operator fails back',
  async (t) => {
    t.timeout(60_000);
    const c = await hotStandbyCluster(t, { instances: 2, policy: { failbackDelay: '300ms' } });
    t.is((await c.admin(0, '/pools/db/failover')).status, 200);
    await eventually(() => c.status(1).active === 'standby', 3000);
    await sleep(2000);
    for (const i of [0, 1])
      t.like(c.status(i), { active: 'standby', epoch: 2 }, `instance ${i} did not fail back on its own`);
    for (const i of [0, 1]) t.like(c.status(i), { pinned: true, failbackAt: null });
    const back = await c.admin(1, '/pools/db/failback');
    t.like(back.json(), { active: 'primary', epoch: 3 });
    await eventually(() => c.status(0).active === 'primary', 3000);
    for (const i of [0, 1]) t.like(c.status(i), { pinned: false });
  },
);

test.serial('a forced failover is undone automatically when the node it chose fails', async (t) => {
  t.timeout(60_000);
  const c = await hotStandbyCluster(t, { instances: 2, policy: { failbackDelay: '300ms' } });
  await c.admin(0, '/pools/db/failover', { to: 'standby' });
  await eventually(() => c.status(1).pinned, 3000);
  await c.upstreams.standby.close();
  await eventually(() => [0, 1].every((i) => c.status(i).active === 'primary'), 5000);
  for (const i of [0, 1]) t.like(c.status(i), { epoch: 3, pinned: false });
});

test.serial(
  'failing over and back again and again: each round trip waits twice as long, the same on every instance',
  async (t) => {
    t.timeout(60_000);
    const c = await hotStandbyCluster(t, { instances: 2, policy: { failbackDelay: '1s' } });
    const roundTrip = async () => {
      await c.admin(0, '/pools/db/nodes/primary/drain');
      await eventually(() => c.status(0).active === 'standby', 3000);
      const failedOverAt = Date.now();
      await c.admin(1, '/pools/db/nodes/primary/enable');
      await eventually(() => c.status(0).active === 'primary' && c.status(1).active === 'primary', 10_000, 20);
      return Date.now() - failedOverAt;
    };
    const first = await roundTrip();
    t.like(c.status(1), { flips: 1 });
    const second = await roundTrip();
    t.log(`failback waited ${first} ms, then ${second} ms (failbackDelay 1 s)`);
    t.true(second >= 1900, `the second failback waited ${second} ms`);
    for (const i of [0, 1]) t.like(c.status(i), { flips: 3, epoch: 5 });
  },
);
