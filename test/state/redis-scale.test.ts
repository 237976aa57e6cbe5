import test from 'ava';
import { eventually } from '../helpers/http.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { redisStore } from './redis-stores.ts';

// A correlated failure costs O(instances × nodes) Redis work: one script per instance per batch
// of votes, one notice per node whose verdict changed. (bench/cluster-scale.ts measures it at
// 50 instances × 200 nodes.)

const INSTANCES = 10;
const NODES = 100;

function commandCalls(info: string, command: string): number {
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

test('every node down at once: a few scripts per instance, one notice per changed node, Redis never lost', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const stores = Array.from({ length: INSTANCES }, (_, i) =>
    redisStore(t, redis.url, `i${i}`, { heartbeatIntervalMs: 1000, resyncIntervalMs: 5000 }),
  );
  await Promise.all(stores.map((s) => s.start()));
  let lost = 0;
  for (const store of stores) store.onChange((c) => c.type === 'connection' && !c.connected && (lost += 1));
  const nodes = Array.from({ length: NODES }, (_, i) => `n${i}`);
  const everywhere = (verdict: string) =>
    stores.every((s) => nodes.every((n) => s.clusterHealth('api', n)?.verdict === verdict));
  for (const store of stores) for (const node of nodes) store.reportHealth('api', node, 'up', 'probe ok');
  await eventually(() => everywhere('up'), 10_000);

  await redis.command('CONFIG', 'RESETSTAT');
  for (const store of stores) for (const node of nodes) store.reportHealth('api', node, 'down', 'probe failed');
  await eventually(() => everywhere('down'), 10_000);
  const info = await redis.command('INFO', 'commandstats');
  const publishes = commandCalls(info, 'publish');
  const scripts = commandCalls(info, 'evalsha') + commandCalls(info, 'eval');
  t.log(`${INSTANCES} instances × ${NODES} nodes down: ${scripts} scripts, ${publishes} PUBLISH`);
  // Before batching: one script and up to two PUBLISH per vote (1,000 and 2,000 here).
  t.true(publishes <= INSTANCES + 5, `${publishes} PUBLISH`);
  t.true(scripts <= INSTANCES * 3 + 20, `${scripts} scripts (heartbeats and resyncs included)`);
  t.is(lost, 0);
});
