import test from 'ava';
import http from 'node:http';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/util/logger.ts';
import { startGateway } from '../helpers/gateway.ts';
import { startChildUpstream, type ChildUpstream } from '../helpers/child-upstream.ts';
import { steadyLoad } from '../helpers/load.ts';
import { eventually, request } from '../helpers/http.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

// Hedged requests, with real upstream processes that hang (SIGSTOP) or answer slowly.

async function upstreams(
  t: Parameters<typeof startChildUpstream>[0],
  count: number,
  mode = 'ok',
): Promise<ChildUpstream[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startChildUpstream(t, `n${i + 1}`, { mode })));
}

function poolOf(nodes: ChildUpstream[], extra: Record<string, unknown> = {}) {
  return { policy: 'round-robin', nodes: nodes.map((u) => ({ url: u.url, id: u.name })), ...extra };
}

/** How many times each request id reached an upstream, for ids delivered more than once. */
function duplicates(nodes: ChildUpstream[], method: string): string[] {
  const seen = new Map<string, number>();
  for (const node of nodes)
    for (const d of node.deliveries) if (d.method === method) seen.set(d.requestId, (seen.get(d.requestId) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

async function metric(adminUrl: string, pattern: RegExp): Promise<number> {
  const text = (await request(`${adminUrl}/metrics`)).body;
  let sum = 0;
  for (const line of text.split('\n')) if (pattern.test(line)) sum += Number(line.split(' ').pop());
  return sum;
}

test.serial(
  'a SIGSTOPped node under load, default settings: zero failed GETs, p99 far below the response timeout',
  async (t) => {
    t.timeout(60_000);
    const nodes = await upstreams(t, 3);
    // Default hedging, heartbeats and timeouts (response: 30 s): only the heartbeat path is set,
    // so that heartbeats do not show up as deliveries.
    const { url, gateway } = await startGateway(t, {
      pools: { api: poolOf(nodes, { health: { path: '/health' } }) },
      routes: [{ path: '/', pool: 'api' }],
    });
    await eventually(() => gateway.status().pools.api!.nodes.every((n) => n.health === 'up'), 5000);
    const load = steadyLoad(`${url}/work`, { rate: 60, durationMs: 6000, timeoutMs: 40_000 });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    nodes[1]!.child.kill('SIGSTOP');
    const result = await load;
    const p50 = percentile(result.latencies, 0.5);
    const p99 = percentile(result.latencies, 0.99);
    const max = Math.max(...result.latencies);
    const kinds = new Map<string, number>();
    for (const f of result.failures)
      kinds.set(f.error ?? f.body ?? String(f.status), (kinds.get(f.error ?? f.body ?? String(f.status)) ?? 0) + 1);
    if (kinds.size) t.log([...kinds]);
    t.log(
      `sent ${result.sent}, failed ${result.failures.length}, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(0)} ms; hedge delay ${gateway.status().pools.api!.hedge?.delayMs} ms`,
    );
    t.deepEqual(result.failures, []);
    // Without hedging, every request caught on the hung node waits the whole response timeout
    // (30 s). A generous bound for a busy machine: a third of it.
    t.true(p99 < 10_000, `p99 ${p99.toFixed(0)} ms`);
    nodes[1]!.child.kill('SIGCONT');
  },
);

/** An in-process upstream that never answers, and notes when the gateway gives up on a request. */
async function hangingUpstream(
  t: Parameters<typeof startChildUpstream>[0],
): Promise<{ upstream: Upstream; aborted: number[]; received: number[]; paths: string[] }> {
  const aborted: number[] = [];
  const received: number[] = [];
  const paths: string[] = [];
  const upstream = await startUpstream('hang', (req, res) => {
    received.push(Date.now());
    paths.push(req.url ?? '');
    res.on('close', () => {
      if (!res.writableFinished) aborted.push(Date.now());
    });
  });
  t.teardown(() => upstream.close());
  return { upstream, aborted, received, paths };
}

test.serial(
  "a hedge's loser is aborted at the upstream at once; the winner answers; metrics and the access log show it",
  async (t) => {
    const hang = await hangingUpstream(t);
    const fast = await startUpstream('fast');
    t.teardown(() => fast.close());
    const lines: Array<Record<string, any>> = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
        done();
      },
    });
    const { url, adminUrl, gateway } = await startGateway(
      t,
      {
        log: { level: 'info', access: true },
        pools: {
          api: {
            policy: 'round-robin',
            nodes: [
              { url: hang.upstream.url, id: 'hang' },
              { url: fast.url, id: 'fast' },
            ],
            health: false,
            hedge: { after: '50ms' },
            timeouts: { response: '20s' },
          },
        },
        routes: [{ path: '/', pool: 'api' }],
      },
      { logger: createLogger({ level: 'info', destination: stream }) },
    );
    const started = Date.now();
    const replies = [];
    for (let i = 0; i < 4; i++)
      replies.push(await request(`${url}/r/${i}`, { headers: { 'x-request-id': `hedge-${i}` } }));
    const took = Date.now() - started;
    t.deepEqual(
      replies.map((r) => r.status),
      [200, 200, 200, 200],
    );
    t.true(replies.every((r) => r.json().node === 'fast'));
    t.true(hang.received.length >= 1, 'some requests went to the hanging node first');
    await eventually(() => hang.aborted.length === hang.received.length, 5000);
    t.true(took < 10_000, `4 requests took ${took} ms; the response timeout is 20 s`);
    // Access lines are written once each response is over: wait for the four.
    await eventually(() => lines.filter((l) => l.msg === 'request').length === 4, 5000);
    const hedged = lines.filter((l) => l.msg === 'request' && l.hedges === 1);
    // Every request that reached the hanging node was hedged (on a slow machine a hedge can also
    // win before the hanging node even read its copy, hence at least).
    t.true(
      hedged.length >= hang.received.length,
      `${hedged.length} hedged, ${hang.received.length} received by the hanging node`,
    );
    for (const line of hedged) t.like(line, { node: 'fast', attempts: 2, status: 200 });
    t.is(await metric(adminUrl, /^baton_hedges_total\{.*node="fast".*event="sent"/), hedged.length);
    t.is(await metric(adminUrl, /^baton_hedges_total\{.*node="fast".*event="won"/), hedged.length);
    t.is(await metric(adminUrl, /^baton_hedges_total\{.*node="hang".*event="cancelled"/), hedged.length);
    // The loser's cancellation is not a failure of its node.
    t.is(gateway.status().pools.api!.nodes[0]!.breaker, 'closed');
    t.not(gateway.status().pools.api!.nodes[0]!.local, 'down');
    t.is(gateway.status().pools.api!.hedge?.delayMs, 50);
  },
);

test.serial(
  'a POST without Idempotency-Key is never hedged (0 duplicates); one with a key, or a GET, is',
  async (t) => {
    t.timeout(40_000);
    const nodes = await upstreams(t, 2);
    await nodes[0]!.setMode('slow:400');
    const { url } = await startGateway(t, {
      pools: { api: poolOf(nodes, { health: false, passive: false, hedge: { after: '30ms' } }) },
      routes: [{ path: '/', pool: 'api' }],
    });
    const posts = await Promise.all(
      Array.from({ length: 8 }, (_, i) => request(`${url}/orders/${i}`, { method: 'POST', body: `order ${i}` })),
    );
    t.true(posts.every((r) => r.status === 200));
    t.deepEqual(duplicates(nodes, 'POST'), [], 'no POST was delivered twice');
    t.is(nodes.flatMap((n) => n.deliveries).filter((d) => d.method === 'POST').length, 8);
    // The same requests with a key: the ones on the slow node are hedged (which shows the test can fail).
    const keyed = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        request(`${url}/keyed/${i}`, { method: 'POST', body: `order ${i}`, headers: { 'idempotency-key': `k-${i}` } }),
      ),
    );
    t.true(keyed.every((r) => r.status === 200));
    const keyedDeliveries = nodes.flatMap((n) => n.deliveries).filter((d) => d.path.startsWith('/keyed/'));
    t.true(keyedDeliveries.length > 8, `${keyedDeliveries.length} deliveries of 8 keyed POSTs`);
  },
);

test.serial('the budget holds when every node is slow: hedges stay within the share (plus the burst)', async (t) => {
  t.timeout(60_000);
  const nodes = await upstreams(t, 3, 'slow:150');
  const { url, adminUrl } = await startGateway(t, {
    pools: { api: poolOf(nodes, { health: false, passive: false, hedge: { after: '10ms', budget: '5%' } }) },
    routes: [{ path: '/', pool: 'api' }],
  });
  const requests = 300;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  t.teardown(() => agent.destroy());
  for (let batch = 0; batch < requests / 50; batch++) {
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => request(`${url}/b/${batch}/${i}`, { agent })),
    );
    t.true(replies.every((r) => r.status === 200));
  }
  const delivered = nodes.flatMap((n) => n.deliveries).filter((d) => d.path.startsWith('/b/')).length;
  const hedges = await metric(adminUrl, /^baton_hedges_total\{.*event="sent"/);
  // A machine that stalls can make one node answer late enough to lose 3 hedges in a row: it is
  // then suspected, and the requests waiting on it are rescued past the budget (counted apart).
  const rescued = await metric(adminUrl, /^baton_hedges_total\{.*event="rescued"/);
  t.log(`${requests} requests, ${delivered} deliveries, ${hedges} hedges, ${rescued} of them rescues`);
  // Every request is later than the hedge delay: without a budget each would be sent twice.
  t.true(hedges - rescued > 0, 'the budget, not the delay, is what limits');
  t.true(
    hedges - rescued <= requests * 0.05 + 10 + 1,
    `${hedges - rescued} hedges on the budget for ${requests} requests`,
  );
  // At most the requests one node holds at once (50 in flight, a third each), per suspicion.
  t.true(rescued <= 50, `${rescued} rescues`);
  // A hedge cancelled before it reached its node (the first answer came while it connected) is not delivered.
  t.true(delivered <= requests + hedges, `${delivered} deliveries`);
});

test.serial('a request stuck on a node that goes down is hedged at once, even before a delay is learned', async (t) => {
  t.timeout(40_000);
  const hang = await hangingUpstream(t);
  const fast = await startUpstream('fast');
  t.teardown(() => fast.close());
  const { url, adminUrl, gateway } = await startGateway(t, {
    pools: {
      api: {
        policy: 'round-robin',
        nodes: [
          { url: hang.upstream.url, id: 'hang' },
          { url: fast.url, id: 'fast' },
        ],
        // The hanging node's heartbeats hang too: down after two of them. The response
        // timeout is the default 30 s; nothing is learned yet (fewer than 20 answers).
        health: { interval: '300ms', timeout: '200ms', fall: 2 },
      },
    },
    routes: [{ path: '/', pool: 'api' }],
  });
  const started = Date.now();
  const replies = await Promise.all(Array.from({ length: 4 }, (_, i) => request(`${url}/r/${i}`)));
  const took = Date.now() - started;
  t.deepEqual(
    replies.map((r) => r.status),
    [200, 200, 200, 200],
  );
  t.true(hang.received.length >= 1, 'some requests went to the hanging node first');
  t.is(gateway.status().pools.api!.hedge?.delayMs, null, 'no delay learned');
  t.true(took < 15_000, `answered after ${took} ms; the response timeout is 30 s`);
  // Rescues past the budget are counted apart, on the node the requests were stuck on.
  const rescued = await metric(adminUrl, /^baton_hedges_total\{.*node="hang".*event="rescued"/);
  t.is(rescued, hang.paths.filter((path) => path.startsWith('/r/')).length);
  await eventually(() => hang.aborted.length === hang.received.length, 5000);
});

test.serial(
  'a hedge answered with a retryable status waits for the first try still in flight: 200, not 503',
  async (t) => {
    // The first try's node is slow but healthy; the hedge lands on a node that says 503. The race
    // must not hand the client that 503 while the slow node can still answer.
    const slow = await startUpstream('slow', (_req, res) => {
      setTimeout(() => res.end('{"node":"slow"}'), 400);
    });
    const unavailable = await startUpstream('unavailable', (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"node":"unavailable"}');
    });
    t.teardown(() => Promise.all([slow.close(), unavailable.close()]));
    const { url } = await startGateway(t, {
      pools: {
        api: {
          policy: 'round-robin',
          nodes: [
            { url: slow.url, id: 'slow' },
            { url: unavailable.url, id: 'unavailable' },
          ],
          health: false,
          passive: false,
          breaker: false,
          hedge: { after: '50ms' },
        },
      },
      routes: [{ path: '/', pool: 'api' }],
    });
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await request(`${url}/r/${i}`));
    t.deepEqual(
      replies.map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    t.true(replies.every((r) => r.json().node === 'slow'));
    // Round-robin put some first tries on the slow node: those were hedged onto the 503 node.
    t.true(unavailable.requests.length >= 3, `${unavailable.requests.length} requests reached the 503 node`);
  },
);
