import test from 'ava';
import { roundRobin } from '../../src/policies.ts';
import { fakeNode, fakePool, instantiate, pickContext, tally } from '../../src/testing/index.ts';

test('a pool version moves on the changes the gateway announces, not on inflight or a trial being taken', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b')]);
  const moves = (change: () => void) => {
    const before = pool.version!;
    change();
    return pool.version! > before;
  };
  const a = pool.node('a');
  t.true(
    moves(() => (a.local = 'down')),
    'local verdict',
  );
  t.true(
    moves(() => (a.cluster = 'down')),
    'cluster verdict',
  );
  t.true(
    moves(() => (a.breaker = 'half-open')),
    'breaker',
  );
  t.true(
    moves(() => (a.draining = true)),
    'drain',
  );
  t.true(
    moves(() => (a.probation = true)),
    'probation',
  );
  t.true(
    moves(() => (a.tier = 1)),
    'tier',
  );
  t.false(
    moves(() => (a.inflight = 3)),
    'in flight',
  );
  t.false(
    moves(() => (a.trialInFlight = true)),
    'trial taken',
  );
  t.is(fakePool([fakeNode('c')], { versioned: false }).version, undefined);
  t.throws(() => pool.node('nope'), { message: "no node 'nope' in pool 'pool'" });
});

test('a policy that caches on the version sees every announced change', (t) => {
  const pool = fakePool([fakeNode('a'), fakeNode('b'), fakeNode('c', { tier: 1 })]);
  const policy = instantiate(roundRobin(), pool);
  t.deepEqual([...tally(policy, pool, 4)].sort(), [
    ['a', 2],
    ['b', 2],
  ]);
  pool.node('b').local = 'down';
  t.deepEqual([...tally(policy, pool, 3)], [['a', 3]]);
  pool.node('a').draining = true;
  t.deepEqual([...tally(policy, pool, 3)], [['c', 3]], 'tier 1 once tier 0 has no usable node');
  pool.node('c').breaker = 'open';
  t.is(policy.pick(pool, pickContext()), undefined);
});
