import test from 'ava';
import { ClusterCache } from '../../src/state/cluster-cache.ts';
import { active, drain, health, snapshot } from './cluster-records.ts';

// The cache applies only newer records, whatever order notices and snapshots arrive in, and
// reports what a snapshot has older than it knows (the store then finds out whether Redis lost it).

test('an older snapshot cannot undo a newer drain; the drain is reported as missing from the store', (t) => {
  const cache = new ClusterCache();
  t.like(cache.applyDrain('api', 'n1', drain(true, 200)), { type: 'drain', draining: true });
  t.is(cache.applyDrain('api', 'n1', drain(false, 100)), undefined, 'an older notice changes nothing');
  const { changes, behind } = cache.applySnapshot(snapshot({ drains: [['api/n1', drain(false, 100)]] }));
  t.deepEqual(changes, [], 'nor does a snapshot read before the drain');
  t.true(cache.drained('api', 'n1'));
  t.deepEqual(behind.drains, ['api/n1']);
  t.deepEqual(cache.applySnapshot(snapshot({})).behind.drains, ['api/n1'], 'a snapshot without it: missing there');
});

test('drains: a newer enable wins, an equal version changes nothing', (t) => {
  const cache = new ClusterCache();
  cache.applyDrain('api', 'n1', drain(true, 100));
  t.is(cache.applyDrain('api', 'n1', drain(false, 100)), undefined);
  t.like(cache.applyDrain('api', 'n1', drain(false, 101, 'b')), { draining: false, by: 'b' });
  t.false(cache.drained('api', 'n1'));
  t.like(
    cache.replaceDrain('api', 'n1', drain(true, 50)),
    { draining: true },
    "the store's answer to our own operation is taken as is",
  );
});

test('active states: a higher epoch wins; at an equal epoch the higher proposal id; lower ones are reported', (t) => {
  const cache = new ClusterCache();
  cache.applyActive('db', active('standby', 2, 'm'));
  t.is(cache.applyActive('db', active('primary', 1, 'z')), undefined, 'never back to a lower epoch');
  t.is(cache.applyActive('db', active('spare', 2, 'a')), undefined);
  t.like(cache.applyActive('db', active('spare', 2, 'x')), {
    type: 'active',
    state: { active: 'spare' },
    previous: { active: 'standby' },
  });
  const { behind } = cache.applySnapshot(snapshot({ active: [['db', active('primary', 1, 'z')]] }));
  t.deepEqual(behind.active, ['db']);
  t.like(cache.active('db'), { active: 'spare', epoch: 2 });
});

test('health: newer versions only, a change of who votes down is announced; stale records take any version', (t) => {
  const cache = new ClusterCache();
  cache.applyHealth('api', 'n1', health('down', 5, ['a']));
  t.is(cache.applyHealth('api', 'n1', health('up', 4)), undefined);
  t.like(cache.applyHealth('api', 'n1', health('down', 6, ['a', 'b'])), {
    type: 'health',
    previous: 'down',
    health: { verdict: 'down', downVotes: ['a', 'b'] },
  });
  t.deepEqual(
    [...cache.applySnapshot(snapshot({ health: [['api/n1', health('up', 2)]] })).behind.health],
    [['api/n1', 6]],
  );
  cache.markStale();
  const { changes, behind } = cache.applySnapshot(snapshot({ health: [['api/n1', health('up', 2)]] }));
  t.is(behind.health.size, 0, 'after the store lost state its older versions are expected');
  t.like(changes[0], { type: 'health', previous: 'down', health: { verdict: 'up' } });
  t.is(cache.applyHealth('api', 'n1', health('down', 2)), undefined, 'and from then on versions compare again');
});
