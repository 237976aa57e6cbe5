import test from 'ava';
import { startGateway } from '../helpers/gateway.ts';
import { startChildUpstream, type ChildUpstream } from '../helpers/child-upstream.ts';
import { steadyLoad } from '../helpers/load.ts';
import { eventually, request } from '../helpers/http.ts';
import type { GatewayEvent } from '../../src/events/types.ts';

// Faults are real: upstreams are separate processes that get killed, hung or broken.

// Fast heartbeats. A dead node refuses them at once; the timeout only has to leave a healthy node
// time to answer on a machine shared with the rest of the suite (no test here detects a hang by it).
const fastHealth = { path: '/health', interval: '100ms', timeout: '300ms', rise: 2, fall: 2 };

function poolOf(upstreams: ChildUpstream[], extra: Record<string, unknown> = {}) {
  return {
    policy: 'round-robin',
    nodes: upstreams.map((u) => ({ url: u.url, id: u.name })),
    health: fastHealth,
    ...extra,
  };
}

async function upstreams(
  t: Parameters<typeof startChildUpstream>[0],
  count: number,
  mode = 'ok',
): Promise<ChildUpstream[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startChildUpstream(t, `n${i + 1}`, { mode })));
}

/** Request ids delivered more than once (counting only `method` requests, if given). */
function duplicates(nodes: ChildUpstream[], method?: string): string[] {
  const seen = new Map<string, number>();
  for (const node of nodes) {
    for (const d of node.deliveries)
      if (!method || d.method === method) seen.set(d.requestId, (seen.get(d.requestId) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}

test.serial('kill -9 of one node out of three under 200 req/s: zero failed GETs', async (t) => {
  t.timeout(30_000);
  const nodes = await upstreams(t, 3);
  const { url, gateway } = await startGateway(t, {
    pools: { api: poolOf(nodes) },
    routes: [{ path: '/', pool: 'api' }],
  });
  await eventually(() => gateway.status().pools.api!.nodes.every((n) => n.health === 'up'), 3000);
  // What the gateway saw, shown only when a request failed (to tell a lost request's cause).
  const events: string[] = [];
  const started = Date.now();
  gateway.events.subscribe((e) => void events.push(`${Date.now() - started} ms ${JSON.stringify(e)}`));
  const load = steadyLoad(`${url}/work`, { rate: 200, durationMs: 5000 });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const killedAt = Date.now();
  await nodes[1]!.kill('SIGKILL');
  await eventually(() => gateway.status().pools.api!.nodes[1]!.health === 'down', 2000);
  const detectedMs = Date.now() - killedAt;
  const result = await load;
  t.log(
    `sent ${result.sent}, ok ${result.ok}, failed ${result.failures.length}, node marked down ${detectedMs}ms after the kill`,
  );
  if (result.failures.length > 0) t.log(events.join('\n'));
  t.deepEqual(result.failures, []);
  t.true(result.sent >= 950);
  t.true(detectedMs < 1000);
});

test.serial(
  'a hung node: GETs succeed on another node after the per-try timeout; POSTs get 504 and are never sent twice',
  async (t) => {
    t.timeout(30_000);
    const nodes = await upstreams(t, 2);
    const { url } = await startGateway(t, {
      pools: { api: poolOf(nodes, { health: false, timeouts: { response: '300ms' }, passive: { failures: 100 } }) },
      routes: [{ path: '/', pool: 'api' }],
    });
    await nodes[0]!.setMode('hang');
    const gets = await Promise.all(Array.from({ length: 6 }, (_, i) => request(`${url}/get/${i}`)));
    t.deepEqual(
      gets.map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    const posts = await Promise.all(
      Array.from({ length: 6 }, (_, i) => request(`${url}/post/${i}`, { method: 'POST', body: `order ${i}` })),
    );
    const statuses = posts.map((r) => r.status).sort();
    t.true(
      statuses.every((s) => s === 200 || s === 504),
      statuses.join(','),
    );
    t.true(statuses.includes(504), 'the POSTs that reached the hung node time out');
    for (const reply of posts.filter((r) => r.status === 504)) t.is(reply.json().error.code, 'UPSTREAM_TIMEOUT');
    t.deepEqual(duplicates(nodes, 'POST'), [], 'no POST was delivered twice');
    const postsDelivered = nodes.flatMap((n) => n.deliveries).filter((d) => d.method === 'POST');
    t.is(postsDelivered.length, 6, 'every POST was delivered exactly once');
  },
);

test.serial(
  'a POST whose node refuses the connection is sent to another node (it provably never arrived)',
  async (t) => {
    const nodes = await upstreams(t, 2);
    const { url } = await startGateway(t, {
      pools: { api: poolOf(nodes, { health: false }) },
      routes: [{ path: '/', pool: 'api' }],
    });
    await nodes[0]!.kill();
    const replies = await Promise.all(
      Array.from({ length: 4 }, (_, i) => request(`${url}/orders`, { method: 'POST', body: `order ${i}` })),
    );
    t.deepEqual(
      replies.map((r) => r.status),
      [200, 200, 200, 200],
    );
    t.is(nodes[1]!.deliveries.filter((d) => d.method === 'POST').length, 4);
    t.deepEqual(duplicates(nodes, 'POST'), []);
  },
);

test.serial(
  'a 503 burst on one node stays invisible: GETs are retried elsewhere and the node is ejected',
  async (t) => {
    const nodes = await upstreams(t, 3);
    const { url, gateway } = await startGateway(t, {
      pools: { api: poolOf(nodes, { health: false }) },
      routes: [{ path: '/', pool: 'api' }],
    });
    await nodes[2]!.setMode('status:503');
    // One after another, so that the count below measures ejection, not concurrency.
    const replies = [];
    for (let i = 0; i < 30; i++) replies.push(await request(`${url}/r/${i}`));
    t.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    t.is(gateway.status().pools.api!.nodes[2]!.local, 'down');
    t.is(nodes[2]!.deliveries.length, 3, 'ejected after passive.failures (3) answers in a row');
  },
);

test.serial('when no other node can take a retry, the upstream 503 itself is passed on', async (t) => {
  const nodes = await upstreams(t, 1);
  const { url } = await startGateway(t, {
    pools: { api: poolOf(nodes, { health: false, passive: false }) },
    routes: [{ path: '/', pool: 'api' }],
  });
  await nodes[0]!.setMode('status:503');
  const reply = await request(`${url}/x`);
  t.is(reply.status, 503);
  t.is(reply.json().node, 'n1', 'the body is the upstream answer, not a gateway error');
});

test.serial('a flapping node makes a bounded number of transitions', async (t) => {
  t.timeout(20_000);
  const nodes = await upstreams(t, 2);
  const { url, gateway } = await startGateway(t, {
    pools: { api: poolOf(nodes, { passive: { failures: 1, ejectTime: '300ms', maxEjectTime: '3s' } }) },
    routes: [{ path: '/', pool: 'api' }],
  });
  const transitions: GatewayEvent[] = [];
  gateway.events.subscribe((e) => {
    if (e.type === 'health' && e.node === 'n1' && e.reason.startsWith('local')) transitions.push(e);
  });
  let flapping = true;
  const flapper = (async () => {
    for (let i = 0; flapping; i++) {
      await nodes[0]!.setMode(i % 2 === 0 ? 'status:503' : 'ok');
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  })();
  const load = await steadyLoad(`${url}/f`, { rate: 100, durationMs: 4000 });
  flapping = false;
  await flapper;
  t.log(`${transitions.length} transitions of the flapping node in 4 s; ${load.failures.length} failed requests`);
  // 4 s of flapping every 150 ms would be ~26 changes without damping; rise/fall and the
  // growing ejection time (300 ms, 600 ms, 900 ms, …) keep it to a few.
  t.true(transitions.length <= 12, `${transitions.length} transitions`);
  t.deepEqual(load.failures, []);
});

test.serial('all nodes down: a fast 503 with Retry-After, then recovery as soon as one is back', async (t) => {
  t.timeout(20_000);
  const nodes = await upstreams(t, 2);
  const { url, gateway } = await startGateway(t, {
    pools: { api: poolOf(nodes) },
    routes: [{ path: '/', pool: 'api' }],
  });
  await eventually(() => gateway.status().pools.api!.nodes.every((n) => n.health === 'up'), 3000);
  await Promise.all(nodes.map((n) => n.setMode('status:503')));
  await eventually(() => gateway.status().pools.api!.nodes.every((n) => n.health === 'down'), 3000);
  const started = performance.now();
  const replies = await Promise.all(Array.from({ length: 20 }, () => request(`${url}/x`)));
  const took = performance.now() - started;
  t.true(replies.every((r) => r.status === 503 && r.headers['retry-after'] === '1'));
  t.is(replies[0]!.json().error.code, 'NO_NODE_AVAILABLE');
  // No waiting, no queue: 20 concurrent answers in well under a second even on a busy machine.
  t.true(took < 1000, `20 answers took ${took.toFixed(0)} ms`);
  await nodes[1]!.setMode('ok');
  const backAt = Date.now();
  await eventually(async () => (await request(`${url}/x`)).status === 200, 3000);
  t.log(`recovered ${Date.now() - backAt} ms after the node came back`);
});

test.serial('waitForNode: a request waits for a node to come back instead of failing', async (t) => {
  const nodes = await upstreams(t, 1);
  const { url, gateway } = await startGateway(t, {
    pools: { api: poolOf(nodes, { retry: { waitForNode: '3s' } }) },
    routes: [{ path: '/', pool: 'api' }],
  });
  await eventually(() => gateway.status().pools.api!.nodes[0]!.health === 'up', 3000);
  await nodes[0]!.setMode('status:503');
  await eventually(() => gateway.status().pools.api!.nodes[0]!.health === 'down', 3000);
  let answeredAt = 0;
  const pending = request(`${url}/x`).then((reply) => ((answeredAt = Date.now()), reply));
  // The gateway holds it: the request is in flight and has not reached the (down) node.
  await eventually(() => gateway.inflightRequests === 1, 3000);
  const deliveredWhileDown = nodes[0]!.deliveries.filter((d) => d.path === '/x').length;
  await nodes[0]!.setMode('ok');
  const backAt = Date.now();
  const reply = await pending;
  t.is(reply.status, 200);
  t.is(deliveredWhileDown, 0, 'nothing was sent to the node while it was down');
  t.true(answeredAt >= backAt, 'answered only once the node was back');
  t.is(nodes[0]!.deliveries.filter((d) => d.path === '/x').length, 1, 'then delivered once');
  t.log(`answered ${answeredAt - backAt} ms after the node came back (heartbeats: rise 2 × 100 ms)`);
});

test.serial('breaker: open fails fast; half-open lets exactly one trial through', async (t) => {
  const nodes = await upstreams(t, 1);
  const { url, gateway } = await startGateway(t, {
    pools: {
      api: poolOf(nodes, {
        health: false,
        passive: false,
        retry: { attempts: 1 },
        breaker: { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeout: '500ms' },
      }),
    },
    routes: [{ path: '/', pool: 'api' }],
  });
  await nodes[0]!.setMode('status:500');
  for (let i = 0; i < 5; i++) await request(`${url}/x`);
  t.is(gateway.status().pools.api!.nodes[0]!.breaker, 'open');
  const delivered = nodes[0]!.deliveries.length;
  const started = performance.now();
  const fast = await request(`${url}/x`);
  t.is(fast.status, 503);
  t.is(fast.json().error.code, 'NO_NODE_AVAILABLE');
  t.true(performance.now() - started < 250, 'fails fast, without waiting for the node');
  t.is(nodes[0]!.deliveries.length, delivered, 'nothing reaches the node while the breaker is open');

  await eventually(() => gateway.status().pools.api!.nodes[0]!.breaker === 'half-open', 2000);
  await nodes[0]!.setMode('slow:200');
  const burst = await Promise.all(Array.from({ length: 5 }, () => request(`${url}/x`)));
  t.is(nodes[0]!.deliveries.length, delivered + 1, 'exactly one trial request reached the node');
  t.is(burst.filter((r) => r.status === 200).length, 1);
  t.is(gateway.status().pools.api!.nodes[0]!.breaker, 'closed');
});

test.serial(
  'junk, empty answers and resets before headers: 502 on a lone node, retried elsewhere for GETs',
  async (t) => {
    const nodes = await upstreams(t, 2);
    const single = await startGateway(t, {
      pools: { api: poolOf([nodes[0]!], { health: false, passive: false }) },
      routes: [{ path: '/', pool: 'api' }],
    });
    for (const [mode, code] of [
      ['junk', 'UPSTREAM_BAD_RESPONSE'],
      ['empty', 'UPSTREAM_RESET'],
    ] as const) {
      await nodes[0]!.setMode(mode);
      const reply = await request(`${single.url}/x`);
      t.is(reply.status, 502, mode);
      t.is(reply.json().error.code, code, mode);
    }
    const both = await startGateway(t, {
      pools: { api: poolOf(nodes, { health: false, passive: false }) },
      routes: [{ path: '/', pool: 'api' }],
    });
    const replies = await Promise.all(Array.from({ length: 6 }, () => request(`${both.url}/x`)));
    t.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
  },
);
