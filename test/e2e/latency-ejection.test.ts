import test from 'ava';
import { startGateway } from '../helpers/gateway.ts';
import { startChildUpstream, type ChildUpstream } from '../helpers/child-upstream.ts';
import { steadyLoad } from '../helpers/load.ts';
import { eventually, request } from '../helpers/http.ts';
import type { GatewayEvent } from '../../src/events/types.ts';

// Latency-aware ejection with real upstream processes: one hung by SIGSTOP, one merely slow.

async function upstreams(t: Parameters<typeof startChildUpstream>[0], count: number): Promise<ChildUpstream[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startChildUpstream(t, `n${i + 1}`)));
}

function poolOf(nodes: ChildUpstream[], extra: Record<string, unknown> = {}) {
  return { policy: 'round-robin', nodes: nodes.map((u) => ({ url: u.url, id: u.name })), ...extra };
}

test.serial(
  'a hung node is suspected from its lost hedges, probed, and ejected in well under one response timeout',
  async (t) => {
    t.timeout(60_000);
    const nodes = await upstreams(t, 3);
    // Heartbeats every 5 s: on their own (fall 3) they would take 15 s or more to see the hang.
    const { url, gateway } = await startGateway(t, {
      pools: { api: poolOf(nodes, { health: { path: '/health', interval: '5s', timeout: '500ms' } }) },
      routes: [{ path: '/', pool: 'api' }],
    });
    const down: GatewayEvent[] = [];
    gateway.events.subscribe((e) => {
      if (e.type === 'health' && e.node === 'n2' && e.to === 'down' && e.reason.startsWith('local')) down.push(e);
    });
    await eventually(() => gateway.status().pools.api!.nodes.every((n) => n.health === 'up'), 10_000);
    const load = steadyLoad(`${url}/work`, { rate: 50, durationMs: 8000, timeoutMs: 40_000 });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const stoppedAt = Date.now();
    nodes[1]!.child.kill('SIGSTOP');
    await eventually(() => down.length > 0, 20_000);
    const ejectedAfter = Date.now() - stoppedAt;
    const result = await load;
    nodes[1]!.child.kill('SIGCONT');
    t.log(
      `ejected ${ejectedAfter} ms after SIGSTOP: ${down[0]!.reason}; ${result.failures.length} failed of ${result.sent}`,
    );
    t.regex(down[0]!.reason, /hung: lost 3 hedges in a row, then a heartbeat failed/);
    // The response timeout is 30 s (the default); heartbeats alone would need 15 s.
    t.true(ejectedAfter < 10_000, `${ejectedAfter} ms`);
    t.deepEqual(result.failures, []);
    // The ejection is a local verdict like any other: it reaches the (here in-memory) store's vote.
    t.is(gateway.status().pools.api!.nodes[1]!.cluster, 'down');
  },
);

test.serial(
  'a node slower than the others that loses every hedge but answers its heartbeats is not ejected',
  async (t) => {
    t.timeout(60_000);
    const nodes = await upstreams(t, 3);
    // 120 ms per answer (its heartbeats too) against a hedge after 20 ms: every request it gets
    // is hedged while the budget lasts, and the hedge on a fast node wins.
    await nodes[2]!.setMode('slow:120');
    const { url, adminUrl, gateway } = await startGateway(t, {
      pools: {
        api: poolOf(nodes, {
          health: { path: '/health', interval: '1s', timeout: '2s' },
          hedge: { after: '20ms', budget: '50%' },
        }),
      },
      routes: [{ path: '/', pool: 'api' }],
    });
    const down: GatewayEvent[] = [];
    gateway.events.subscribe((e) => {
      if (e.type === 'health' && e.node === 'n3' && e.to === 'down') down.push(e);
    });
    await eventually(() => gateway.status().pools.api!.nodes.every((n) => n.health === 'up'), 10_000);
    const result = await steadyLoad(`${url}/work`, { rate: 50, durationMs: 5000, timeoutMs: 40_000 });
    const metrics = (await request(`${adminUrl}/metrics`)).body;
    const lostOnSlow = metrics
      .split('\n')
      .filter((line) => /^baton_hedges_total\{.*node="n3".*event="cancelled"/.test(line))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    t.log(`${lostOnSlow} hedges lost by the slow node; ${result.failures.length} failed of ${result.sent}`);
    t.true(lostOnSlow >= 3, 'it lost hedges in a row, so it was suspected (and probed)');
    t.deepEqual(down, [], 'never ejected: its heartbeats pass');
    t.is(gateway.status().pools.api!.nodes[2]!.health, 'up');
    t.deepEqual(result.failures, []);
  },
);
