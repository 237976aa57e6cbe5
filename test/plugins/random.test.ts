import test from 'ava';
import random from '../../plugins/random.ts';
import { fakeNode, fakePool, instantiate, pickContext, share, tally, type FakeNode } from '../helpers/fake-pool.ts';
import { problemsFor } from '../helpers/settings.ts';

const N = 10_000;
const TOLERANCE = 0.03;

type RatioCase = {
  name: string;
  nodes: () => FakeNode[];
  options?: object;
  now?: number;
  expect: Record<string, number>;
};
const ratios: RatioCase[] = [
  {
    name: 'all weights 1: uniform',
    nodes: () => ['a', 'b', 'c', 'd'].map((id) => fakeNode(id)),
    expect: { a: 0.25, b: 0.25, c: 0.25, d: 0.25 },
  },
  {
    name: 'weights 3:2:5',
    nodes: () => [fakeNode('a', { weight: 3 }), fakeNode('b', { weight: 2 }), fakeNode('c', { weight: 5 })],
    expect: { a: 0.3, b: 0.2, c: 0.5 },
  },
  {
    // Enough nodes that the binary search over running totals takes several steps to the last.
    name: 'weights 1 to 5: shares follow the weights',
    nodes: () => [1, 2, 3, 4, 5].map((weight) => fakeNode(`w${weight}`, { weight })),
    expect: { w1: 1 / 15, w2: 2 / 15, w3: 3 / 15, w4: 4 / 15, w5: 5 / 15 },
  },
  {
    name: 'an unusable node is left out, the others keep their ratio',
    nodes: () => [fakeNode('a', { weight: 3 }), fakeNode('b', { usable: false }), fakeNode('c')],
    expect: { a: 0.75, b: 0, c: 0.25 },
  },
  {
    name: 'only the lowest tier with a usable node',
    nodes: () => [fakeNode('a', { usable: false }), fakeNode('b'), fakeNode('c', { tier: 1, weight: 50 })],
    expect: { b: 1, c: 0 },
  },
  // b came up at 10 s, with a 10 s ramp: at the 10% floor, half-way, done, long done.
  ...(
    [
      [10_000, 0.1 / 1.1],
      [15_000, 0.5 / 1.5],
      [20_000, 0.5],
      [60_000, 0.5],
    ] as const
  ).map(([now, b]) => ({
    name: `slow start 10s, b up since 10s, now ${now / 1000}s: b gets ${(b * 100).toFixed(1)}%`,
    nodes: () => [fakeNode('a', { upSince: 0 }), fakeNode('b', { upSince: 10_000 })],
    options: { slowStart: '10s' },
    now,
    expect: { a: 1 - b, b },
  })),
  {
    name: 'slow start ramps the weight, not just the share: weights 3 and 1, b at 50%',
    nodes: () => [fakeNode('a', { weight: 3, upSince: 0 }), fakeNode('b', { weight: 1, upSince: 5000 })],
    options: { slowStart: 10_000 },
    now: 10_000,
    expect: { a: 3 / 3.5, b: 0.5 / 3.5 },
  },
  {
    name: 'slow start leaves nodes without upSince (health unknown) at full weight',
    nodes: () => [fakeNode('a', { upSince: undefined, health: 'unknown' }), fakeNode('b', { upSince: 0 })],
    options: { slowStart: '1m' },
    now: 30_000,
    expect: { a: 1 / 1.5, b: 0.5 / 1.5 },
  },
];

for (const c of ratios) {
  for (const version of [undefined, 1]) {
    test(`${c.name} (${version === undefined ? 'no version' : 'cached'})`, (t) => {
      const pool = fakePool(c.nodes());
      pool.version = version;
      const counts = tally(instantiate(random, c.options ?? {}, pool), pool, N, () => pickContext({ now: c.now ?? 0 }));
      for (const [id, expected] of Object.entries(c.expect)) {
        const got = share(counts, id);
        t.true(Math.abs(got - expected) <= TOLERANCE, `${id}: ${got} vs ${expected}`);
      }
    });
  }
}

test('skips tried nodes, then falls to the next tier, then has nothing', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b'), fakeNode('s', { tier: 1 })]);
  const policy = instantiate(random, {}, pool);
  const cases: Array<[string[], string | undefined]> = [
    [['a'], 'b'],
    [['b'], 'a'],
    [['a', 'b'], 's'],
    [['a', 'b', 's'], undefined],
  ];
  for (const [tried, expected] of cases) {
    for (let i = 0; i < 50; i++)
      t.is(policy.pick(pool, pickContext({ tried: new Set(tried) }))?.id, expected, tried.join());
  }
});

test('a cached table follows pool.version', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 2 }), fakeNode('b')]);
  pool.version = 1;
  const policy = instantiate(random, {}, pool);
  t.true(share(tally(policy, pool, 2000), 'b') > 0.2);
  pool.node('b').usable = false;
  pool.version = 2;
  t.deepEqual(Object.fromEntries(tally(policy, pool, 2000)), { a: 2000 });
});

test('one instance over time: the ramp ends and the cached table takes over', (t) => {
  const pool = fakePool([fakeNode('a', { upSince: 0 }), fakeNode('b', { upSince: 10_000 })]);
  pool.version = 1;
  const policy = instantiate(random, { slowStart: '10s' }, pool);
  const shareAt = (now: number) =>
    share(
      tally(policy, pool, N, () => pickContext({ now })),
      'b',
    );
  const shares = [10_000, 12_500, 15_000, 20_000, 25_000].map(shareAt);
  const expected = [0.1 / 1.1, 0.25 / 1.25, 0.5 / 1.5, 0.5, 0.5];
  shares.forEach((got, i) => {
    t.true(Math.abs(got - expected[i]!) <= TOLERANCE, `${i}: ${got} vs ${expected[i]}`);
  });
});

test('options: durations in ms or with a unit; bad ones are rejected', (t) => {
  const accepted: Array<[unknown, number]> = [
    [undefined, 0],
    [250, 250],
    ['250ms', 250],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['1m', 60_000],
  ];
  for (const [slowStart, ms] of accepted) t.deepEqual(random.options!.parse({ slowStart }), { slowStart: ms });
  for (const bad of [{ slowStart: 'soon' }, { slowStart: -1 }, { slowStart: 'five' }, { slowstart: '1s' }]) {
    t.false(random.options!.safeParse(bad).success, JSON.stringify(bad));
  }
  const issue = random.options!.safeParse({ slowStart: 'soon' }).error!.issues[0]!;
  t.deepEqual([issue.path, issue.message], [['slowStart'], `invalid duration "soon" (use 250, '250ms', '5s' or '1m')`]);
});

test('a config names it random', (t) => {
  const config = {
    listen: { port: 8080 },
    pools: { api: { policy: 'random', nodes: [{ url: 'http://127.0.0.1:9001' }] } },
    routes: [{ pool: 'api' }],
  };
  t.deepEqual(problemsFor(config), []);
  t.is(random.name, 'random');
});

test('a retry’s candidates are weighed afresh, not with the first try’s cached table', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 3 }), fakeNode('b'), fakeNode('c', { weight: 2 })]);
  pool.version = 1;
  const policy = instantiate(random, {}, pool);
  tally(policy, pool, 100);
  const retries = tally(policy, pool, N, () => pickContext({ tried: new Set(['a']), attempt: 2 }));
  t.deepEqual([...retries.keys()].sort(), ['b', 'c']);
  t.true(Math.abs(share(retries, 'c') - 2 / 3) <= TOLERANCE, `c: ${share(retries, 'c')}`);
});
