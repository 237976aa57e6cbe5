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
  { name: 'header', options: { key: 'header', header: 'X-User' }, ctx: (v) => pickContext({ headers: { 'x-user': v } }) },
  { name: 'cookie', options: { key: 'cookie', cookie: 'session' }, ctx: (v) => pickContext({ headers: { cookie: `theme=dark; session=${v}; lang=en` } }) },
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
  t.is(byHeader.pick(pool, pickContext({ headers: { 'x-k': 'a=b' } }))!.id, same[0]);
});

type FallbackCase = { name: string; options: object; headers: Record<string, string> };
const fallbacks: FallbackCase[] = [
  { name: 'no such header', options: { key: 'header', header: 'x-user' }, headers: {} },
  { name: 'an empty header', options: { key: 'header', header: 'x-user' }, headers: { 'x-user': '' } },
  { name: 'no Cookie header', options: { key: 'cookie', cookie: 'sid' }, headers: {} },
  { name: 'no such cookie', options: { key: 'cookie', cookie: 'sid' }, headers: { cookie: 'sidx=1; other=2' } },
];
for (const c of fallbacks) {
  test(`without a key (${c.name}): a random eligible node`, (t) => {
    const pool = poolOf(['a', 'b', 'c', 'd']);
    pool.node('d').usable = false;
    pool.version = 2;
    const counts = tally(instantiate(consistentHash, c.options, pool), pool, 10_000, () => pickContext({ headers: c.headers }));
    for (const id of ['a', 'b', 'c']) t.true(Math.abs(share(counts, id) - 1 / 3) <= 0.03, `${id}: ${share(counts, id)}`);
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
  const pool = fakePool([fakeNode('p1'), fakeNode('p2', { usable: false }), fakeNode('s1', { tier: 1 }), fakeNode('s2', { tier: 1 }), fakeNode('s3', { tier: 1 })]);
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

type BadCase = { options: unknown; path: string[]; message: string | RegExp };
const invalid: BadCase[] = [
  { options: { key: 'header' }, path: ['header'], message: "key 'header' needs header: the header to hash on" },
  { options: { key: 'cookie' }, path: ['cookie'], message: "key 'cookie' needs cookie: the cookie to hash on" },
  { options: { key: 'cookie', cookie: '' }, path: ['cookie'], message: /too small/i },
  { options: { key: 'ip', header: 'x' }, path: ['header'], message: "header is only used with key 'header'" },
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
