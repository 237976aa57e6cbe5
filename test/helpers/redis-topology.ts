import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisCli, startRedisProcess, type RedisProcess } from './redis-process.ts';
import { freePort, spawnTethered, until, type Scope, type Tethered } from './tethered.ts';

/**
 * Redis topologies for cluster tests and the nemesis, all real processes on free ports in temp
 * dirs, tied to the test process (they die with it): a primary with a replica watched by
 * Sentinel (with a way to make the replica lag and to fail over to it), and a Redis Cluster.
 * A single Redis that can be rolled back is `startRedisProcess` (redis-process.ts).
 */

export { startRedisProcess, type RedisProcess } from './redis-process.ts';

export const SENTINEL_MASTER = 'mymaster';

export interface Sentinels {
  readonly processes: readonly Tethered[];
  /** For ioredis: `{ sentinels: addresses, name: 'mymaster' }` (Baton's `cluster.redis`). */
  readonly addresses: ReadonlyArray<{ host: string; port: number }>;
  /** The port the sentinels (all of them) currently name as the primary. */
  masterPort(): Promise<number>;
}

export interface ReplicatedRedis {
  /** The current primary and replica: they swap on every failover. */
  readonly primary: RedisProcess;
  readonly replica: RedisProcess;
  readonly sentinels: Sentinels;
  /** What `cluster.redis` (ioredis options) takes to follow the primary through Sentinel. */
  readonly clientOptions: { sentinels: Array<{ host: string; port: number }>; name: string };
  /** Resolves when the replica's link is up and it has applied everything the primary sent. */
  waitInSync(timeoutMs?: number): Promise<void>;
  /**
   * Makes the replica lag: it keeps receiving the primary's stream but applies none of it
   * (CLIENT PAUSE … WRITE on the replica pauses its master link too) until released or failed over.
   */
  holdReplica(maxMs?: number): Promise<void>;
  releaseReplica(): Promise<void>;
  /**
   * A forced Sentinel failover to the replica. With `killPrimary`, the primary is killed -9
   * first, so a held replica drops what it had not applied: the new primary is behind (a
   * rolled-back Redis that keeps its data, Baton's boot id included). Resolves once every
   * sentinel names the new primary and it answers as one.
   */
  failover(options?: { killPrimary?: boolean; timeoutMs?: number }): Promise<void>;
  /** After an automatic failover (the primary was killed): waits for the sentinels' switch. */
  awaitFailover(timeoutMs?: number): Promise<void>;
  /** Restarts a dead replica (the old primary after a failover), empty, as a replica of the primary. */
  rejoin(): Promise<void>;
}

export interface SentinelOptions {
  /** How many sentinels (default 1). */
  readonly sentinels?: number;
  /** Sentinels that must agree the primary is down (default: a majority). */
  readonly quorum?: number;
  /** How long the primary must be unreachable before an automatic failover (default 60 s: only forced ones). */
  readonly downAfterMs?: number;
}

export async function startReplicatedRedis(scope: Scope, options: SentinelOptions = {}): Promise<ReplicatedRedis> {
  let primary = await startRedisProcess(scope, { name: 'redis-a' });
  let replica = await startRedisProcess(scope, { name: 'redis-b', replicaOf: primary });
  const count = options.sentinels ?? 1;
  const sentinels = await startSentinels(scope, primary, {
    count,
    quorum: options.quorum ?? Math.floor(count / 2) + 1,
    downAfterMs: options.downAfterMs ?? 60_000,
  });
  const waitInSync = async (timeoutMs = 15_000) => {
    await until(
      `${replica.name} in sync with ${primary.name}`,
      async () => {
        const [mine, theirs] = await Promise.all([replica.info('replication'), primary.info('replication')]);
        return mine.master_link_status === 'up' && mine.slave_repl_offset === theirs.master_repl_offset;
      },
      timeoutMs,
    );
    // Sentinel learns replicas from the primary's INFO; a failover needs it to know this one.
    await until(
      'sentinels know the replica',
      async () => {
        for (const sentinel of sentinels.addresses) {
          const known = await redisCli(sentinel.port, ['SENTINEL', 'REPLICAS', SENTINEL_MASTER]);
          if (!known.split('\n').includes(String(replica.port))) return false;
        }
        return true;
      },
      timeoutMs,
      100,
    );
  };
  const swapWhenSwitched = async (timeoutMs: number) => {
    const promoted = replica;
    await until(
      `sentinels name ${promoted.name} as primary`,
      async () => (await sentinels.masterPort()) === promoted.port,
      timeoutMs,
      100,
    );
    await until(
      `${promoted.name} answers as primary`,
      async () => (await promoted.cli(['ROLE'])).startsWith('master'),
      timeoutMs,
      100,
    );
    [primary, replica] = [promoted, primary];
  };
  await waitInSync();
  return {
    get primary() {
      return primary;
    },
    get replica() {
      return replica;
    },
    sentinels,
    clientOptions: { sentinels: sentinels.addresses.map((a) => ({ ...a })), name: SENTINEL_MASTER },
    waitInSync,
    async holdReplica(maxMs = 60_000) {
      await replica.cli(['CLIENT', 'PAUSE', String(maxMs), 'WRITE']);
    },
    async releaseReplica() {
      await replica.cli(['CLIENT', 'UNPAUSE']);
    },
    async failover({ killPrimary = false, timeoutMs = 20_000 } = {}) {
      if (killPrimary) {
        await primary.kill();
        // The replica notices the closed link and drops the stream it had read but not applied.
        await until(
          `${replica.name} sees its primary gone`,
          async () => (await replica.info('replication')).master_link_status === 'down',
          timeoutMs,
        );
      }
      // A held replica would hold Sentinel's promotion too (it is sent inside MULTI).
      await replica.cli(['CLIENT', 'UNPAUSE']);
      // Sentinel answers NOGOODSLAVE while its view of the replica is stale (just restarted, its
      // link to the primary just re-established): ask again until it starts, or one is running.
      await until(
        `Sentinel starts a failover to ${replica.name}`,
        async () => {
          try {
            await redisCli(sentinels.addresses[0]!.port, ['SENTINEL', 'FAILOVER', SENTINEL_MASTER]);
            return true;
          } catch (error) {
            if (/INPROG/.test((error as Error).message)) return true;
            throw error;
          }
        },
        timeoutMs,
        250,
      );
      await swapWhenSwitched(timeoutMs);
    },
    awaitFailover: (timeoutMs = 30_000) => swapWhenSwitched(timeoutMs),
    async rejoin() {
      await replica.start({ replicaOf: primary });
      await waitInSync();
    },
  };
}

export async function startSentinels(
  scope: Scope,
  primary: RedisProcess,
  options: { count: number; quorum: number; downAfterMs: number },
): Promise<Sentinels> {
  const processes: Tethered[] = [];
  const addresses: Array<{ host: string; port: number }> = [];
  for (let i = 0; i < options.count; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'baton-sentinel-'));
    scope.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    // Sentinel rewrites its config file as it learns the topology, so each has its own.
    const config = writeConfig(dir, [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode no',
      `dir ${dir}`,
      `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${primary.port} ${options.quorum}`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER} ${options.downAfterMs}`,
      `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
      `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
    ]);
    // `redis-server --sentinel` is what the redis-sentinel binary runs (Debian's redis-sentinel
    // package is not needed).
    const process = spawnTethered(scope, `sentinel-${i}`, 'redis-server', [config, '--sentinel'], { cwd: dir });
    await process.waitForLine(/\+monitor master/, 20_000);
    processes.push(process);
    addresses.push({ host: '127.0.0.1', port });
  }
  if (options.count > 1) {
    // Sentinels find each other through hello messages on the primary (every 2 s).
    await until(
      'sentinels know each other',
      async () => {
        for (const { port } of addresses) {
          const others = await redisCli(port, ['SENTINEL', 'SENTINELS', SENTINEL_MASTER]);
          if (others.split('\n').filter((line) => line === 'runid').length < options.count - 1) return false;
        }
        return true;
      },
      20_000,
      200,
    );
  }
  return {
    processes,
    addresses,
    async masterPort() {
      const ports = await Promise.all(
        addresses.map(async ({ port }) =>
          Number((await redisCli(port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER])).split('\n')[1]),
        ),
      );
      return ports.every((p) => p === ports[0]) ? ports[0]! : -1;
    },
  };
}

export interface RedisCluster {
  readonly nodes: readonly RedisProcess[];
  /** For ioredis' `Redis.Cluster(startupNodes)`. */
  readonly startupNodes: ReadonlyArray<{ host: string; port: number }>;
  /** A command through redis-cli in cluster mode (`-c`: follows MOVED redirections). */
  cli(args: readonly string[]): Promise<string>;
}

/** A Redis Cluster of `masters` masters (no replicas), all slots assigned, state ok. */
export async function startRedisCluster(scope: Scope, options: { masters?: number } = {}): Promise<RedisCluster> {
  const count = options.masters ?? 3;
  const nodes: RedisProcess[] = [];
  for (let i = 0; i < count; i++) nodes.push(await startRedisProcess(scope, { name: `cluster-${i}`, cluster: true }));
  const create = spawnTethered(scope, 'redis-cli --cluster create', 'redis-cli', [
    '--cluster',
    'create',
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  const { code } = await create.exited();
  if (code !== 0) throw new Error(`redis-cli --cluster create failed (${code}):\n${create.output()}`);
  await until(
    'cluster state ok on every node',
    async () => {
      for (const node of nodes)
        if (
          (await node.info('cluster')).cluster_enabled !== '1' ||
          !(await node.cli(['CLUSTER', 'INFO'])).includes('cluster_state:ok')
        )
          return false;
      return true;
    },
    20_000,
    100,
  );
  return {
    nodes,
    startupNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    cli: (args) => redisCli(nodes[0]!.port, ['-c', ...args]),
  };
}

function writeConfig(dir: string, lines: string[]): string {
  const path = join(dir, 'sentinel.conf');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}
