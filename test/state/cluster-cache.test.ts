import test from 'ava';
import { ClusterCache, split } from '../../src/state/cluster-cache.ts';
import type { HealthRecord } from '../../src/state/redis-codec.ts';
import type { ActiveState, DrainRecord, StoreChange } from '../../src/state/types.ts';
import { active, drain, health, snapshot } from './cluster-records.ts';

// What an instance believes about the shared state, without Redis: only newer records replace
// what it holds, whatever order notices and snapshots arrive in; each change is announced once,
// and only a change. (test/state/cluster-cache-versions.test.ts: what a snapshot has older.)

// --- active states: epoch, then proposal id -----------------------------------------------

const activeCases: Array<[name: string, held: ActiveState, incoming: ActiveState, replaces: boolean]> = [
  ['an older epoch does not replace the active state', active('primary', 5, 'z'), active('standby', 4, 'z'), false],
  [
    'an equal epoch with the same proposal (a repeated notice) does not replace it',
    active('primary', 5, 'm'),
    active('standby', 5, 'm'),
    false,
  ],
  [
    'an equal epoch with a lower proposal id does not replace it',
    active('primary', 5, 'm'),
    active('standby', 5, 'a'),
    false,
  ],
  [
    'an equal epoch with a higher proposal id replaces it (every instance settles on the same one)',
    active('primary', 5, 'm'),
    active('standby', 5, 'x'),
    true,
  ],
  ['a newer epoch replaces it, whatever the proposal id', active('primary', 5, 'z'), active('standby', 6, 'a'), true],
];

for (const [name, held, incoming, replaces] of activeCases) {
  test(`active: ${name}`, (t) => {
    const cache = new ClusterCache();
    t.deepEqual(
      cache.applyActive('db', held),
      { type: 'active', pool: 'db', state: held, previous: undefined },
      'the first state is announced, with no previous',
    );
    const change = cache.applyActive('db', incoming);
    if (replaces) {
      t.deepEqual(change, { type: 'active', pool: 'db', state: incoming, previous: held });
      t.is(cache.active('db'), incoming);
    } else {
      t.is(change, undefined, 'nothing announced');
      t.is(cache.active('db'), held, 'the active state held stays');
    }
    t.deepEqual([...cache.allActive()], [['db', cache.active('db')]]);
  });
}

test('active: each pool has its own state; an unknown pool has none', (t) => {
  const cache = new ClusterCache();
  cache.applyActive('db', active('primary', 5));
  t.like(
    cache.applyActive('cache', active('c1', 1)),
    { pool: 'cache', previous: undefined },
    'epoch 1 of another pool is not older than epoch 5 of this one',
  );
  t.is(cache.active('other'), undefined);
  t.deepEqual([...cache.allActive().keys()], ['db', 'cache']);
});

test('active: a snapshot applies a newer state and reports none behind; an older one is reported and not applied', (t) => {
  const cache = new ClusterCache();
  cache.applyActive('db', active('primary', 5, 'm'));
  const newer = cache.applySnapshot(snapshot({ active: [['db', active('standby', 6, 'a')]] }));
  t.deepEqual(newer.changes, [
    { type: 'active', pool: 'db', state: active('standby', 6, 'a'), previous: active('primary', 5, 'm') },
  ]);
  t.deepEqual(newer.behind.active, []);
  const same = cache.applySnapshot(snapshot({ active: [['db', active('standby', 6, 'a')]] }));
  t.deepEqual(
    same,
    { changes: [], behind: { active: [], drains: [], health: new Map() } },
    'the same state again: no change, nothing behind',
  );
  const older = cache.applySnapshot(snapshot({ active: [['db', active('primary', 6, '0')]] }));
  t.deepEqual(older.changes, []);
  t.deepEqual(older.behind.active, ['db'], 'a lower proposal of the same epoch is behind');
  t.deepEqual(cache.applySnapshot(snapshot({})).behind.active, ['db'], 'a store without the pool is behind');
  t.like(cache.active('db'), { active: 'standby', epoch: 6 });
});

// --- health records: by version ---------------------------------------------------------------

const healthCases: Array<
  [name: string, held: HealthRecord, incoming: HealthRecord, replaces: boolean, announced: boolean]
> = [
  ['an older version does not overwrite a newer one', health('down', 5, ['a']), health('up', 4), false, false],
  ['an equal version does not overwrite it', health('down', 5, ['a']), health('up', 5), false, false],
  [
    'a newer version with another verdict replaces it and is announced',
    health('down', 5, ['a']),
    health('up', 6),
    true,
    true,
  ],
  [
    'a newer version with the same verdict and voters replaces it silently',
    health('down', 5, ['a']),
    health('down', 6, ['a'], 9, 'again'),
    true,
    false,
  ],
  [
    'a newer version with one more voter is announced',
    health('down', 5, ['a']),
    health('down', 6, ['a', 'b']),
    true,
    true,
  ],
  [
    'a newer version with one voter fewer is announced',
    health('down', 5, ['a', 'b']),
    health('down', 6, ['a']),
    true,
    true,
  ],
  [
    'a newer version with other voters (same count) is announced',
    health('down', 5, ['a', 'b']),
    health('down', 6, ['a', 'c']),
    true,
    true,
  ],
];

for (const [name, held, incoming, replaces, announced] of healthCases) {
  test(`health: ${name}`, (t) => {
    const cache = new ClusterCache();
    cache.applyHealth('api', 'n1', held);
    const change = cache.applyHealth('api', 'n1', incoming);
    const now = replaces ? incoming : held;
    t.deepEqual(cache.health('api', 'n1'), {
      verdict: now.verdict,
      since: now.since,
      reason: now.reason,
      downVotes: now.down,
    });
    if (announced) {
      t.deepEqual(change, {
        type: 'health',
        pool: 'api',
        node: 'n1',
        health: cache.health('api', 'n1')!,
        previous: held.verdict,
      });
    } else {
      t.is(change, undefined);
    }
  });
}

test('health: the first record is announced with previous unknown, with all its fields', (t) => {
  const cache = new ClusterCache();
  t.is(cache.health('api', 'n1'), undefined, 'nothing known yet');
  const change = cache.applyHealth('api', 'n1', health('down', 1, ['a'], 42, '2 instances report it down'));
  const expected = { verdict: 'down', since: 42, reason: '2 instances report it down', downVotes: ['a'] };
  t.deepEqual(change, { type: 'health', pool: 'api', node: 'n1', health: expected, previous: 'unknown' });
  t.deepEqual(cache.health('api', 'n1'), expected);
  t.is(cache.health('api', 'n2'), undefined, 'another node: still nothing');
  t.is(cache.health('web', 'n1'), undefined, 'the same node name in another pool: still nothing');
});

test('health: markStale (the store lost state) lets the next record replace ours whatever its version, once', (t) => {
  const cache = new ClusterCache();
  cache.applyHealth('api', 'n1', health('down', 7, ['a']));
  cache.applyHealth('api', 'n2', health('up', 3));
  t.is(cache.applyHealth('api', 'n1', health('up', 1)), undefined, 'before: an older version is refused');
  cache.markStale();
  t.like(
    cache.applyHealth('api', 'n1', health('up', 1)),
    { type: 'health', previous: 'down', health: { verdict: 'up' } },
    'after: the store starts over and is believed',
  );
  t.is(
    cache.applyHealth('api', 'n1', health('down', 1)),
    undefined,
    'then versions compare again (an equal one is refused)',
  );
  t.like(cache.applyHealth('api', 'n2', health('down', 2)), { previous: 'up' }, 'every record held was marked');
});

test('health: without markStale, older versions from a snapshot are refused and reported behind', (t) => {
  const cache = new ClusterCache();
  cache.applyHealth('api', 'n1', health('down', 7, ['a']));
  cache.applyHealth('api', 'n2', health('up', 3));
  const { changes, behind } = cache.applySnapshot(
    snapshot({
      health: [
        ['api/n1', health('up', 2)],
        ['api/n2', health('up', 3)],
      ],
    }),
  );
  t.deepEqual(changes, []);
  t.deepEqual([...behind.health], [['api/n1', 7]], 'an equal version is not behind, an older one is');
  t.like(cache.health('api', 'n1'), { verdict: 'down' });
  t.deepEqual(
    [...cache.applySnapshot(snapshot({})).behind.health],
    [
      ['api/n1', 7],
      ['api/n2', 3],
    ],
    'missing from the store: behind',
  );
});

test('health: a snapshot announces what changed, under the pool and node its key names', (t) => {
  const cache = new ClusterCache();
  cache.applyHealth('api', 'n1', health('up', 1));
  const { changes, behind } = cache.applySnapshot(
    snapshot({
      health: [
        ['api/n1', health('down', 2, ['b'])],
        ['web/n/9', health('up', 1)],
      ],
    }),
  );
  t.deepEqual(changes, [
    {
      type: 'health',
      pool: 'api',
      node: 'n1',
      health: { verdict: 'down', since: 0, reason: '', downVotes: ['b'] },
      previous: 'up',
    },
    {
      type: 'health',
      pool: 'web',
      node: 'n/9',
      health: { verdict: 'up', since: 0, reason: '', downVotes: [] },
      previous: 'unknown',
    },
  ]);
  t.is(behind.health.size, 0);
  t.like(cache.health('web', 'n/9'), { verdict: 'up' });
});

// --- drains: by the time of the operation ----------------------------------------------------

const drainCases: Array<
  [name: string, held: DrainRecord, incoming: DrainRecord, replaces: boolean, announced: boolean]
> = [
  ['an older operation does not undo a newer drain', drain(true, 200), drain(false, 100), false, false],
  ['an operation of the same time does not replace it', drain(true, 200), drain(false, 200), false, false],
  ['a newer enable removes the drain and is announced', drain(true, 200), drain(false, 300, 'b'), true, true],
  ['a newer drain of a drained node is kept, not announced', drain(true, 200), drain(true, 300, 'b'), true, false],
  ['a newer drain of an enabled node is announced', drain(false, 200), drain(true, 300, 'b'), true, true],
];

for (const [name, held, incoming, replaces, announced] of drainCases) {
  test(`drain: ${name}`, (t) => {
    const cache = new ClusterCache();
    cache.applyDrain('api', 'n1', held);
    const change = cache.applyDrain('api', 'n1', incoming);
    const now = replaces ? incoming : held;
    t.is(cache.drainRecord('api/n1'), now);
    t.is(cache.drained('api', 'n1'), now.draining);
    t.deepEqual(
      change,
      announced ? { type: 'drain', pool: 'api', node: 'n1', draining: incoming.draining, by: incoming.by } : undefined,
    );
  });
}

test('drain: the first drain is announced, the first enable is not (a node is enabled until drained)', (t) => {
  const cache = new ClusterCache();
  t.false(cache.drained('api', 'n1'));
  t.deepEqual(cache.applyDrain('api', 'n1', drain(true, 1, 'b')), {
    type: 'drain',
    pool: 'api',
    node: 'n1',
    draining: true,
    by: 'b',
  });
  t.true(cache.drained('api', 'n1'));
  t.is(cache.applyDrain('api', 'n2', drain(false, 1)), undefined);
  t.false(cache.drained('api', 'n2'));
  t.is(cache.drainRecord('api/n2')?.version, 1, 'but it is recorded: an older drain cannot come after it');
  t.is(cache.applyDrain('api', 'n2', drain(true, 0)), undefined);
  t.false(cache.drained('api', 'n2'));
  t.deepEqual([...cache.drainRecords().keys()], ['api/n1', 'api/n2']);
});

test("drain: the store's answer to our own operation replaces our provisional record whatever its version", (t) => {
  const cache = new ClusterCache();
  cache.applyDrain('api', 'n1', drain(true, 500, 'a'));
  t.deepEqual(
    cache.replaceDrain('api', 'n1', drain(false, 100, 'b')),
    { type: 'drain', pool: 'api', node: 'n1', draining: false, by: 'b' },
    'an older version: still taken',
  );
  t.false(cache.drained('api', 'n1'));
  t.deepEqual(cache.drainRecord('api/n1'), drain(false, 100, 'b'));
  t.is(cache.replaceDrain('api', 'n1', drain(false, 50, 'c')), undefined, 'the same flag: taken, not announced');
  t.deepEqual(cache.drainRecord('api/n1'), drain(false, 50, 'c'));
  t.is(cache.replaceDrain('api', 'n2', drain(false, 1)), undefined, 'an enable of a node never drained: not announced');
  t.like(
    cache.replaceDrain('api', 'n3', drain(true, 1)),
    { node: 'n3', draining: true },
    'a drain of a node never seen: announced',
  );
});

test('drain: a snapshot adds and removes drains, and reports what it lacks or has older', (t) => {
  const cache = new ClusterCache();
  cache.applyDrain('api', 'n1', drain(true, 100));
  cache.applyDrain('api', 'n2', drain(true, 100));
  cache.applyDrain('api', 'n3', drain(true, 100));
  const { changes, behind } = cache.applySnapshot(
    snapshot({
      drains: [
        ['api/n1', drain(false, 200, 'b')], // removed
        ['api/n2', drain(true, 100)], // the same
        ['api/n4', drain(true, 150, 'c')], // added
      ],
    }),
  );
  const expected: StoreChange[] = [
    { type: 'drain', pool: 'api', node: 'n1', draining: false, by: 'b' },
    { type: 'drain', pool: 'api', node: 'n4', draining: true, by: 'c' },
  ];
  t.deepEqual(changes, expected);
  t.deepEqual(behind.drains, ['api/n3'], 'n3 is missing from the store; n2 at an equal version is not behind');
  t.deepEqual(
    [cache.drained('api', 'n1'), cache.drained('api', 'n2'), cache.drained('api', 'n3'), cache.drained('api', 'n4')],
    [false, true, true, true],
  );
  const older = cache.applySnapshot(
    snapshot({
      drains: [
        ['api/n1', drain(true, 150)],
        ['api/n2', drain(true, 100)],
        ['api/n3', drain(true, 100)],
        ['api/n4', drain(true, 150)],
      ],
    }),
  );
  t.deepEqual(older.behind.drains, ['api/n1'], 'a record older than ours is behind');
  t.deepEqual(older.changes, []);
});

test('a snapshot announces health, then active, then drain changes', (t) => {
  const cache = new ClusterCache();
  const { changes } = cache.applySnapshot(
    snapshot({
      drains: [['api/n1', drain(true, 1)]],
      active: [['db', active('p', 1)]],
      health: [['api/n1', health('up', 1)]],
    }),
  );
  t.deepEqual(
    changes.map((c) => c.type),
    ['health', 'active', 'drain'],
  );
});

const keys: Array<[key: string, pool: string, node: string]> = [
  ['api/n1', 'api', 'n1'],
  ['api/10.0.0.1:80/x', 'api', '10.0.0.1:80/x'],
  ['a/b', 'a', 'b'],
];

for (const [key, pool, node] of keys) {
  test(`split: "${key}" is pool "${pool}", node "${node}" (a pool name has no slash; a node name may)`, (t) => {
    t.deepEqual(split(key), [pool, node]);
  });
}
