import test from 'ava';
import hotStandby from '../../plugins/hot-standby.ts';
import { createMetrics } from '../../src/admin/metrics.ts';
import type { PoolSet } from '../../src/pool/pool-set.ts';
import { MemoryHub, MemoryStore } from '../../src/state/memory-store.ts';
import { systemClock } from '../../src/util/clock.ts';
import { startGateway } from '../helpers/gateway.ts';
import { closedPort, startUpstream } from '../helpers/upstream.ts';
import { eventually, request } from '../helpers/http.ts';

/** Value of one series in Prometheus text, found by name and a label subset. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('metrics after traffic: requests, latency, attempts and retries, health, breakers, store, process', async (t) => {
  const a = await startUpstream('a');
  t.teardown(() => a.close());
  const dead = await closedPort();
  const { url, adminUrl } = await startGateway(t, {
    pools: {
      web: {
        policy: 'round-robin',
        nodes: [
          { url: a.url, id: 'a' },
          { url: `http://127.0.0.1:${dead}`, id: 'dead' },
        ],
        health: false,
      },
    },
    routes: [{ path: '/', pool: 'web', name: 'all' }],
  });
  for (let i = 0; i < 6; i++) t.is((await request(`${url}/x`)).status, 200);
  const reply = await request(`${adminUrl}/metrics`);
  t.is(reply.status, 200);
  t.regex(String(reply.headers['content-type']), /^text\/plain/);
  const text = reply.body;
  t.is(sample(text, 'baton_requests_total', { route: 'all', pool: 'web', status_class: '2xx' }), 6);
  t.is(sample(text, 'baton_request_duration_seconds_count', { route: 'all', pool: 'web' }), 6);
  t.is(
    sample(text, 'baton_upstream_attempts_total', { node: 'dead', outcome: 'connect', retry: 'false' }),
    1,
    'the one request that met the dead node',
  );
  t.is(
    sample(text, 'baton_upstream_attempts_total', { node: 'a', outcome: 'ok', retry: 'true' }),
    1,
    'and was retried on a',
  );
  t.is(sample(text, 'baton_node_health', { node: 'dead', scope: 'local', state: 'down' }), 1);
  t.is(sample(text, 'baton_node_health', { node: 'a', scope: 'effective', state: 'up' }), 1);
  t.is(sample(text, 'baton_breaker_state', { node: 'a', state: 'closed' }), 1);
  t.is(sample(text, 'baton_node_inflight', { node: 'a' }), 0);
  t.is(sample(text, 'baton_store_connected', { store: 'memory' }), 1);
  t.true((sample(text, 'baton_detection_seconds_count', { pool: 'web' }) ?? 0) >= 1, 'time to detect recorded');
  t.truthy(sample(text, 'baton_process_resident_memory_bytes'), 'Node process metrics');
  t.regex(text, /# HELP baton_requests_total /);
});

test('metrics of an active-passive pool: failovers and the epoch', async (t) => {
  const primary = await startUpstream('primary');
  const standby = await startUpstream('standby');
  t.teardown(() => Promise.all([primary.close(), standby.close()]));
  const { adminUrl, gateway } = await startGateway(t, {
    pools: {
      db: {
        policy: hotStandby({ failbackDelay: '1h' }),
        nodes: [
          { url: primary.url, id: 'primary' },
          { url: standby.url, id: 'standby', tier: 1 },
        ],
        health: false,
      },
    },
    routes: [{ path: '/', pool: 'db' }],
  });
  await eventually(() => gateway.status().pools.db!.active === 'primary', 2000);
  await request(`${adminUrl}/pools/db/failover`, { method: 'POST' });
  const text = (await request(`${adminUrl}/metrics`)).body;
  t.is(sample(text, 'baton_pool_epoch', { pool: 'db', active: 'standby' }), 2);
  t.is(sample(text, 'baton_failovers_total', { pool: 'db' }), 2, 'the initial election and the forced failover');
});

test('health transitions are counted by the scope the event carries, whatever its reason says', async (t) => {
  const hub = new MemoryHub(systemClock());
  const metrics = createMetrics(
    () => ({ all: () => [] }) as unknown as PoolSet,
    new MemoryStore({ instanceId: 'gw', hub }),
  );
  t.teardown(() => metrics.stop());
  const health = { type: 'health' as const, time: 0, instance: 'gw', pool: 'web', node: 'a', from: 'up', to: 'down' };
  metrics.onEvent({ ...health, scope: 'cluster', reason: 'local: words a parser would take for local' }, 1);
  metrics.onEvent({ ...health, scope: 'local', reason: 'cluster: words a parser would take for cluster' }, 2);
  metrics.onEvent({ ...health, scope: 'local', reason: 'probe failed' }, 3);
  const values = (await metrics.registry.getSingleMetric('baton_health_transitions_total')!.get()).values;
  const count = (scope: string) => values.find((v) => v.labels.scope === scope)?.value;
  t.is(count('cluster'), 1);
  t.is(count('local'), 2);
});
