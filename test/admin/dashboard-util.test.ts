import test from 'ava';

// The dashboard keeps the /series points it has and adds only the new seconds each poll.

interface Doc {
  from: number;
  step: number;
  points: number;
  pools: Record<
    string,
    { pool: Record<string, Array<number | null>>; nodes: Record<string, Record<string, Array<number | null>>> }
  >;
}
// A browser module without types: loaded by URL so the compiler does not look for declarations.
const moduleUrl = new URL('../../src/admin/dashboard-util.js', import.meta.url).href;
const { mergeSeries } = (await import(moduleUrl)) as {
  mergeSeries: (held: Doc | null, doc: Doc, keep?: number) => Doc;
};

const doc = (fromSecond: number, requests: number[], nodes: Record<string, number[]> = {}): Doc => ({
  from: fromSecond * 1000,
  step: 1000,
  points: requests.length,
  pools: {
    web: {
      pool: { requests },
      nodes: Object.fromEntries(Object.entries(nodes).map(([id, values]) => [id, { requests: values }])),
    },
  },
});

test('the first document is taken whole; later ones overwrite the seconds they repeat and add the new ones', (t) => {
  let held = mergeSeries(null, doc(100, [1, 2, 3], { a: [1, 1, 1] }));
  held = mergeSeries(held, doc(102, [30, 4, 5], { a: [3, 4, 5] }));
  t.is(held.from, 100_000);
  t.is(held.points, 5);
  t.deepEqual(held.pools.web!.pool.requests, [1, 2, 30, 4, 5]);
  t.deepEqual(held.pools.web!.nodes.a!.requests, [1, 1, 3, 4, 5]);
});

test('a node that appears later gets nulls before; one no longer reported, and a removed pool, are dropped', (t) => {
  let held = mergeSeries(null, doc(100, [1, 2], { a: [1, 2] }));
  held = mergeSeries(held, doc(101, [2, 3], { b: [7, 8] }));
  t.deepEqual(Object.keys(held.pools.web!.nodes), ['b']);
  t.deepEqual(held.pools.web!.nodes.b!.requests, [null, 7, 8]);
  held = mergeSeries(held, { from: 102_000, step: 1000, points: 1, pools: {} });
  t.deepEqual(held.pools, {});
});

test('at most `keep` points: the oldest go; a gap or an older start replaces everything', (t) => {
  let held = mergeSeries(null, doc(100, [1, 2, 3, 4]), 5);
  held = mergeSeries(held, doc(104, [5, 6, 7]), 5);
  t.is(held.from, 102_000);
  t.deepEqual(held.pools.web!.pool.requests, [3, 4, 5, 6, 7]);
  const gap = mergeSeries(held, doc(200, [9]), 5);
  t.deepEqual([gap.from, gap.pools.web!.pool.requests], [200_000, [9]]);
  const older = mergeSeries(gap, doc(150, [1, 1]), 5);
  t.deepEqual([older.from, older.points], [150_000, 2]);
});
