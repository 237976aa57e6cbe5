import test, { type ExecutionContext } from 'ava';
import type { GatewayEvent } from '../../src/events/types.ts';
import { EventBus } from '../../src/events/bus.ts';
import { PoolSet } from '../../src/pool/pool-set.ts';
import { MemoryHub, MemoryStore } from '../../src/state/memory-store.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { settingsFor } from '../helpers/settings.ts';

// The pool set on a fake clock and an in-memory store shared with one other instance ('other'):
// what the store says reaches the nodes and pools (when a pool starts, and with every change it
// announces), each change is announced once with its scope, a reload keeps what did not change,
// and removed nodes wait for their requests on the clock. No sockets: heartbeats are off.

type PoolsConfig = Record<string, { nodes: string[] }>;

function poolSettings(pools: PoolsConfig) {
  const config = {
    listen: { port: 0 },
    pools: Object.fromEntries(
      Object.entries(pools).map(([name, { nodes }]) => [
        name,
        {
          policy: 'round-robin',
          health: false,
          nodes: nodes.map((id, i) => ({ id, url: `http://127.0.0.1:${9 + i}` })),
        },
      ]),
    ),
    routes: Object.keys(pools).map((name) => ({ path: `/${name}`, pool: name })),
  };
  return settingsFor(config).pools;
}

interface Harness {
  readonly clock: FakeClock;
  readonly set: PoolSet;
  /** The other instance of the cluster. */
  readonly other: MemoryStore;
  readonly events: GatewayEvent[];
  start(): Promise<void>;
}

/** Lets the store's notices (delivered as microtasks) and settled promises run; no time passes. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

async function harness(t: ExecutionContext, pools: PoolsConfig): Promise<Harness> {
  const clock = new FakeClock();
  const hub = new MemoryHub(clock);
  const store = new MemoryStore({ instanceId: 'here', hub });
  const other = new MemoryStore({ instanceId: 'other', hub });
  await other.start();
  const bus = new EventBus();
  const events: GatewayEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const set = new PoolSet({ clock, store, bus, log: silentLogger(), activate: async () => {} });
  set.build(poolSettings(pools));
  t.teardown(async () => {
    set.stop();
    await store.stop();
    await other.stop();
  });
  return {
    clock,
    set,
    other,
    events,
    async start() {
      await store.start();
      set.start();
      await flush();
    },
  };
}

test('a pool that starts takes the drain flags and cluster verdicts the store has', async (t) => {
  const h = await harness(t, { web: { nodes: ['a', 'b'] } });
  await h.other.setDrain('web', 'a', true);
  h.other.reportHealth('web', 'b', 'down', 'refused');
  await h.start();
  const web = h.set.get('web')!;
  t.true(web.node('a')!.draining);
  t.is(web.node('b')!.cluster, 'down');
  t.false(web.node('b')!.usable, 'down in the cluster: passed over here too');
});

test("another instance's drain applies here and is announced once, as a cluster event", async (t) => {
  const h = await harness(t, { web: { nodes: ['a', 'b'] } });
  await h.start();
  const web = h.set.get('web')!;
  const version = web.version;
  await h.other.setDrain('web', 'a', true);
  await flush();
  t.true(web.node('a')!.draining);
  t.true(web.version > version, 'waiting requests are woken');
  const drains = h.events.filter((e) => e.type === 'drain');
  t.is(drains.length, 1);
  t.like(drains[0], { scope: 'cluster', pool: 'web', node: 'a', to: 'draining', instance: 'here' });
  t.is(drains[0]!.time, h.clock.now(), 'stamped by the clock');
});

test('the cluster verdict reaches the node and is announced once, as a cluster event', async (t) => {
  const h = await harness(t, { web: { nodes: ['a'] } });
  await h.start();
  const node = h.set.get('web')!.node('a')!;
  h.other.reportHealth('web', 'a', 'down', 'refused');
  await flush();
  t.is(node.cluster, 'down');
  t.is(node.local, 'unknown', 'what this instance saw itself is unchanged');
  const health = h.events.filter((e) => e.type === 'health');
  t.like(health, [{ scope: 'cluster', node: 'a', from: 'unknown', to: 'down' }]);
  h.other.reportHealth('web', 'a', 'down', 'still refused');
  await flush();
  t.is(h.events.filter((e) => e.type === 'health').length, 1);
});

test('a local transition is announced as a local event and voted into the store', async (t) => {
  const h = await harness(t, { web: { nodes: ['a'] } });
  await h.start();
  const node = h.set.get('web')!.node('a')!;
  node.recordOutcome({ kind: 'ok', status: 200, latencyMs: 1, failed: false });
  await flush();
  t.like(
    h.events.find((e) => e.type === 'health' && e.scope === 'local'),
    { node: 'a', from: 'unknown', to: 'up' },
  );
  t.is(h.other.clusterHealth('web', 'a')?.verdict, 'up', 'the other instance has the vote');
});

test('a promotion from the store is adopted and announced as a cluster event', async (t) => {
  const h = await harness(t, { db: { nodes: ['a', 'b'] } });
  await h.start();
  await h.other.propose('db', { expectedEpoch: 0, to: 'b', reason: 'initial' });
  await flush();
  t.is(h.set.get('db')!.activeState?.active, 'b');
  const promotions = h.events.filter((e) => e.type === 'promotion');
  t.like(promotions, [{ scope: 'cluster', pool: 'db', to: 'b', epoch: 1 }]);
});

test('a reload keeps unchanged pools and kept nodes with their state; removed nodes go once idle', async (t) => {
  const h = await harness(t, { web: { nodes: ['a', 'b'] }, old: { nodes: ['x'] } });
  await h.start();
  const web = h.set.get('web')!;
  const a = web.node('a')!;
  const b = web.node('b')!;
  await h.other.setDrain('web', 'a', true);
  await flush();
  b.begin(); // a request still on b
  const summary = h.set.reconcile(poolSettings({ web: { nodes: ['a'] }, api: { nodes: ['y'] } }));
  t.deepEqual(summary, { added: ['api'], removed: ['old'], changed: ['web'], unchanged: [] });
  const next = h.set.get('web')!;
  t.not(next, web, 'a changed pool is a new Pool');
  t.is(next.node('a'), a, 'the kept node is the same object');
  t.true(a.draining, 'with its drain flag');
  t.is(h.set.get('old'), undefined);
  t.truthy(h.set.get('api'));
  let disposed = false;
  const dispose = b.dispose.bind(b);
  b.dispose = () => {
    disposed = true;
    dispose();
  };
  h.clock.advance(1000);
  t.false(disposed, 'b still has a request in flight');
  b.end();
  h.clock.advance(100);
  t.true(disposed, 'disposed at the next check once idle');
  t.deepEqual([...h.set.all().map((p) => p.name)].sort(), ['api', 'web']);
});

test('a removed node with a request that never ends is disposed after five minutes', async (t) => {
  const h = await harness(t, { web: { nodes: ['a', 'b'] } });
  await h.start();
  const b = h.set.get('web')!.node('b')!;
  b.begin();
  h.set.reconcile(poolSettings({ web: { nodes: ['a'] } }));
  let disposed = false;
  const dispose = b.dispose.bind(b);
  b.dispose = () => {
    disposed = true;
    dispose();
  };
  h.clock.advance(4 * 60_000);
  t.false(disposed);
  h.clock.advance(60_000 + 100);
  t.true(disposed);
});
