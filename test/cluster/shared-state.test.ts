import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import hotStandby from '../../plugins/hot-standby.ts';
import type { GatewayEvent } from '../../src/events/types.ts';
import { startGateway, type RunningGateway } from '../helpers/gateway.ts';
import { startChildUpstream, type ChildUpstream } from '../helpers/child-upstream.ts';
import { eventually, request } from '../helpers/http.ts';
import { steadyLoad } from '../helpers/load.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

// Several gateway instances in one process, sharing a real redis-server the test controls.

interface Cluster {
  redis: RedisServer;
  primary: ChildUpstream;
  standby: ChildUpstream;
  gateways: RunningGateway[];
  status(i: number): ReturnType<RunningGateway['gateway']['status']>;
}

async function cluster(
  t: ExecutionContext,
  count: number,
  options: { health?: object; cluster?: object; redisUrl?: (i: number, redis: RedisServer) => Promise<string> } = {},
): Promise<Cluster> {
  const redis = await startRedis(t);
  const primary = await startChildUpstream(t, 'primary');
  const standby = await startChildUpstream(t, 'standby');
  const gateways: RunningGateway[] = [];
  for (let i = 0; i < count; i++) {
    gateways.push(
      await startGateway(t, {
        cluster: {
          name: 'ct',
          instanceId: `gw-${i}`,
          redis: options.redisUrl ? await options.redisUrl(i, redis) : redis.url,
          heartbeatInterval: '200ms',
          resyncInterval: '1s',
          ...options.cluster,
        },
        pools: {
          db: {
            policy: hotStandby({ failbackDelay: '1h' }),
            nodes: [
              { url: primary.url, id: 'primary' },
              { url: standby.url, id: 'standby', tier: 1 },
            ],
            health: { path: '/health', ...options.health },
          },
        },
        routes: [{ path: '/', pool: 'db' }],
      }),
    );
  }
  const status = (i: number) => gateways[i]!.gateway.status();
  await eventually(
    () => gateways.every((_, i) => status(i).pools.db!.active === 'primary' && status(i).storeConnected),
    5000,
  );
  return { redis, primary, standby, gateways, status };
}

/**
 * A TCP relay to Redis that, once muted, swallows everything Redis sends on subscribed
 * connections (keeping it, so a test can show what was missed); commands pass as they are.
 */
async function subscriberRelay(
  t: ExecutionContext,
  redisUrl: string,
): Promise<{ url: string; mute(): void; swallowed: string[] }> {
  const { port } = new URL(redisUrl);
  const swallowed: string[] = [];
  let muted = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), '127.0.0.1');
    let subscriber = false;
    client.on('data', (data) => {
      if (/\$9\r\nsubscribe\r\n/i.test(data.toString('latin1'))) subscriber = true;
      upstream.write(data);
    });
    upstream.on('data', (data) => {
      if (muted && subscriber) swallowed.push(data.toString('latin1'));
      else client.write(data);
    });
    const close = () => (client.destroy(), upstream.destroy());
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    mute: () => void (muted = true),
    swallowed,
  };
}

/** When each instance switched to `active` (performance.now()). */
function switchTimes(gateways: RunningGateway[], active: string): Array<number | undefined> {
  const times: Array<number | undefined> = gateways.map(() => undefined);
  gateways.forEach((g, i) => {
    g.gateway.events.subscribe((e: GatewayEvent) => {
      if (e.type === 'promotion' && e.to === active && times[i] === undefined) times[i] = performance.now();
    });
  });
  return times;
}

test.serial(
  'one instance detects the primary’s death; the others switch within milliseconds, same epoch',
  async (t) => {
    t.timeout(30_000);
    // Slow heartbeats, so that only the data path of the instance taking traffic can notice.
    const c = await cluster(t, 3, { health: { interval: '5s', timeout: '1s' } });
    const times = switchTimes(c.gateways, 'standby');
    await c.primary.kill();
    const reply = await request(`${c.gateways[0]!.url}/order`);
    t.is(reply.status, 200);
    t.is(reply.json().node, 'standby');
    await eventually(() => times.every((time) => time !== undefined), 2000);
    const spread = Math.max(...(times as number[])) - Math.min(...(times as number[]));
    t.log(`all 3 instances switched within ${spread.toFixed(1)} ms of each other`);
    t.true(spread < 100, `spread ${spread} ms`);
    const epochs = c.gateways.map((_, i) => c.status(i).pools.db!.epoch);
    t.deepEqual(epochs, [2, 2, 2]);
    for (let i = 0; i < 3; i++) t.is(c.status(i).pools.db!.active, 'standby');
  },
);

test.serial('Redis killed under steady traffic: zero failed requests, the loss is shown, and it heals', async (t) => {
  t.timeout(30_000);
  const c = await cluster(t, 2);
  const load = steadyLoad(`${c.gateways[0]!.url}/x`, { rate: 200, durationMs: 3000 });
  await new Promise((resolve) => setTimeout(resolve, 800));
  await c.redis.kill();
  await eventually(() => !c.status(0).storeConnected && !c.status(1).storeConnected, 3000);
  const result = await load;
  t.deepEqual(result.failures, []);
  t.is(c.status(0).pools.db!.active, 'primary', 'the last known active node keeps serving');
  await c.redis.restart();
  await eventually(() => c.status(0).storeConnected && c.status(1).storeConnected, 5000);
  t.is(c.status(1).pools.db!.active, 'primary');
});

test.serial('Redis restarted empty: instances notice, re-seed, and keep the epoch rising', async (t) => {
  t.timeout(30_000);
  const c = await cluster(t, 2);
  await request(`${c.gateways[0]!.adminUrl}/pools/db/failover`, { method: 'POST' });
  await eventually(() => c.status(1).pools.db!.active === 'standby', 2000);
  t.is(c.status(1).pools.db!.epoch, 2);
  await c.redis.restart();
  await eventually(() => c.status(0).storeConnected && c.status(1).storeConnected, 5000);
  // The re-seeded state in Redis is the one the instances knew: epoch 2, standby active.
  await eventually(async () => (await c.redis.command('HGET', 'baton:{ct}:active', 'db')).includes('"epoch":2'), 3000);
  const forced = await request(`${c.gateways[1]!.adminUrl}/pools/db/failover`, { method: 'POST' });
  t.like(forced.json(), { active: 'primary', epoch: 3 }, 'after the restart, the next change gets epoch 3, not 1');
  await eventually(() => c.status(0).pools.db!.epoch === 3 && c.status(0).pools.db!.active === 'primary', 2000);
});

test.serial(
  'Redis paused (SIGSTOP): the stale store is flagged, no wrong failover, recovery after SIGCONT',
  async (t) => {
    t.timeout(30_000);
    const c = await cluster(t, 2);
    const events: GatewayEvent[] = [];
    c.gateways[0]!.gateway.events.subscribe((e) => events.push(e));
    const load = steadyLoad(`${c.gateways[0]!.url}/x`, { rate: 100, durationMs: 2500 });
    c.redis.pause();
    await eventually(() => !c.status(0).storeConnected, 3000);
    t.true(events.some((e) => e.type === 'store' && e.to === 'disconnected'));
    t.deepEqual((await load).failures, []);
    t.is(c.status(0).pools.db!.active, 'primary');
    t.is(c.status(0).pools.db!.epoch, 1, 'no failover happened because Redis went quiet');
    c.redis.resume();
    await eventually(() => c.status(0).storeConnected && c.status(1).storeConnected, 5000);
    t.is(c.status(1).pools.db!.epoch, 1);
  },
);

test.serial('local failover while Redis is lost, reconciled when it returns', async (t) => {
  t.timeout(30_000);
  const c = await cluster(t, 2);
  await c.redis.kill();
  await eventually(() => !c.status(0).storeConnected && !c.status(1).storeConnected, 3000);
  await c.primary.kill();
  await eventually(
    () => c.status(0).pools.db!.active === 'standby' && c.status(1).pools.db!.active === 'standby',
    3000,
  );
  t.is((await request(`${c.gateways[0]!.url}/x`)).json().node, 'standby', 'still serving, on the standby');
  await c.redis.restart();
  await eventually(() => c.status(0).storeConnected && c.status(1).storeConnected, 5000);
  await eventually(
    async () => (await c.redis.command('HGET', 'baton:{ct}:active', 'db')).includes('"active":"standby"'),
    3000,
  );
  t.is(c.status(0).pools.db!.epoch, c.status(1).pools.db!.epoch);
});

test.serial('a notice lost to a subscriber during a failover: convergence within the resync interval', async (t) => {
  t.timeout(30_000);
  // Instance 1 reaches Redis through a relay that can swallow what its subscription receives.
  let relay: Awaited<ReturnType<typeof subscriberRelay>> | undefined;
  const c = await cluster(t, 2, {
    health: { interval: '5s', timeout: '1s' },
    redisUrl: async (i, redis) => (i === 1 ? (relay = await subscriberRelay(t, redis.url)).url : redis.url),
  });
  relay!.mute();
  await c.primary.kill();
  t.is((await request(`${c.gateways[0]!.url}/x`)).json().node, 'standby');
  const started = Date.now();
  await eventually(() => c.status(1).pools.db!.active === 'standby', 2500);
  t.log(`instance 1 converged ${Date.now() - started} ms later`);
  t.is(c.status(1).pools.db!.epoch, c.status(0).pools.db!.epoch);
  // The failover's notice was published to instance 1's subscription and swallowed: it learnt
  // the new state from a snapshot read, not from the notice.
  t.true(
    relay!.swallowed.some((data) => data.includes('message') && data.includes('standby')),
    'the notice of the failover was missed',
  );
});

test.serial('status shows the store, its connection and every live instance', async (t) => {
  const c = await cluster(t, 2);
  await eventually(() => c.status(0).instances.length === 2, 3000);
  const status = c.status(0);
  t.is(status.store, 'redis');
  t.true(status.storeConnected);
  t.deepEqual(status.instances.map((i) => i.id).sort(), ['gw-0', 'gw-1']);
  t.true(status.instances.find((i) => i.id === 'gw-0')!.self);
});
