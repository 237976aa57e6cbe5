import test from 'ava';
import weighted from '../../plugins/weighted-round-robin.ts';
import { fakeNode, fakePool, instantiate, pickContext, tally } from '../helpers/fake-pool.ts';
import { problemsFor } from '../helpers/settings.ts';

test('smooth: weights 5,1,1 give the NGINX sequence a a b a c a a', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 5 }), fakeNode('b'), fakeNode('c')]);
  const policy = instantiate(weighted, {}, pool);
  const picks = Array.from({ length: 7 }, () => policy.pick(pool, pickContext())?.id);
  t.deepEqual(picks, ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
});

test('10k picks follow the weights exactly', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 3 }), fakeNode('b', { weight: 2 }), fakeNode('c', { weight: 5 })]);
  const counts = tally(instantiate(weighted, {}, pool), pool, 10_000);
  t.deepEqual(Object.fromEntries(counts), { a: 3000, b: 2000, c: 5000 });
});

test('an unusable node is left out and the others keep their ratio', (t) => {
  const pool = fakePool([
    fakeNode('a', { weight: 3 }),
    fakeNode('b', { weight: 1, usable: false }),
    fakeNode('c', { weight: 1 }),
  ]);
  const counts = tally(instantiate(weighted, {}, pool), pool, 8000);
  t.deepEqual(Object.fromEntries(counts), { a: 6000, c: 2000 });
});

test('skips tried nodes and stays in the lowest usable tier', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 10 }), fakeNode('b'), fakeNode('s', { tier: 1, weight: 100 })]);
  const policy = instantiate(weighted, {}, pool);
  t.is(policy.pick(pool, pickContext({ tried: new Set(['a']) }))?.id, 'b');
  t.is(policy.pick(pool, pickContext({ tried: new Set(['a', 'b']) }))?.id, 's');
});

// a and b both weigh 10; b came up at 10 s and ramps over 10 s: from the 10% floor to full weight.
const ramp: Array<[now: number, picks: number, expected: Record<string, number>]> = [
  [10_000, 1100, { a: 1000, b: 100 }],
  [10_500, 1100, { a: 1000, b: 100 }],
  [12_000, 1200, { a: 1000, b: 200 }],
  [15_000, 1500, { a: 1000, b: 500 }],
  [17_500, 1750, { a: 1000, b: 750 }],
  [20_000, 2000, { a: 1000, b: 1000 }],
  [90_000, 2000, { a: 1000, b: 1000 }],
];
for (const [now, picks, expected] of ramp) {
  test(`slow start 10s, b up since 10s, at ${now / 1000}s: ${expected.a}:${expected.b}`, (t) => {
    const pool = fakePool([fakeNode('a', { weight: 10, upSince: 0 }), fakeNode('b', { weight: 10, upSince: 10_000 })]);
    const counts = tally(instantiate(weighted, { slowStart: '10s' }, pool), pool, picks, () => pickContext({ now }));
    t.deepEqual(Object.fromEntries(counts), expected);
  });
}

test('slow start is off by default, and nodes without upSince are not ramped', (t) => {
  const pool = fakePool([
    fakeNode('a', { upSince: -60_000 }),
    fakeNode('b', { upSince: 10_000 }),
    fakeNode('c', { upSince: undefined, health: 'unknown' }),
  ]);
  const counts = tally(instantiate(weighted, {}, pool), pool, 3000, () => pickContext({ now: 10_000 }));
  t.deepEqual(Object.fromEntries(counts), { a: 1000, b: 1000, c: 1000 });
  const ramped = tally(instantiate(weighted, { slowStart: 20_000 }, pool), pool, 2100, () =>
    pickContext({ now: 10_000 }),
  );
  t.deepEqual(Object.fromEntries(ramped), { a: 1000, b: 100, c: 1000 });
});

test('options: by name with no options, slowStart as a duration, bad ones reported at their path', (t) => {
  const config = (policy: unknown) => ({
    listen: { port: 8080 },
    pools: { api: { policy, nodes: [{ url: 'http://127.0.0.1:9001' }] } },
    routes: [{ pool: 'api' }],
  });
  t.deepEqual(problemsFor(config('weighted-round-robin')), []);
  t.deepEqual(problemsFor(config({ name: 'weighted-round-robin', slowStart: '30s' })), []);
  t.deepEqual(weighted.options!.parse({ slowStart: '1m' }), { slowStart: 60_000 });
  t.deepEqual(problemsFor(config({ name: 'weighted-round-robin', slowStart: 'soon' })), [
    `pools.api.policy.slowStart: invalid duration "soon" (use 250, '250ms', '5s' or '1m')`,
  ]);
  t.deepEqual(problemsFor(config({ name: 'weighted-round-robin', slowstart: '1s' })), [
    'pools.api.policy.slowstart: unknown key',
  ]);
});

test('equal weights: the nodes in list order, one each', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 2 }), fakeNode('b', { weight: 2 }), fakeNode('c', { weight: 2 })]);
  const policy = instantiate(weighted, {}, pool);
  t.deepEqual(
    Array.from({ length: 6 }, () => policy.pick(pool, pickContext())?.id),
    ['a', 'b', 'c', 'a', 'b', 'c'],
  );
});

test('a new candidate list (the pool version moved) keeps every node’s place in the sequence', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 5 }), fakeNode('b'), fakeNode('c')]);
  pool.version = 1;
  const policy = instantiate(weighted, {}, pool);
  const picks = Array.from({ length: 3 }, () => policy.pick(pool, pickContext())?.id);
  pool.version = 2;
  picks.push(...Array.from({ length: 4 }, () => policy.pick(pool, pickContext())?.id));
  t.deepEqual(picks, ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
});

test('a node that comes back starts from a clean score; the others keep theirs', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 2 }), fakeNode('b'), fakeNode('c', { usable: false })]);
  pool.version = 1;
  const policy = instantiate(weighted, {}, pool);
  t.deepEqual(
    Array.from({ length: 2 }, () => policy.pick(pool, pickContext())?.id),
    ['a', 'b'],
  );
  pool.node('c').usable = true;
  pool.version = 2;
  // Scores now: a 1 and b -1 (carried over), c 0 (new). Weights 2, 1, 1 over 8 picks.
  const picks = Array.from({ length: 8 }, () => policy.pick(pool, pickContext())?.id);
  t.deepEqual(picks, ['a', 'c', 'a', 'b', 'a', 'c', 'a', 'b']);
});
