import test from 'ava';
import roundRobin from '../../plugins/round-robin.ts';
import { fakeNode, fakePool, instantiate, pickContext, tally } from '../helpers/fake-pool.ts';
import { problemsFor } from '../helpers/settings.ts';

const sequence = (pool: ReturnType<typeof fakePool>, n: number) => {
  const policy = instantiate(roundRobin, {}, pool);
  return Array.from({ length: n }, () => policy.pick(pool, pickContext())?.id);
};

test('cycles through the nodes in order', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b'), fakeNode('c')]);
  t.deepEqual(sequence(pool, 6), ['a', 'b', 'c', 'a', 'b', 'c']);
});

test('skips unusable nodes', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b', { usable: false }), fakeNode('c')]);
  t.deepEqual(sequence(pool, 4), ['a', 'c', 'a', 'c']);
});

test('skips nodes already tried for this request', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b'), fakeNode('c')]);
  const policy = instantiate(roundRobin, {}, pool);
  const ctx = pickContext({ tried: new Set(['a', 'b']), attempt: 3 });
  t.is(policy.pick(pool, ctx)?.id, 'c');
  t.is(policy.pick(pool, pickContext({ tried: new Set(['a', 'b', 'c']) })), undefined);
});

test('serves the lowest tier that has a usable node', (t) => {
  const pool = fakePool([fakeNode('p1'), fakeNode('p2'), fakeNode('s1', { tier: 1 }), fakeNode('s2', { tier: 1 })]);
  t.deepEqual(sequence(pool, 4), ['p1', 'p2', 'p1', 'p2']);
  pool.node('p1').usable = false;
  pool.node('p2').usable = false;
  t.deepEqual(sequence(pool, 4), ['s1', 's2', 's1', 's2']);
});

test('no usable node: undefined', (t) => {
  const pool = fakePool([fakeNode('a', { usable: false })]);
  t.is(sequence(pool, 1)[0], undefined);
});

test('10k picks split evenly', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b'), fakeNode('c'), fakeNode('d')]);
  const counts = tally(instantiate(roundRobin, {}, pool), pool, 10_000);
  t.deepEqual(Object.fromEntries(counts), { a: 2500, b: 2500, c: 2500, d: 2500 });
});

test('a pick that finds nothing eligible does not move the rotation', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b'), fakeNode('c')]);
  const policy = instantiate(roundRobin, {}, pool);
  t.is(policy.pick(pool, pickContext())?.id, 'a');
  t.is(policy.pick(pool, pickContext({ tried: new Set(['a', 'b', 'c']) })), undefined);
  t.deepEqual(
    Array.from({ length: 3 }, () => policy.pick(pool, pickContext())?.id),
    ['b', 'c', 'a'],
  );
});

test('a config names it round-robin', (t) => {
  const config = {
    listen: { port: 8080 },
    pools: { api: { policy: 'round-robin', nodes: [{ url: 'http://127.0.0.1:9001' }] } },
    routes: [{ pool: 'api' }],
  };
  t.deepEqual(problemsFor(config), []);
  t.is(roundRobin.name, 'round-robin');
});
