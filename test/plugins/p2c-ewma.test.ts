import test from 'ava';
import p2c from '../../plugins/p2c-ewma.ts';
import type { AttemptOutcome, Policy } from '../../src/index.ts';
import { fakeNode, fakePool, instantiate, pickContext, share, tally, type FakePool } from '../helpers/fake-pool.ts';
import { problemsFor } from '../helpers/settings.ts';

const N = 10_000;
const near = (got: number, expected: number, tolerance = 0.03) => Math.abs(got - expected) <= tolerance;

const ok = (latencyMs: number): AttemptOutcome => ({ kind: 'ok', status: 200, latencyMs, failed: false });
const failed = (latencyMs = 2): AttemptOutcome => ({ kind: 'connect', latencyMs, failed: true });

/** A policy that has seen `samples`: [node id, outcome, now]. */
function trained(pool: FakePool, samples: Array<[string, AttemptOutcome, number]>, options: object = {}): Policy {
  const policy = instantiate(p2c, options, pool);
  for (const [id, outcome, now] of samples) policy.observe!(pool.node(id), outcome, now);
  return policy;
}

const picksAt = (policy: Policy, pool: FakePool, now: number) => tally(policy, pool, N, () => pickContext({ now }));

test('one eligible node: that node, however slow', (t) => {
  const pool = fakePool([fakeNode('a', { usable: false }), fakeNode('b')]);
  const policy = trained(pool, [
    ['a', ok(1), 0],
    ['b', ok(5000), 0],
  ]);
  t.deepEqual(Object.fromEntries(picksAt(policy, pool, 0)), { b: N });
});

test('of two nodes, the faster one always', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  const policy = trained(pool, [
    ['a', ok(10), 0],
    ['b', ok(100), 0],
  ]);
  t.deepEqual(Object.fromEntries(picksAt(policy, pool, 1)), { a: N });
});

test('of three, each pair goes to its cheaper node; the failing one gets nothing', (t) => {
  const pool = fakePool([fakeNode('fast'), fakeNode('slow'), fakeNode('failing')]);
  pool.version = 1;
  const policy = trained(pool, [
    ['fast', ok(10), 0],
    ['slow', ok(100), 0],
    ['failing', failed(), 0],
  ]);
  // Pairs {fast, slow} and {fast, failing} go to fast, {slow, failing} to slow.
  const counts = picksAt(policy, pool, 100);
  t.true(near(share(counts, 'fast'), 2 / 3), `fast: ${share(counts, 'fast')}`);
  t.true(near(share(counts, 'slow'), 1 / 3), `slow: ${share(counts, 'slow')}`);
  t.is(counts.get('failing'), undefined);
});

test('cost is latency × (in flight + 1): a busy fast node loses to an idle slower one', (t) => {
  const pool = fakePool([fakeNode('a', { inflight: 20 }), fakeNode('b')]);
  const policy = trained(pool, [
    ['a', ok(10), 0],
    ['b', ok(100), 0],
  ]);
  const cases: Array<[number, string]> = [
    [20, 'b'], // 210 vs 100
    [5, 'a'], // 60 vs 100
  ];
  for (const [inflight, expected] of cases) {
    pool.node('a').inflight = inflight;
    t.deepEqual(Object.fromEntries(picksAt(policy, pool, 1)), { [expected]: N }, `a in flight ${inflight}`);
  }
});

test('peak-sensitive: a node that slows down is avoided at once; its recovery decays in', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  const policy = trained(pool, [
    ['a', ok(20), 0],
    ['b', ok(10), 0],
    ['b', ok(200), 1],
  ]);
  t.deepEqual(Object.fromEntries(picksAt(policy, pool, 2)), { a: N });
  // 10 ms samples shortly after barely move b's estimate (10 s decay); 40 s of them bring it
  // to about 10 + 190·e⁻⁴ ≈ 13.5 ms, under a's 20.
  policy.observe!(pool.node('b'), ok(10), 100);
  t.deepEqual(Object.fromEntries(picksAt(policy, pool, 100)), { a: N });
  for (let now = 1000; now <= 40_000; now += 1000) {
    policy.observe!(pool.node('a'), ok(20), now);
    policy.observe!(pool.node('b'), ok(10), now);
  }
  t.deepEqual(Object.fromEntries(picksAt(policy, pool, 40_000)), { b: N });
});

test('a failure counts as the penalty even when it failed fast', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  const cases: Array<[object, string]> = [
    [{}, 'a'], // b: 1 s penalty vs a: 500 ms
    [{ penalty: '100ms' }, 'b'], // b: 100 ms vs 500 ms
  ];
  for (const [options, expected] of cases) {
    const policy = trained(
      pool,
      [
        ['a', ok(500), 0],
        ['b', ok(5), 0],
        ['b', failed(1), 0],
      ],
      options,
    );
    t.deepEqual(Object.fromEntries(picksAt(policy, pool, 0)), { [expected]: N }, JSON.stringify(options));
  }
});

test('a penalised node is tried again once the penalty has faded', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  const policy = trained(pool, [
    ['a', ok(20), 0],
    ['b', failed(), 0],
  ]);
  // a is 20 ms with 1 in flight (cost 40); b fades from 1000 ms toward the typical 20 ms.
  pool.node('a').inflight = 1;
  t.deepEqual(Object.fromEntries(picksAt(policy, pool, 10_000)), { a: N });
  t.deepEqual(Object.fromEntries(picksAt(policy, pool, 60_000)), { b: N });
});

test('a node without samples starts at the typical latency, so it gets tried', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b'), fakeNode('new')]);
  const policy = trained(pool, [
    ['a', ok(20), 0],
    ['b', ok(20), 0],
  ]);
  // Three equal costs: ties go to the first of the two random draws, so a third each.
  const counts = picksAt(policy, pool, 0);
  for (const id of ['a', 'b', 'new']) t.true(near(share(counts, id), 1 / 3), `${id}: ${share(counts, id)}`);
});

test('failures do not raise the typical latency that new nodes start at', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b'), fakeNode('new')]);
  const policy = trained(pool, [
    ['a', ok(20), 0],
    ['b', failed(), 0],
  ]);
  pool.node('a').usable = false;
  t.deepEqual(Object.fromEntries(picksAt(policy, pool, 0)), { new: N });
});

test('client aborts are not samples', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  const policy = trained(pool, [
    ['a', ok(10), 0],
    ['b', ok(50), 0],
    ['b', { kind: 'aborted', latencyMs: 1, failed: false }, 0],
  ]);
  t.deepEqual(Object.fromEntries(picksAt(policy, pool, 0)), { a: N });
});

test('skips unusable and tried nodes; the lowest tier first', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b', { usable: false }), fakeNode('c'), fakeNode('s', { tier: 1 })]);
  const policy = trained(pool, [
    ['s', ok(1), 0],
    ['b', ok(1), 0],
    ['a', ok(500), 0],
    ['c', ok(500), 0],
  ]);
  const cases: Array<[string[], string[]]> = [
    [[], ['a', 'c']],
    [['a'], ['c']],
    [['a', 'c'], ['s']],
    [['a', 'c', 's'], ['(none)']],
  ];
  for (const [tried, expected] of cases) {
    const counts = tally(policy, pool, 1000, () => pickContext({ tried: new Set(tried) }));
    t.deepEqual([...counts.keys()].sort(), expected, tried.join());
  }
});

test('options: durations; decay must be positive', (t) => {
  t.deepEqual(p2c.options!.parse({}), { decay: 10_000, penalty: 1000 });
  t.deepEqual(p2c.options!.parse({ decay: '30s', penalty: 250 }), { decay: 30_000, penalty: 250 });
  for (const bad of [
    { decay: 0 },
    { decay: '0s' },
    { decay: 'slow' },
    { penalty: -1 },
    { penalty: 'an hour' },
    { ewma: 1 },
  ]) {
    t.false(p2c.options!.safeParse(bad).success, JSON.stringify(bad));
  }
  t.is(p2c.options!.safeParse({ decay: 0 }).error!.issues[0]!.message, 'decay must be more than 0');
});

// The estimate in numbers. b: 200 ms at 100 s, then 10 ms ten seconds later (one decay of 10 s):
// the faster sample moves it 1 − 1/e of the way, to 200/e + 10·(1 − 1/e) ≈ 79.9 ms. a has one
// sample at that moment, so its estimate is exactly that sample: b loses to 79 and beats 81.
const bAfterOneDecay = 200 / Math.E + 10 * (1 - 1 / Math.E);
for (const [aLatency, expected] of [
  [79, 'a'],
  [81, 'b'],
] as const) {
  test(`a faster sample one decay later: b ≈ ${bAfterOneDecay.toFixed(1)} ms, against a at ${aLatency} ms: ${expected}`, (t) => {
    const pool = fakePool([fakeNode('a'), fakeNode('b')]);
    const policy = trained(pool, [
      ['b', ok(200), 100_000],
      ['b', ok(10), 110_000],
      ['a', ok(aLatency), 110_000],
    ]);
    t.deepEqual(Object.fromEntries(picksAt(policy, pool, 110_000)), { [expected]: N });
  });
}

// Without traffic an estimate fades toward the pool's typical latency: b's 1 s penalty, 10 s
// (one decay) later, is typical + (1000 − typical)/e. The typical latency is a's 20 ms, so b
// costs ≈ 380.5 ms then: more than a with 18 in flight (20 × 19 = 380), less than with 19 (400).
const bFaded = 20 + (1000 - 20) / Math.E;
for (const [inflight, expected] of [
  [18, 'a'],
  [19, 'b'],
] as const) {
  test(`a penalty fades toward the typical latency: b ≈ ${bFaded.toFixed(1)} ms after one decay, a with ${inflight} in flight: ${expected}`, (t) => {
    const pool = fakePool([fakeNode('a', { inflight }), fakeNode('b')]);
    const policy = trained(pool, [
      ['a', ok(20), 50_000],
      ['b', failed(), 50_000],
      ['a', ok(20), 60_000],
    ]);
    t.deepEqual(Object.fromEntries(picksAt(policy, pool, 60_000)), { [expected]: N });
  });
}

test('a config names it p2c-ewma', (t) => {
  const config = {
    listen: { port: 8080 },
    pools: { api: { policy: 'p2c-ewma', nodes: [{ url: 'http://127.0.0.1:9001' }] } },
    routes: [{ pool: 'api' }],
  };
  t.deepEqual(problemsFor(config), []);
  t.is(p2c.name, 'p2c-ewma');
});

// An estimate fades from the time of its last sample. a: 20 ms at 100 s; b: 200 ms at 100 s,
// then 10 ms at 110 s (≈ 79.9 ms, as of 110 s). The typical latency blends the same samples
// (20, then 10 one decay later: ≈ 13.7 ms). At 110 s a has faded one decay toward it (≈ 16.0 ms)
// and b not at all: b costs about 5 × a, so it loses to a with 3 in flight and beats a with 5.
for (const [inflight, expected] of [
  [3, 'a'],
  [5, 'b'],
] as const) {
  test(`estimates fade from their last sample, toward the typical latency: a with ${inflight} in flight: ${expected}`, (t) => {
    const pool = fakePool([fakeNode('a', { inflight }), fakeNode('b')]);
    const policy = trained(pool, [
      ['a', ok(20), 100_000],
      ['b', ok(200), 100_000],
      ['b', ok(10), 110_000],
    ]);
    t.deepEqual(Object.fromEntries(picksAt(policy, pool, 110_000)), { [expected]: N });
  });
}

test('before any sample every node looks alike: picks spread evenly', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b'), fakeNode('c')]);
  const counts = picksAt(instantiate(p2c, {}, pool), pool, 0);
  for (const id of ['a', 'b', 'c']) t.true(near(share(counts, id), 1 / 3), `${id}: ${share(counts, id)}`);
});

test('a client abort later on is no sample either (it would pull b down to ≈ 19 ms)', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  const policy = trained(pool, [
    ['a', ok(40), 0],
    ['b', ok(50), 0],
    ['b', { kind: 'aborted', latencyMs: 1, failed: false }, 10_000],
  ]);
  t.deepEqual(Object.fromEntries(picksAt(policy, pool, 10_000)), { a: N });
});

test('a failure later on does not raise the typical latency either', (t) => {
  // Pairs: {a, new} tie at the typical 20 ms (half each), {a, b} and {new, b} avoid b's penalty.
  // Had b's failure counted, the typical (and so new) would be ≈ 640 ms: new would get a third.
  const pool = fakePool([fakeNode('a'), fakeNode('b'), fakeNode('new')]);
  const policy = trained(pool, [
    ['a', ok(20), 0],
    ['b', failed(), 10_000],
  ]);
  const counts = picksAt(policy, pool, 10_000);
  t.is(counts.get('b'), undefined);
  t.true(near(share(counts, 'new'), 1 / 2), `new: ${share(counts, 'new')}`);
});

test('the typical latency is a time-decayed average of successful samples, not the latest one', (t) => {
  // a: 100 ms, then 10 ms one decay later: typical ≈ 43.1 ms. b has 25 ms: cheaper than a new
  // node at the typical latency (had the typical been the latest sample, 25 ms, they would tie).
  const pool = fakePool([fakeNode('a', { usable: false }), fakeNode('b'), fakeNode('new')]);
  const policy = trained(pool, [
    ['a', ok(100), 0],
    ['a', ok(10), 10_000],
    ['b', ok(25), 10_000],
  ]);
  t.deepEqual(Object.fromEntries(picksAt(policy, pool, 10_000)), { b: N });
});
