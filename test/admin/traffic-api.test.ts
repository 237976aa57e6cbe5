import test from 'ava';
import hotStandby from '../../plugins/hot-standby.ts';
import type { SeriesDocument } from '../../src/admin/series-view.ts';
import type { PoolTimeline } from '../../src/admin/timeline.ts';
import { startGateway } from '../helpers/gateway.ts';
import { eventually, request } from '../helpers/http.ts';
import { startUpstream } from '../helpers/upstream.ts';

// GET /series and GET /timeline on a real gateway, after real traffic and a real failure.

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
// Generous timeouts: a slow heartbeat on a busy machine must not flap the node that stays up
// (a closed node is still caught at once: its connections are refused).
const fastHealth = { path: '/', interval: '100ms', timeout: '1s', rise: 1, fall: 3 };

async function webGateway(
  t: Parameters<typeof startGateway>[0],
  admin: object = { port: 0 },
  health: object | false = fastHealth,
) {
  const a = await startUpstream('a');
  const b = await startUpstream('b');
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const running = await startGateway(t, {
    admin,
    pools: {
      web: {
        policy: 'round-robin',
        nodes: [
          { url: a.url, id: 'a' },
          { url: b.url, id: 'b' },
        ],
        health,
      },
    },
    routes: [{ path: '/', pool: 'web' }],
  });
  if (health)
    await eventually(() => running.gateway.status().pools.web!.nodes.every((node) => node.health === 'up'), 5000);
  return { a, b, ...running };
}

test('GET /series: per-second requests, failed attempts and retries of the pool and its nodes after a node dies', async (t) => {
  // No heartbeats: the dead node is found by the traffic (a refused attempt, retried on b).
  const { a, url, adminUrl } = await webGateway(t, { port: 0 }, false);
  for (let i = 0; i < 10; i++) t.is((await request(`${url}/x`)).status, 200);
  await a.close();
  for (let i = 0; i < 10; i++) t.is((await request(`${url}/x`)).status, 200, 'the dead node is retried around');

  let doc: SeriesDocument | undefined;
  await eventually(
    async () => {
      doc = (await request(`${adminUrl}/series?pool=web&window=1m`)).json<SeriesDocument>();
      return sum(doc.pools.web!.pool.requests) === 20;
    },
    4000,
    100,
  );
  const { pool, nodes } = doc!.pools.web!;
  t.is(doc!.points, 60);
  t.is(doc!.step, 1000);
  t.true(doc!.from + 60_000 <= Date.now() + 1000, 'the window ends with the last complete second');
  t.is(sum(pool.responses5xx), 0);
  t.true(sum(pool.attempts) > 20, 'the retried requests made more attempts than requests');
  t.true(sum(nodes.a!.failedAttempts) >= 1, 'a failed attempt on the dead node');
  t.true(sum(pool.retries) >= 1);
  t.is(sum(nodes.b!.failedAttempts), 0);
  const busy = pool.requests.findIndex((n) => n > 0);
  t.true(
    pool.p50Ms[busy]! > 0 && pool.p99Ms[busy]! >= pool.p50Ms[busy]!,
    'latency quantiles where there were requests',
  );
  t.is(pool.p50Ms[0], pool.requests[0] === 0 ? null : pool.p50Ms[0], 'no quantile without requests');
  t.true(pool.failedAttemptsPct.some((pct) => pct !== null && pct > 0));
  t.deepEqual(Object.keys(nodes), ['a', 'b']);
});

test('GET /series: every pool without ?pool=, 15 minutes by default; bad queries are coded errors', async (t) => {
  const { adminUrl } = await webGateway(t);
  const all = await request(`${adminUrl}/series`);
  t.is(all.status, 200);
  t.is(all.headers['cache-control'], 'no-store');
  t.is(all.json<SeriesDocument>().points, 900);
  t.deepEqual(Object.keys(all.json<SeriesDocument>().pools), ['web']);
  const missing = await request(`${adminUrl}/series?pool=nope`);
  t.is(missing.status, 404);
  t.is(missing.json().error.code, 'POOL_NOT_FOUND');
  for (const window of ['0s', '16m', 'soon', '500']) {
    const bad = await request(`${adminUrl}/series?window=${window}`);
    t.is(bad.status, 400, window);
    t.is(bad.json().error.code, 'INVALID_QUERY');
  }
  t.is((await request(`${adminUrl}/timeline?window=1h`)).status, 400);
  t.is((await request(`${adminUrl}/timeline?pool=nope`)).json().error.code, 'POOL_NOT_FOUND');
});

test('with tokenForReads, /series and /timeline need the token like every read', async (t) => {
  const { adminUrl } = await webGateway(t, { port: 0, token: 'reads-token-1', tokenForReads: true });
  t.is((await request(`${adminUrl}/series`)).status, 401);
  t.is((await request(`${adminUrl}/timeline`)).status, 401);
  t.is((await request(`${adminUrl}/series`, { headers: { authorization: 'Bearer reads-token-1' } })).status, 200);
  t.is((await request(`${adminUrl}/timeline?token=reads-token-1`)).status, 200);
});

test('GET /timeline: a killed node turns down on its band, with the outage and its detection time, and the event behind it', async (t) => {
  const { a, adminUrl, gateway } = await webGateway(t);
  const killedAt = Date.now();
  await a.close();
  await eventually(() => gateway.status().pools.web!.nodes[0]!.health === 'down', 5000);
  const reply = await request(`${adminUrl}/timeline?pool=web&window=5m`);
  t.is(reply.status, 200);
  const doc = reply.json<{ instance: string; from: number; to: number; pools: Record<string, PoolTimeline> }>();
  const web = doc.pools.web!;
  t.is(web.active, null);
  const [bandA, bandB] = web.nodes;
  t.is(bandA!.id, 'a');
  t.is(bandA!.segments.at(-1)!.state, 'down');
  t.is(bandA!.segments.at(-1)!.to, doc.to);
  t.true(
    bandA!.segments.some((segment) => segment.state === 'up'),
    'it was up before',
  );
  t.deepEqual(
    bandB!.segments.map((s) => s.state).filter((s) => s !== 'unknown'),
    ['up'],
  );
  const outage = web.outages.find((o) => o.node === 'a')!;
  t.truthy(outage);
  t.is(outage.upAt, null, 'still down');
  t.true(outage.downAt >= killedAt - 50);
  t.is(typeof outage.detectedAfterMs, 'number');
  t.is(outage.faultAt, outage.downAt - outage.detectedAfterMs!);
  const cause = web.events.find((e) => e.seq === outage.seq)!;
  t.like(cause, { type: 'health', node: 'a', to: 'down' });
  t.is(doc.instance, gateway.store.instanceId);
});

test('GET /timeline of a hot-standby pool: the active lane follows a failover, with its epochs', async (t) => {
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
  t.is((await request(`${adminUrl}/pools/db/failover`, { method: 'POST' })).status, 200);
  const db = (await request(`${adminUrl}/timeline?pool=db`)).json<{ pools: Record<string, PoolTimeline> }>().pools.db!;
  t.deepEqual(
    db.active!.map(({ node, epoch }) => ({ node, epoch })),
    [
      { node: null, epoch: null },
      { node: 'primary', epoch: 1 },
      { node: 'standby', epoch: 2 },
    ],
  );
  t.deepEqual(
    db.events.filter((e) => e.type === 'promotion').map((e) => e.epoch),
    [1, 2],
  );
});
