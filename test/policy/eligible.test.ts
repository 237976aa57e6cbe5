import test from 'ava';
import { eligibleNodes } from '../../src/policy/eligible.ts';
import { fakeNode, fakePool, pickContext, type FakeNode } from '../helpers/fake-pool.ts';

// Node specs: id, tier, usable. Expected: the eligible ids, in the pool's order.
type Case = [
  name: string,
  nodes: Array<[id: string, tier: number, usable: boolean]>,
  tried: string[],
  expected: string[],
];
const cases: Case[] = [
  [
    'every usable node of tier 0, in order',
    [
      ['a', 0, true],
      ['b', 0, true],
      ['c', 0, true],
    ],
    [],
    ['a', 'b', 'c'],
  ],
  [
    'an unusable node is left out',
    [
      ['a', 0, false],
      ['b', 0, true],
    ],
    [],
    ['b'],
  ],
  [
    'a tried node is left out',
    [
      ['a', 0, true],
      ['b', 0, true],
    ],
    ['a'],
    ['b'],
  ],
  [
    'tier 1 only when tier 0 has no usable node',
    [
      ['a', 0, false],
      ['s1', 1, true],
      ['s2', 1, true],
    ],
    [],
    ['s1', 's2'],
  ],
  [
    'tier 1 when tier 0 is all tried',
    [
      ['a', 0, true],
      ['s', 1, true],
    ],
    ['a'],
    ['s'],
  ],
  [
    'the lowest tier wins wherever it is listed',
    [
      ['s', 1, true],
      ['a', 0, true],
      ['t', 2, true],
    ],
    [],
    ['a'],
  ],
  [
    'tiers need not be contiguous',
    [
      ['x', 5, true],
      ['a', 0, false],
      ['y', 5, true],
    ],
    [],
    ['x', 'y'],
  ],
  [
    'three tiers: down, tried, then the third',
    [
      ['a', 0, false],
      ['s', 1, true],
      ['t', 2, true],
    ],
    ['s'],
    ['t'],
  ],
  [
    'an unusable node of a lower tier does not pull the tier down',
    [
      ['a', 0, false],
      ['s', 1, true],
      ['b', 0, false],
    ],
    [],
    ['s'],
  ],
  [
    'nothing usable: empty',
    [
      ['a', 0, false],
      ['s', 1, false],
    ],
    [],
    [],
  ],
  [
    'everything tried: empty',
    [
      ['a', 0, true],
      ['s', 1, true],
    ],
    ['a', 's'],
    [],
  ],
];

for (const [name, specs, tried, expected] of cases) {
  for (const version of [undefined, 1]) {
    test(`${name}${version === undefined ? '' : ' (pool with a version)'}`, (t) => {
      const pool = fakePool(specs.map(([id, tier, usable]): FakeNode => fakeNode(id, { tier, usable })));
      pool.version = version;
      t.deepEqual(
        eligibleNodes(pool, pickContext({ tried: new Set(tried) })).map((n) => n.id),
        expected,
      );
    });
  }
}

test('lowest tier with a usable untried node', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b', { usable: false }), fakeNode('s', { tier: 1 })]);
  t.deepEqual(
    eligibleNodes(pool, pickContext()).map((n) => n.id),
    ['a'],
  );
  t.deepEqual(
    eligibleNodes(pool, pickContext({ tried: new Set(['a']) })).map((n) => n.id),
    ['s'],
  );
  pool.node('a').usable = false;
  t.deepEqual(
    eligibleNodes(pool, pickContext()).map((n) => n.id),
    ['s'],
  );
});

test('with a version, first-try answers are cached until the version moves', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  pool.version = 1;
  const first = eligibleNodes(pool, pickContext());
  t.is(eligibleNodes(pool, pickContext()), first, 'same array while the version stays');
  pool.node('a').usable = false;
  t.is(eligibleNodes(pool, pickContext()), first, 'a change without a version bump is not seen (the gateway re-picks)');
  pool.version = 2;
  t.deepEqual(
    eligibleNodes(pool, pickContext()).map((n) => n.id),
    ['b'],
  );
});

test('retries (something tried) are never served from the cache', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  pool.version = 1;
  eligibleNodes(pool, pickContext());
  t.deepEqual(
    eligibleNodes(pool, pickContext({ tried: new Set(['b']) })).map((n) => n.id),
    ['a'],
  );
});

test('a new node list (a reload) is computed afresh even if the version number is the same', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  pool.version = 1;
  t.deepEqual(
    eligibleNodes(pool, pickContext()).map((n) => n.id),
    ['a', 'b'],
  );
  pool.nodes = [fakeNode('c')];
  t.deepEqual(
    eligibleNodes(pool, pickContext()).map((n) => n.id),
    ['c'],
  );
});

test('without a version nothing is cached: every change is seen at once', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  const first = eligibleNodes(pool, pickContext());
  t.not(eligibleNodes(pool, pickContext()), first);
  pool.node('a').usable = false;
  t.deepEqual(
    eligibleNodes(pool, pickContext()).map((n) => n.id),
    ['b'],
  );
});
