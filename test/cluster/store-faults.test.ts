import test from 'ava';
import { eventually } from '../helpers/http.ts';
import { hotStandbyCluster } from './hot-standby-cluster.ts';

// Gateways sharing a Redis that pauses, goes back in time or goes away: the epoch and the
// operators' actions come through. (The store-level cases are in test/state/redis-*.test.ts.)

test.serial(
  'two operators fail over to different nodes on two instances while Redis is paused: one wins, all agree',
  async (t) => {
    t.timeout(60_000);
    // Commands time out after 3 s; Redis would count as lost after 7.5 s without a heartbeat reply.
    const c = await hotStandbyCluster(t, {
      instances: 2,
      spare: true,
      cluster: { heartbeatInterval: '3s', resyncInterval: '5s' },
    });
    await c.redis.command('CLIENT', 'PAUSE', '4500', 'ALL');
    const [one, two] = await Promise.all([
      c.admin(0, '/pools/db/failover', { to: 'standby' }),
      c.admin(1, '/pools/db/failover', { to: 'spare' }),
    ]);
    t.true(
      c.gateways.every((g) => g.gateway.status().storeConnected),
      'Redis never counted as lost',
    );
    const answers = [one, two].map((r) => r.status).sort();
    t.deepEqual(answers, [200, 409], `answers ${one.body} / ${two.body}`);
    const winner = [one, two].find((r) => r.status === 200)!.json();
    t.like(winner, { epoch: 2 });
    t.is([one, two].find((r) => r.status === 409)!.json().error.code, 'FAILOVER_REFUSED');
    await eventually(() => [0, 1].every((i) => c.status(i).active === winner.active && c.status(i).epoch === 2), 5000);
  },
);

test.serial(
  'Redis restarted from an older snapshot: the instances put the newer epoch back; a new instance follows it',
  async (t) => {
    t.timeout(60_000);
    const c = await hotStandbyCluster(t, { instances: 2 });
    await c.redis.snapshot(); // primary@1
    t.like((await c.admin(0, '/pools/db/failover', { to: 'standby' })).json(), { active: 'standby', epoch: 2 });
    await eventually(() => c.status(1).epoch === 2, 3000);
    await c.redis.restart({ fromSnapshot: true });
    await eventually(() => c.gateways.every((g) => g.gateway.status().storeConnected), 10_000);
    const late = await c.add();
    await eventually(() => [0, 1, 2].every((i) => c.status(i).active === 'standby' && c.status(i).epoch === 2), 10_000);
    t.deepEqual(
      c.promotions[2]!.filter((p) => p.to === 'primary'),
      [],
      'the new instance never took the older primary@1',
    );
    const back = await c.admin(2, '/pools/db/failback');
    t.is(back.status, 200, back.body);
    t.like(back.json(), { active: 'primary', epoch: 3 });
    await eventually(() => [0, 1].every((i) => c.status(i).active === 'primary' && c.status(i).epoch === 3), 3000);
    t.truthy(late);
  },
);

test.serial(
  'a drain made through the admin API while Redis is unreachable is kept and reaches every instance',
  async (t) => {
    t.timeout(60_000);
    const c = await hotStandbyCluster(t, { instances: 2, spare: true });
    c.redis.pause();
    await eventually(() => c.gateways.every((g) => !g.gateway.status().storeConnected), 5000);
    const drained = await c.admin(0, '/pools/db/nodes/spare/drain');
    t.like(drained.json(), { draining: true, scope: 'pending' });
    c.redis.resume();
    await eventually(() => c.gateways.every((g) => g.gateway.status().storeConnected), 5000);
    await eventually(() => c.status(1).nodes[2]!.draining, 5000);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // a few resyncs later, still drained
    t.true(c.status(0).nodes[2]!.draining);
    t.true(c.status(1).nodes[2]!.draining);
  },
);
