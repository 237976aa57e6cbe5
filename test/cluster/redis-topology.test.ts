import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { repoRoot } from '../helpers/process.ts';
import { startRedisCluster, startRedisProcess, startReplicatedRedis } from '../helpers/redis-topology.ts';
import { until } from '../helpers/tethered.ts';

// The Redis topologies the cluster tests and the nemesis run on are real processes; these
// tests pin what each helper promises, so a failing cluster test is never the helper's fault.

test('a replica replicates, and lags while it is held', async (t) => {
  t.timeout(60_000);
  const redis = await startReplicatedRedis(t);
  await redis.primary.cli(['SET', 'k', '1']);
  await redis.waitInSync();
  t.is(await redis.replica.cli(['GET', 'k']), '1');

  await redis.holdReplica();
  await redis.primary.cli(['SET', 'k', '2']);
  // Synchronise on the replica having *received* the write before checking it did not apply it.
  const sent = Number((await redis.primary.info('replication')).master_repl_offset);
  await until(
    'replica received the stream',
    async () => Number((await redis.replica.info('replication')).slave_read_repl_offset) >= sent,
    5000,
  );
  t.is(await redis.replica.cli(['GET', 'k']), '1', 'held: received but not applied');

  await redis.releaseReplica();
  await until('replica caught up', async () => (await redis.replica.cli(['GET', 'k'])) === '2', 5000);
  t.pass();
});

test('Sentinel fails over to a lagging replica: the new primary is behind', async (t) => {
  t.timeout(60_000);
  const redis = await startReplicatedRedis(t);
  const [oldPrimary, oldReplica] = [redis.primary, redis.replica];
  await redis.primary.cli(['SET', 'k', '1']);
  await redis.waitInSync();
  await redis.holdReplica();
  await redis.primary.cli(['SET', 'k', '2']);
  await redis.failover({ killPrimary: true });
  t.is(redis.primary, oldReplica);
  t.is(await redis.sentinels.masterPort(), oldReplica.port);
  t.is(await redis.primary.cli(['GET', 'k']), '1', 'the write the replica held back is lost');
  await redis.primary.cli(['SET', 'k', '3']);
  await redis.rejoin();
  t.is(redis.replica, oldPrimary);
  t.is(await redis.replica.cli(['GET', 'k']), '3', 'the old primary came back as a replica of the new one');
});

test('three sentinels fail over on their own when the primary dies', async (t) => {
  t.timeout(90_000);
  const redis = await startReplicatedRedis(t, { sentinels: 3, quorum: 2, downAfterMs: 1000 });
  const replica = redis.replica;
  await redis.primary.kill();
  await redis.awaitFailover();
  t.is(redis.primary, replica);
  t.is(await redis.primary.cli(['SET', 'after', 'failover']), 'OK');
});

test('a Redis restarted from an older snapshot is rolled back, its other keys included', async (t) => {
  t.timeout(30_000);
  const redis = await startRedisProcess(t);
  await redis.cli(['SET', 'boot', 'b-1']);
  await redis.cli(['SET', 'epoch', '1']);
  const snapshot = await redis.snapshot();
  await redis.cli(['SET', 'epoch', '2']);
  await redis.start({ snapshot });
  t.is(await redis.cli(['GET', 'epoch']), '1');
  t.is(await redis.cli(['GET', 'boot']), 'b-1', 'a rolled-back Redis keeps what identified it');
  await redis.start();
  t.is(await redis.cli(['EXISTS', 'boot']), '0', 'a plain restart is empty');
});

test('a 3-master Redis Cluster accepts hash-tagged keys together and refuses cross-slot ones', async (t) => {
  t.timeout(60_000);
  const cluster = await startRedisCluster(t);
  t.is(cluster.nodes.length, 3);
  const masters = (await cluster.cli(['CLUSTER', 'NODES']))
    .split('\n')
    .filter((line) => line.includes('master') && /\d+-\d+/.test(line));
  t.is(masters.length, 3, 'three masters, each with a slot range');
  t.is(await cluster.cli(['MSET', '{baton:c1}active', 'a', '{baton:c1}seq', '1']), 'OK');
  t.is(await cluster.cli(['GET', '{baton:c1}seq']), '1');
  await t.throwsAsync(cluster.cli(['MSET', 'baton:c1:active', 'a', 'baton:c1:seq', '1']), { message: /CROSSSLOT/ });
});

test('every Redis process dies with the test process, however it dies', async (t) => {
  t.timeout(60_000);
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/cluster/fixtures/orphan-redis.ts')], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  const pids = await new Promise<number[]>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
      const match = /PIDS ([\d ]+)\n/.exec(out);
      if (match) resolve(match[1]!.split(' ').map(Number));
    });
    child.once('exit', (code) => reject(new Error(`fixture exited ${code}: ${out}`)));
  });
  t.is(pids.length, 3, 'primary, replica and sentinel');
  t.true(pids.every(running));
  child.kill('SIGKILL');
  await until('every Redis process gone', () => !pids.some(running), 10_000);
  t.pass();
});

/** Running and not a zombie (a killed orphan may wait to be reaped). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
