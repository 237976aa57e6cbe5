import test from 'ava';
import consistentHash from '../../plugins/consistent-hash.ts';
import type { PickContext, Policy } from '../../src/index.ts';
import { fakeNode, fakePool, instantiate, pickContext, share, tally, type FakePool } from '../helpers/fake-pool.ts';
import { problemsFor } from '../helpers/settings.ts';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `node-${i}`);
const poolOf = (names: string[]) => {
  const pool = fakePool(names.map((id) => fakeNode(id)));
  pool.version = 1;
  return pool;
};
const byIp = (i: number) => pickContext({ clientIp: `10.0.${i >> 8}.${i & 255}` });

/** Which node each of `count` keys maps to. */
function mapping(policy: Policy, pool: FakePool, count: number, ctx: (i: number) => PickContext): string[] {
  return Array.from({ length: count }, (_, i) => policy.pick(pool, ctx(i))!.id);
}

type KeyCase = { name: string; options: object; ctx: (value: string) => PickContext };
const keys: KeyCase[] = [
  {
    name: 'header',
    options: { key: 'header', header: 'X-User' },
    ctx: (v) => pickContext({ headers: { 'x-user': v } }),
  },
  {
    name: 'cookie',
    options: { key: 'cookie', cookie: 'session' },
    ctx: (v) => pickContext({ headers: { cookie: `theme=dark; session=${v}; lang=en` } }),
  },
  { name: 'ip', options: { key: 'ip' }, ctx: (v) => pickContext({ clientIp: v }) },
  { name: 'path', options: { key: 'path' }, ctx: (v) => pickContext({ path: `/users/${v}` }) },
];

for (const c of keys) {
  test(`key ${c.name}: the same key always goes to the same node, and keys spread over all`, (t) => {
    const pool = poolOf(ids(4));
    const policy = instantiate(consistentHash, c.options, pool);
    const stable = tally(policy, pool, 1000, () => c.ctx('10.1.2.3'));
    t.is(stable.size, 1);
    const spread = tally(policy, pool, 4000, (i) => c.ctx(`10.1.${i >> 8}.${i & 255}`));
    for (const id of ids(4)) t.true(share(spread, id) > 0.15, `${id}: ${share(spread, id)}`);
  });
}

test('the same key maps the same in every instance and without pool.version', (t) => {
  const pool = poolOf(ids(5));
  const one = mapping(instantiate(consistentHash, { key: 'ip' }, pool), pool, 500, byIp);
  const other = fakePool(ids(5).map((id) => fakeNode(id)));
  t.deepEqual(mapping(instantiate(consistentHash, { key: 'ip' }, other), other, 500, byIp), one);
});

test('cookies: parsed from the Cookie header by exact name, value after the first =', (t) => {
  const pool = poolOf(ids(8));
  const policy = instantiate(consistentHash, { key: 'cookie', cookie: 'sid' }, pool);
  const pick = (cookie: string) => policy.pick(pool, pickContext({ headers: { cookie } }))!.id;
  const same = ['sid=a=b', ' sid=a=b ', 'x=1;sid=a=b', 'x=1; sid=a=b; sid=other', 'xsid=no; sid=a=b'].map(pick);
  t.is(new Set(same).size, 1, same.join());
  // The key is the value alone: the same string in a header lands on the same node.
  const byHeader = instantiate(consistentHash, { key: 'header', header: 'x-k' }, pool);
  t.is(byHeader.pick(pool, pickContext({ headers: { 'x-k': 'a=b' } }))!.id, same[0]!);
});

type FallbackCase = { name: string; options: object; headers: Record<string, string> };
const fallbacks: FallbackCase[] = [
  { name: 'no such header', options: { key: 'header', header: 'x-user' }, headers: {} },
  { name: 'an empty header', options: { key: 'header', header: 'x-user' }, headers: { 'x-user': '' } },
  { name: 'no Cookie header', options: { key: 'cookie', cookie: 'sid' }, headers: {} },
  { name: 'no such cookie', options: { key: 'cookie', cookie: 'sid' }, headers: { cookie: 'sidx=1; other=2' } },
  { name: 'a cookie pair without =', options: { key: 'cookie', cookie: 'sid' }, headers: { cookie: 'sidx; sid' } },
];
for (const c of fallbacks) {
  test(`without a key (${c.name}): a random eligible node`, (t) => {
    const pool = poolOf(['a', 'b', 'c', 'd']);
    pool.node('d').usable = false;
    pool.version = 2;
    const counts = tally(instantiate(consistentHash, c.options, pool), pool, 10_000, () =>
      pickContext({ headers: c.headers }),
    );
    for (const id of ['a', 'b', 'c'])
      t.true(Math.abs(share(counts, id) - 1 / 3) <= 0.03, `${id}: ${share(counts, id)}`);
    t.is(counts.get('d'), undefined);
  });
}

for (const how of ['marked unusable', 'removed from the pool']) {
  test(`a node ${how}: only its keys move, about 1/N of them`, (t) => {
    const pool = poolOf(ids(10));
    const before = mapping(instantiate(consistentHash, { key: 'ip' }, pool), pool, 10_000, byIp);
    let after: string[];
    if (how === 'marked unusable') {
      pool.node('node-3').usable = false;
      pool.version = 2;
      after = mapping(instantiate(consistentHash, { key: 'ip' }, pool), pool, 10_000, byIp);
    } else {
      const smaller = poolOf(ids(10).filter((id) => id !== 'node-3'));
      after = mapping(instantiate(consistentHash, { key: 'ip' }, smaller), smaller, 10_000, byIp);
    }
    const moved = before.flatMap((id, i) => (id === after[i] ? [] : [id]));
    t.true(moved.length / 10_000 >= 0.07 && moved.length / 10_000 <= 0.14, `moved ${moved.length}`);
    t.deepEqual([...new Set(moved)], ['node-3']);
    t.is(moved.length, before.filter((id) => id === 'node-3').length);
  });
}

test('a retry goes to the next node on the ring: where the key goes when the first is down', (t) => {
  const pool = poolOf(ids(10));
  const policy = instantiate(consistentHash, { key: 'ip' }, pool);
  for (let i = 0; i < 200; i++) {
    const first = policy.pick(pool, byIp(i))!.id;
    const retries = tally(policy, pool, 20, () => ({ ...byIp(i), attempt: 2, tried: new Set([first]) }));
    t.is(retries.size, 1);
    const retry = [...retries.keys()][0]!;
    t.not(retry, first);
    pool.node(first).usable = false;
    pool.version! += 1;
    t.is(policy.pick(pool, byIp(i))!.id, retry);
    pool.node(first).usable = true;
    pool.version! += 1;
  }
});

test('the lowest tier with a usable untried node, sticky within it', (t) => {
  const pool = fakePool([
    fakeNode('p1'),
    fakeNode('p2', { usable: false }),
    fakeNode('s1', { tier: 1 }),
    fakeNode('s2', { tier: 1 }),
    fakeNode('s3', { tier: 1 }),
  ]);
  const policy = instantiate(consistentHash, { key: 'ip' }, pool);
  t.deepEqual(Object.fromEntries(tally(policy, pool, 300, byIp)), { p1: 300 });
  const secondary = tally(policy, pool, 3000, (i) => ({ ...byIp(i), tried: new Set(['p1']) }));
  t.deepEqual([...secondary.keys()].sort(), ['s1', 's2', 's3']);
  const again = tally(policy, pool, 3000, (i) => ({ ...byIp(i), tried: new Set(['p1']) }));
  t.deepEqual(again, secondary);
  t.is(policy.pick(pool, pickContext({ tried: new Set(['p1', 's1', 's2', 's3']) })), undefined);
});

test('weights: a node of weight 3 holds about three times the keys', (t) => {
  const pool = fakePool([fakeNode('a', { weight: 3 }), fakeNode('b'), fakeNode('c')]);
  pool.version = 1;
  const counts = tally(instantiate(consistentHash, { key: 'ip' }, pool), pool, 10_000, byIp);
  t.true(Math.abs(share(counts, 'a') - 0.6) <= 0.05, `a: ${share(counts, 'a')}`);
});

/** `custom`: the rules between the options, as zod issues a user's own safeParse of `options` sees. */
type BadCase = { options: unknown; path: string[]; message: string | RegExp; custom?: true };
const invalid: BadCase[] = [
  {
    options: { key: 'header' },
    path: ['header'],
    message: "key 'header' needs header: the header to hash on",
    custom: true,
  },
  {
    options: { key: 'cookie' },
    path: ['cookie'],
    message: "key 'cookie' needs cookie: the cookie to hash on",
    custom: true,
  },
  { options: { key: 'cookie', cookie: '' }, path: ['cookie'], message: /too small/i },
  {
    options: { key: 'ip', header: 'x' },
    path: ['header'],
    message: "header is only used with key 'header'",
    custom: true,
  },
  {
    options: { key: 'cookie', cookie: 'sid', header: 'x' },
    path: ['header'],
    message: "header is only used with key 'header'",
    custom: true,
  },
  {
    options: { key: 'ip', cookie: 'sid' },
    path: ['cookie'],
    message: "cookie is only used with key 'cookie'",
    custom: true,
  },
  {
    options: { key: 'header', header: 'x-user', cookie: 'sid' },
    path: ['cookie'],
    message: "cookie is only used with key 'cookie'",
    custom: true,
  },
  { options: { key: 'header', header: '' }, path: ['header'], message: /too small/i },
  { options: { key: 'query' }, path: ['key'], message: "key must be 'header', 'cookie', 'ip' or 'path'" },
  { options: {}, path: ['key'], message: "key must be 'header', 'cookie', 'ip' or 'path'" },
  { options: { key: 'ip', vnodes: 10 }, path: [], message: /vnodes/ },
];
for (const c of invalid) {
  test(`invalid options ${JSON.stringify(c.options)}`, (t) => {
    const result = consistentHash.options!.safeParse(c.options);
    t.false(result.success);
    const issue = result.error!.issues[0]!;
    t.deepEqual(issue.path, c.path);
    if (typeof c.message === 'string') t.is(issue.message, c.message);
    else t.regex(issue.message, c.message);
    if (c.custom) t.is(issue.code, 'custom');
  });
}

test('in a config: a header key without its header is reported at its path, in both forms', (t) => {
  const config = (policy: unknown) => ({
    listen: { port: 8080 },
    pools: { x: { policy, nodes: [{ url: 'http://127.0.0.1:9001' }] } },
    routes: [{ pool: 'x' }],
  });
  const missing = ["pools.x.policy.header: key 'header' needs header: the header to hash on"];
  t.deepEqual(problemsFor(config({ name: 'consistent-hash', key: 'header' })), missing);
  t.deepEqual(problemsFor(config(consistentHash({ key: 'header' } as never))), missing);
  t.deepEqual(problemsFor(config({ name: 'consistent-hash', key: 'header', header: 'x-user' })), []);
  t.deepEqual(problemsFor(config(consistentHash({ key: 'header', header: 'x-user' }))), []);
  t.deepEqual(problemsFor(config({ name: 'consistent-hash', key: 'ip' })), []);
});

// The ring as a plain model. Every instance, of this version or the next, must map a key to the
// same node, so the layout is a contract: 160 points per unit of weight (a million at most,
// shared in proportion, at least one per node), each at FNV-1a + murmur3's finaliser of
// `<id>#<i>`; a key belongs to the first point at or after its own hash, clockwise, wrapping past
// the top; a retry walks on clockwise to the next node it may use.
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

type Point = { hash: number; owner: string };
function modelRing(nodes: ReadonlyArray<{ id: string; weight: number }>): Point[] {
  const total = nodes.reduce((sum, node) => sum + node.weight * 160, 0);
  const scale = Math.min(1, 2 ** 20 / total);
  // Sorted by hash, then by the node's place in the pool (hash × 4096 + index: exact, and fast).
  const packed: number[] = [];
  nodes.forEach((node, index) => {
    const count = Math.max(1, Math.round(node.weight * 160 * scale));
    for (let i = 0; i < count; i++) packed.push(hash32(`${node.id}#${i}`) * 4096 + index);
  });
  return Array.from(Float64Array.from(packed).sort(), (point) => ({
    hash: Math.floor(point / 4096),
    owner: nodes[point % 4096]!.id,
  }));
}

/** Index of the first point at or after `hash`, or ring.length when the key lies past the last point. */
function firstAtOrAfter(ring: Point[], hash: number): number {
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (ring[mid]!.hash < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function modelOwner(ring: Point[], key: string, allowed: (id: string) => boolean): string | undefined {
  const start = firstAtOrAfter(ring, hash32(key));
  for (let step = 0; step < ring.length; step++) {
    const point = ring[(start + step) % ring.length]!;
    if (allowed(point.owner)) return point.owner;
  }
  return undefined;
}

const byHeader = (key: string, tried: string[] = []) =>
  pickContext({ headers: { 'x-key': key }, tried: new Set(tried), attempt: tried.length + 1 });
const keyNames = (n: number) => Array.from({ length: n }, (_, i) => `user-${i}`);

test('a key goes clockwise to the first point at or after its hash, wrapping past the last point', (t) => {
  const nodes = [
    fakeNode('n0'),
    fakeNode('n1', { weight: 2 }),
    fakeNode('n2'),
    fakeNode('n3', { weight: 3 }),
    fakeNode('n4'),
  ];
  const pool = fakePool(nodes);
  pool.version = 1;
  const policy = instantiate(consistentHash, { key: 'header', header: 'x-key' }, pool);
  const ring = modelRing(nodes);
  const keys = keyNames(5000);
  const wrapped = keys.filter((key) => firstAtOrAfter(ring, hash32(key)) === ring.length);
  t.true(wrapped.length > 0, 'some keys lie past the last point');
  for (const key of keys)
    t.is(
      policy.pick(pool, byHeader(key))?.id,
      modelOwner(ring, key, () => true),
      key,
    );
  for (const key of wrapped)
    t.is(policy.pick(pool, byHeader(key))?.id, ring[0]!.owner, `${key} wraps to the first point`);
});

test('a key that hashes exactly onto a point belongs to that point’s node', (t) => {
  const nodes = ['n0', 'n1', 'n2', 'n3'].map((id) => fakeNode(id));
  const pool = fakePool(nodes);
  const policy = instantiate(consistentHash, { key: 'header', header: 'x-key' }, pool);
  for (const node of nodes) {
    for (const i of [0, 1, 77, 159])
      t.is(policy.pick(pool, byHeader(`${node.id}#${i}`))?.id, node.id, `${node.id}#${i}`);
  }
});

test('a retry walks on clockwise past tried and unusable nodes, wrapping too', (t) => {
  const nodes = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'].map((id) => fakeNode(id));
  const pool = fakePool(nodes);
  pool.version = 1;
  pool.node('n5').usable = false;
  const policy = instantiate(consistentHash, { key: 'header', header: 'x-key' }, pool);
  const ring = modelRing(nodes);
  for (const key of keyNames(2000)) {
    const first = modelOwner(ring, key, (id) => id !== 'n5')!;
    const second = modelOwner(ring, key, (id) => id !== 'n5' && id !== first)!;
    const third = modelOwner(ring, key, (id) => id !== 'n5' && id !== first && id !== second)!;
    t.is(policy.pick(pool, byHeader(key))?.id, first, key);
    t.is(policy.pick(pool, byHeader(key, [first]))?.id, second, `${key}, retry`);
    t.is(policy.pick(pool, byHeader(key, [first, second]))?.id, third, `${key}, third try`);
  }
});

test('large weights: the ring is scaled down to a million points, each node’s share kept', (t) => {
  // 25 001 units of weight would be 4 M points.
  const nodes = [
    fakeNode('a', { weight: 10_000 }),
    fakeNode('b', { weight: 10_000 }),
    fakeNode('c', { weight: 5000 }),
    fakeNode('d'),
  ];
  const pool = fakePool(nodes);
  pool.version = 1;
  const policy = instantiate(consistentHash, { key: 'header', header: 'x-key' }, pool);
  const ring = modelRing(nodes);
  t.true(ring.length <= 2 ** 20 + nodes.length, `${ring.length} points`);
  for (const key of keyNames(2000))
    t.is(
      policy.pick(pool, byHeader(key))?.id,
      modelOwner(ring, key, () => true),
      key,
    );
});

test('a node whose scaled-down share rounds to nothing still owns a point, so it stays reachable', (t) => {
  // 211 nodes of weight 10 000 beside two of weight 1: scaled to 2^20 points, 1 unit is 0.5 point.
  const giants = Array.from({ length: 211 }, (_, i) => fakeNode(`giant-${i}`, { weight: 10_000 }));
  const pool = fakePool([...giants, fakeNode('small-a'), fakeNode('small-b')]);
  pool.version = 1;
  const policy = instantiate(consistentHash, { key: 'header', header: 'x-key' }, pool);
  const giantIds = giants.map((node) => node.id);
  const smalls = new Set(keyNames(100).map((key) => policy.pick(pool, byHeader(key, giantIds))?.id));
  t.deepEqual([...smalls].sort(), ['small-a', 'small-b']);
});

test('a node added to the pool (a reload) gets its share of keys from the same policy', (t) => {
  const pool = fakePool(['n0', 'n1', 'n2'].map((id) => fakeNode(id)));
  pool.version = 1;
  const policy = instantiate(consistentHash, { key: 'header', header: 'x-key' }, pool);
  for (const key of keyNames(100)) policy.pick(pool, byHeader(key));
  pool.nodes = [...pool.nodes, fakeNode('n3')];
  pool.version = 2;
  const ring = modelRing(pool.nodes);
  for (const key of keyNames(2000))
    t.is(
      policy.pick(pool, byHeader(key))?.id,
      modelOwner(ring, key, () => true),
      key,
    );
});

test('a header that comes as several values hashes as their comma-joined list', (t) => {
  const pool = poolOf(ids(8));
  const policy = instantiate(consistentHash, { key: 'header', header: 'x-key' }, pool);
  for (const key of keyNames(50)) {
    const values = [key, 'b'];
    t.is(
      policy.pick(pool, pickContext({ headers: { 'x-key': values } }))?.id,
      policy.pick(pool, byHeader(`${key},b`))?.id,
    );
  }
});
