import test from 'ava';
import leastConnections from '../../plugins/least-connections.ts';
import { fakeNode, fakePool, instantiate, pickContext, share, tally, type FakeNode } from '../helpers/fake-pool.ts';
import { problemsFor } from '../helpers/settings.ts';

type Case = { name: string; nodes: FakeNode[]; tried?: string[]; expect: string | undefined };
const picks: Case[] = [
  {
    name: 'fewest in flight',
    nodes: [fakeNode('a', { inflight: 3 }), fakeNode('b', { inflight: 1 }), fakeNode('c', { inflight: 2 })],
    expect: 'b',
  },
  {
    name: 'in flight per unit of weight: 4/4 beats 2/1',
    nodes: [fakeNode('a', { inflight: 4, weight: 4 }), fakeNode('b', { inflight: 2, weight: 1 })],
    expect: 'a',
  },
  {
    name: 'weight 3 with 5 in flight (1.67) loses to weight 1 with 1 (1)',
    nodes: [fakeNode('a', { inflight: 5, weight: 3 }), fakeNode('b', { inflight: 1 })],
    expect: 'b',
  },
  {
    name: 'an unusable node is skipped even when idle',
    nodes: [
      fakeNode('a', { inflight: 0, usable: false }),
      fakeNode('b', { inflight: 7 }),
      fakeNode('c', { inflight: 9 }),
    ],
    expect: 'b',
  },
  {
    name: 'a tried node is skipped even when idle',
    nodes: [fakeNode('a', { inflight: 0 }), fakeNode('b', { inflight: 7 }), fakeNode('c', { inflight: 9 })],
    tried: ['a'],
    expect: 'b',
  },
  {
    name: 'the lowest tier first, even when the next tier is idle',
    nodes: [fakeNode('a', { inflight: 50 }), fakeNode('s', { tier: 1, inflight: 0 })],
    expect: 'a',
  },
  {
    name: 'the next tier when the lowest has nothing untried',
    nodes: [fakeNode('a'), fakeNode('s', { tier: 1, inflight: 50 }), fakeNode('t', { tier: 1, inflight: 60 })],
    tried: ['a'],
    expect: 's',
  },
  { name: 'nothing usable: undefined', nodes: [fakeNode('a', { usable: false })], expect: undefined },
];

for (const c of picks) {
  test(c.name, (t) => {
    const pool = fakePool(c.nodes);
    const policy = instantiate(leastConnections, {}, pool);
    const ctx = pickContext({ tried: new Set(c.tried ?? []) });
    for (let i = 0; i < 100; i++) t.is(policy.pick(pool, ctx)?.id, c.expect);
  });
}

test('ties are broken at random, roughly evenly', (t) => {
  const pool = fakePool([
    fakeNode('a', { inflight: 1 }),
    fakeNode('b', { inflight: 5 }),
    fakeNode('c', { inflight: 1 }),
  ]);
  const counts = tally(instantiate(leastConnections, {}, pool), pool, 10_000);
  t.is(counts.get('b'), undefined);
  t.true(Math.abs(share(counts, 'a') - 0.5) <= 0.03, `a: ${share(counts, 'a')}`);
  t.true(Math.abs(share(counts, 'c') - 0.5) <= 0.03, `c: ${share(counts, 'c')}`);
});

test('an idle pool spreads over every node, and weighted ties count as ties', (t) => {
  const pool = fakePool([
    fakeNode('a'),
    fakeNode('b', { weight: 5 }),
    fakeNode('c', { inflight: 2, weight: 2 }),
    fakeNode('d', { inflight: 1 }),
  ]);
  pool.version = 1;
  // a and b: 0 in flight; c: 2/2 = 1 and d: 1/1 = 1 lose.
  const counts = tally(instantiate(leastConnections, {}, pool), pool, 10_000);
  t.deepEqual([...counts.keys()].sort(), ['a', 'b']);
  t.true(Math.abs(share(counts, 'a') - 0.5) <= 0.03);
});

test('follows in-flight counts as they change between picks', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b'), fakeNode('c')]);
  pool.version = 1;
  const policy = instantiate(leastConnections, {}, pool);
  // Each pick adds a request in flight: three picks fill the three nodes once each.
  const picked = Array.from({ length: 6 }, () => {
    const node = pool.node(policy.pick(pool, pickContext())!.id);
    node.inflight += 1;
    return node.id;
  });
  t.deepEqual([...picked.slice(0, 3)].sort(), ['a', 'b', 'c']);
  t.deepEqual([...picked.slice(3)].sort(), ['a', 'b', 'c']);
});

test('takes no options', (t) => {
  t.is(leastConnections.options, undefined);
});

test('a config names it least-connections', (t) => {
  const config = {
    listen: { port: 8080 },
    pools: { api: { policy: 'least-connections', nodes: [{ url: 'http://127.0.0.1:9001' }] } },
    routes: [{ pool: 'api' }],
  };
  t.deepEqual(problemsFor(config), []);
  t.is(leastConnections.name, 'least-connections');
});
