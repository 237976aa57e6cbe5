import test from 'ava';
import type { Pool } from '../../src/pool/pool.ts';
import type { EventBody } from '../../src/pool/pool-events.ts';
import { StoreSync } from '../../src/pool/store-sync.ts';
import type { ActiveState, ClusterHealth, StateStore } from '../../src/state/types.ts';

// The one place the store's facts are copied into pools and nodes. Here the store is a
// scripted cache: what it says after the loss of its connection (no cluster verdicts), and
// what it says again once back, is what the nodes hold.

const verdict = (v: 'up' | 'down'): ClusterHealth => ({ verdict: v, since: 0, reason: 'votes', downVotes: [] });
const active = (node: string, epoch: number): ActiveState => ({
  active: node,
  epoch,
  since: 0,
  reason: 'r',
  by: 'other',
  id: `p${epoch}`,
  from: null,
  flips: 0,
  pinned: false,
});

function fakePool(name: string, ids: string[]) {
  const nodes = ids.map((id) => ({
    id,
    draining: false,
    cluster: undefined as ClusterHealth | undefined,
    setClusterHealth(health: ClusterHealth | undefined) {
      this.cluster = health;
    },
  }));
  const pool = {
    name,
    nodes,
    activeState: undefined as ActiveState | undefined,
    changes: 0,
    node: (id: string) => nodes.find((n) => n.id === id),
    setActiveState(state: ActiveState | undefined) {
      pool.activeState = state;
      pool.changes += 1;
    },
    changed() {
      pool.changes += 1;
    },
  };
  return pool;
}

function setup() {
  const cache = {
    health: new Map<string, ClusterHealth>(),
    drained: new Set<string>(),
    active: new Map<string, ActiveState>(),
  };
  const store = {
    clusterHealth: (pool: string, node: string) => cache.health.get(`${pool}/${node}`),
    drained: (pool: string, node: string) => cache.drained.has(`${pool}/${node}`),
    activeState: (pool: string) => cache.active.get(pool),
  } as unknown as StateStore;
  const web = fakePool('web', ['a', 'b']);
  const events: EventBody[] = [];
  const changed: string[] = [];
  const sync = new StoreSync({
    store,
    pools: () => [web as unknown as Pool],
    pool: (name) => (name === 'web' ? (web as unknown as Pool) : undefined),
    emit: (event) => events.push(event),
    changed: (pool) => changed.push(pool.name),
  });
  return { cache, web, events, changed, sync };
}

test('a starting pool takes the cache: verdicts, drains and the active state', (t) => {
  const { cache, web, sync } = setup();
  cache.health.set('web/a', verdict('down'));
  cache.drained.add('web/b');
  cache.active.set('web', active('b', 3));
  sync.adopt(web as unknown as Pool);
  t.is(web.node('a')!.cluster?.verdict, 'down');
  t.true(web.node('b')!.draining);
  t.is(web.activeState?.epoch, 3);
});

test('a promotion at or below the epoch the pool started with is not news', (t) => {
  const { cache, web, events, sync } = setup();
  cache.active.set('web', active('b', 3));
  sync.adopt(web as unknown as Pool);
  sync.apply({ type: 'active', pool: 'web', state: active('b', 3), previous: undefined });
  t.deepEqual(events, []);
  sync.apply({ type: 'active', pool: 'web', state: active('a', 4), previous: active('b', 3) });
  t.like(events, [{ type: 'promotion', scope: 'cluster', from: 'b', to: 'a', epoch: 4 }]);
  sync.apply({ type: 'active', pool: 'web', state: active('a', 4), previous: active('b', 3) });
  t.is(events.length, 1, 'once per epoch');
});

test('a lower-ranked active state announced late does not replace the one the pool has', (t) => {
  const { web, sync } = setup();
  sync.adopt(web as unknown as Pool);
  sync.apply({ type: 'active', pool: 'web', state: active('a', 5), previous: undefined });
  sync.apply({ type: 'active', pool: 'web', state: active('b', 4), previous: undefined });
  t.is(web.activeState?.active, 'a');
});

test('losing the store and getting it back: a local event each time, and the nodes take the cache', (t) => {
  const { cache, web, events, changed, sync } = setup();
  cache.health.set('web/a', verdict('down'));
  sync.adopt(web as unknown as Pool);
  t.is(web.node('a')!.cluster?.verdict, 'down');
  // Lost: the store has no cluster verdicts to give; nodes fall back to their local ones.
  cache.health.clear();
  sync.apply({ type: 'connection', connected: false, reason: 'no heartbeat reply' });
  t.is(web.node('a')!.cluster, undefined);
  // Back, with what happened meanwhile.
  cache.health.set('web/a', verdict('up'));
  cache.drained.add('web/a');
  cache.active.set('web', active('b', 7));
  sync.apply({ type: 'connection', connected: true, reason: 'Redis reachable' });
  t.is(web.node('a')!.cluster?.verdict, 'up');
  t.true(web.node('a')!.draining);
  t.is(web.activeState?.active, 'b');
  t.like(events, [
    { type: 'store', scope: 'local', to: 'disconnected' },
    { type: 'store', scope: 'local', to: 'connected' },
  ]);
  t.deepEqual(changed, ['web', 'web'], 'waiting requests are woken and the pool re-elected each time');
});
