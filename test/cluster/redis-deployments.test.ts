import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import hotStandby from '../../plugins/hot-standby.ts';
import { startChildUpstream, type ChildUpstream } from '../helpers/child-upstream.ts';
import { startGateway, type RunningGateway } from '../helpers/gateway.ts';
import { eventually, request } from '../helpers/http.ts';
import { steadyLoad } from '../helpers/load.ts';
import { redisCli } from '../helpers/redis-process.ts';
import { startRedisCluster, startReplicatedRedis } from '../helpers/redis-topology.ts';
import { freePort, spawnTethered } from '../helpers/tethered.ts';

// `cluster.redis` beyond one plain Redis: a Redis Cluster, Sentinel, TLS. Real redis-server
// processes on free ports; two gateway instances in front of a hot-standby pool `db` under
// steady traffic (the tests run one at a time: each starts several Redis processes). What must hold everywhere: requests never wait on Redis (no failed request),
// both instances agree on the active node and its epoch, and the epoch never goes backwards.

interface Pair {
  readonly gateways: RunningGateway[];
  readonly primary: ChildUpstream;
  readonly standby: ChildUpstream;
  active(i: number): { active: string | null; epoch: number | null };
  connected(i: number): boolean;
  failover(i: number): Promise<{ active: string; epoch: number }>;
}

async function pair(t: ExecutionContext, redis: string | Record<string, unknown>, cluster: object = {}): Promise<Pair> {
  const primary = await startChildUpstream(t, 'primary');
  const standby = await startChildUpstream(t, 'standby');
  const gateways: RunningGateway[] = [];
  for (let i = 0; i < 2; i++) {
    gateways.push(
      await startGateway(t, {
        cluster: {
          name: 'deploy',
          instanceId: `gw-${i}`,
          redis,
          heartbeatInterval: '200ms',
          resyncInterval: '1s',
          ...cluster,
        },
        pools: {
          db: {
            policy: hotStandby({ failbackDelay: '1h' }),
            nodes: [
              { url: primary.url, id: 'primary' },
              { url: standby.url, id: 'standby', tier: 1 },
            ],
            // Generous for a loaded two-core machine: a false "down" would refuse the failovers.
            health: { path: '/health', interval: '300ms', timeout: '2s', fall: 3 },
          },
        },
        routes: [{ path: '/', pool: 'db' }],
      }),
    );
  }
  const status = (i: number) => gateways[i]!.gateway.status();
  const active = (i: number) => {
    const pool = status(i).pools.db!;
    return { active: pool.active, epoch: pool.epoch };
  };
  const usable = (i: number) => status(i).pools.db!.nodes.every((node) => node.usable);
  const settled = () =>
    gateways.every(
      (_, i) =>
        status(i).storeConnected && active(i).active === 'primary' && usable(i) && active(i).epoch === active(0).epoch,
    );
  await eventually(settled, 15_000);
  // An instance slower than its connect timeout (a starved machine) chose the initial node alone;
  // that clash is healed with a higher epoch within a few heartbeats: let it settle first.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await eventually(settled, 15_000);
  return {
    gateways,
    primary,
    standby,
    active,
    connected: (i) => status(i).storeConnected,
    async failover(i) {
      const reply = await request(`${gateways[i]!.adminUrl}/pools/db/failover`, { method: 'POST' });
      if (reply.status !== 200) throw new Error(`failover via gw-${i}: ${reply.status} ${reply.body}`);
      return reply.json();
    },
  };
}

/** Steady GETs through both instances while `during` runs; returns every failure. */
async function underLoad(p: Pair, durationMs: number, during: () => Promise<void>): Promise<unknown[]> {
  const loads = p.gateways.map((g) => steadyLoad(`${g.url}/x`, { rate: 40, durationMs, timeoutMs: 10_000 }));
  await during();
  const results = await Promise.all(loads);
  if (results.some((r) => r.ok === 0)) throw new Error('no request went through an instance: the load proves nothing');
  return results.flatMap((r) => r.failures);
}

test.serial(
  'Redis Cluster: one slot per Baton cluster, notices across nodes, a failover agreed by two instances under traffic',
  async (t) => {
    t.timeout(120_000);
    const cluster = await startRedisCluster(t);
    // A long resync interval: the second instance can only follow within seconds through a notice
    // published on the node that holds the slot and broadcast by the Redis Cluster.
    const p = await pair(
      t,
      { cluster: cluster.startupNodes.map((n) => `redis://${n.host}:${n.port}`) },
      { resyncInterval: '60s' },
    );

    const keys = (await Promise.all(cluster.nodes.map((node) => node.cli(['--scan', '--pattern', 'baton:*'])))).flatMap(
      (out) => out.split('\n').filter(Boolean),
    );
    t.true(keys.length >= 5, `keys: ${keys.join(' ')}`);
    t.true(
      keys.every((key) => key.startsWith('baton:{deploy}:')),
      keys.join(' '),
    );
    const slots = new Set(await Promise.all(keys.map((key) => cluster.cli(['CLUSTER', 'KEYSLOT', key]))));
    t.is(slots.size, 1, 'every key of the cluster in one slot');

    // Not necessarily epoch 1: an instance that took longer than its connect timeout to reach the
    // Redis Cluster chose the initial node alone, and that clash was healed with a higher epoch.
    const before = p.active(0).epoch!;
    let answered: { active: string; epoch: number } | undefined;
    const failures = await underLoad(p, 3000, async () => {
      await new Promise((resolve) => setTimeout(resolve, 800));
      answered = await p.failover(0);
      await eventually(() => p.active(1).active === 'standby', 5000);
    });
    t.like(answered, { active: 'standby', epoch: before + 1 });
    t.deepEqual(
      [p.active(0), p.active(1)],
      [
        { active: 'standby', epoch: before + 1 },
        { active: 'standby', epoch: before + 1 },
      ],
    );
    t.deepEqual(failures, []);
    t.is((await request(`${p.gateways[1]!.url}/x`)).json().node, 'standby');

    // And back, through the other instance: the epoch goes on rising.
    t.like(await p.failover(1), { active: 'primary', epoch: before + 2 });
    await eventually(() => p.active(0).active === 'primary' && p.active(0).epoch === before + 2, 5000);
  },
);

test.serial(
  'Sentinel: the primary dies with the replica behind; Sentinel promotes it, the instances keep serving and the epoch never goes back',
  async (t) => {
    t.timeout(180_000);
    const redis = await startReplicatedRedis(t);
    const p = await pair(t, redis.clientOptions);
    const first = p.active(0).epoch!;
    t.like(await p.failover(0), { active: 'standby', epoch: first + 1 });
    await eventually(() => p.active(1).epoch === first + 1, 5000);
    await redis.waitInSync();

    // The replica stops applying the stream: the next failover (epoch 3) reaches the primary only.
    await redis.holdReplica();
    const held = first + 2;
    t.like(await p.failover(1), { active: 'primary', epoch: held });
    await eventually(() => p.active(0).epoch === held, 5000);

    const epochsSeen: number[] = [];
    const watch = setInterval(() => epochsSeen.push(p.active(0).epoch ?? 0, p.active(1).epoch ?? 0), 20);
    const failures = await underLoad(p, 8000, async () => {
      await redis.failover({ killPrimary: true });
      await eventually(() => p.connected(0) && p.connected(1), 20_000);
    });
    clearInterval(watch);
    t.deepEqual(failures, [], 'requests never wait on Redis');
    t.true(
      epochsSeen.every((epoch) => epoch >= held),
      `the instances never went back to the promoted replica's epoch: ${[...new Set(epochsSeen)].join(',')}`,
    );

    // The promoted replica was re-seeded with what the instances knew; the next change goes above it.
    await eventually(
      async () => JSON.parse(await redis.primary.cli(['HGET', 'baton:{deploy}:active', 'db'])).epoch >= held,
      10_000,
    );
    const next = await p.failover(0);
    t.true(next.epoch > held, `epoch ${next.epoch}`);
    await eventually(() => p.active(1).epoch === next.epoch && p.active(1).active === next.active, 5000);
  },
);

test.serial('TLS: cluster.redis with tls options reaches a redis-server that only speaks TLS', async (t) => {
  t.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'baton-redis-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=baton test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    'redis.key',
    '-out',
    'redis.csr',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'redis.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    writeExt(dir),
    '-out',
    'redis.crt',
  );
  const port = await freePort();
  const server = spawnTethered(t, 'redis-tls', 'redis-server', [
    '--port',
    '0',
    '--tls-port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--tls-cert-file',
    file('redis.crt'),
    '--tls-key-file',
    file('redis.key'),
    '--tls-ca-cert-file',
    file('ca.crt'),
    '--tls-auth-clients',
    'no',
  ]);
  await server.waitForLine(/Ready to accept connections/, 20_000);
  await t.throwsAsync(redisCli(port, ['PING'], 2000), undefined, 'plain text is refused');

  const p = await pair(t, {
    host: '127.0.0.1',
    port,
    tls: { ca: readFileSync(file('ca.crt'), 'utf8'), servername: '127.0.0.1' },
  });
  const before = p.active(0).epoch!;
  t.like(await p.failover(0), { active: 'standby', epoch: before + 1 });
  await eventually(() => p.active(1).active === 'standby' && p.active(1).epoch === before + 1, 5000);
});

/** The server certificate must name 127.0.0.1 as an IP SAN: Node checks it, not the CN. */
function writeExt(dir: string): string {
  const path = join(dir, 'san.ext');
  writeFileSync(path, 'subjectAltName=IP:127.0.0.1\n');
  return path;
}
