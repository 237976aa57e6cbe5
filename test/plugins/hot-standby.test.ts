import test from 'ava';
import hotStandby from '../../plugins/hot-standby.ts';
import type { ElectionIntent, Policy } from '../../src/policy/types.ts';
import { fakeNode, fakePool, instantiate, pickContext, type FakePool } from '../helpers/fake-pool.ts';
import { settingsFor } from '../helpers/settings.ts';

/**
 * Hot standby as a state machine: a fake pool plays the store (applying each election as the
 * gateway's compare-and-set would), time is a number we move.
 */
class Harness {
  now = 1_000_000;
  readonly policy: Policy;
  readonly changes: string[] = [];

  constructor(
    readonly pool: FakePool,
    options: object = {},
  ) {
    this.policy = instantiate(hotStandby, options, pool);
  }

  /** Asks like the gateway does and applies a change; returns the recheck time, if any. */
  elect(intent: ElectionIntent = 'auto'): number | undefined {
    const answer = this.policy.elect!(this.pool, this.now, intent);
    if (!answer) return undefined;
    if ('recheckAt' in answer) return answer.recheckAt;
    // What the store keeps with the new state: the node before it and the policy's flip count.
    const pool = this.pool as FakePool & { activeFrom?: string | null; flips?: number };
    pool.activeFrom = this.pool.active;
    pool.flips = answer.flips ?? 0;
    this.pool.active = answer.to;
    this.pool.epoch = (this.pool.epoch ?? 0) + 1;
    this.pool.activeSince = this.now;
    this.changes.push(answer.to);
    return undefined;
  }

  down(id: string) {
    Object.assign(this.pool.node(id), { health: 'down', local: 'down', usable: false, upSince: undefined });
  }

  up(id: string) {
    Object.assign(this.pool.node(id), { health: 'up', local: 'up', usable: true, upSince: this.now });
  }

  advance(ms: number) {
    this.now += ms;
  }
}

const standbyPool = () =>
  fakePool([fakeNode('primary'), fakeNode('standby', { tier: 1 }), fakeNode('dr', { tier: 2 })], { epoch: 0 });

test('the first election makes the best-ranked node active; picks go only to it', (t) => {
  const h = new Harness(standbyPool());
  h.elect();
  t.is(h.pool.active, 'primary');
  t.is(h.pool.epoch, 1);
  for (let i = 0; i < 5; i++) t.is(h.policy.pick(h.pool, pickContext())?.id, 'primary');
  t.is(
    h.policy.pick(h.pool, pickContext({ tried: new Set(['primary']) })),
    undefined,
    'a retry waits for the takeover',
  );
});

test('a down active node is replaced by the best usable standby, once', (t) => {
  const h = new Harness(standbyPool());
  h.elect();
  h.down('primary');
  h.elect();
  h.elect();
  h.elect();
  t.deepEqual(h.changes, ['primary', 'standby'], 'no flapping: one change per event');
  t.is(h.pool.epoch, 2);
  t.is(h.policy.pick(h.pool, pickContext())?.id, 'standby');
  h.down('standby');
  h.elect();
  t.is(h.pool.active, 'dr');
});

test('breaker open or drained counts as unusable', (t) => {
  const h = new Harness(standbyPool());
  h.elect();
  Object.assign(h.pool.node('primary'), { breaker: 'open', usable: false });
  h.elect();
  t.is(h.pool.active, 'standby');
  Object.assign(h.pool.node('standby'), { draining: true, usable: false });
  h.elect();
  t.is(h.pool.active, 'dr');
});

test('no usable node at all: the active node stays (nothing better to switch to)', (t) => {
  const h = new Harness(standbyPool());
  h.elect();
  for (const id of ['primary', 'standby', 'dr']) h.down(id);
  h.elect();
  t.deepEqual(h.changes, ['primary']);
});

test('auto failback only after the primary has been up for failbackDelay, and not before the hold-down', (t) => {
  const h = new Harness(standbyPool(), { failbackDelay: '30s' });
  h.elect();
  h.down('primary');
  h.elect();
  h.advance(5_000);
  h.up('primary');
  const recheck = h.elect();
  t.is(h.pool.active, 'standby', 'not yet: the primary just came back');
  t.is(recheck, h.now + 30_000, 'asks to be consulted when the delay ends');
  h.advance(20_000);
  h.down('primary');
  h.elect();
  h.advance(1_000);
  h.up('primary');
  t.is(h.elect(), h.now + 30_000, 'a flap restarts the delay');
  h.advance(30_000);
  h.elect();
  t.is(h.pool.active, 'primary');
  t.deepEqual(h.changes, ['primary', 'standby', 'primary']);
});

test('manual failback: never automatic, only on request', (t) => {
  const h = new Harness(standbyPool(), { failback: 'manual' });
  h.elect();
  h.down('primary');
  h.elect();
  h.up('primary');
  h.advance(3_600_000);
  t.is(h.elect(), undefined);
  t.is(h.pool.active, 'standby');
  h.elect('failback');
  t.is(h.pool.active, 'primary');
});

test('forced failover moves to the next usable node and is not undone before the hold-down', (t) => {
  const h = new Harness(standbyPool(), { failbackDelay: '30s' });
  h.elect();
  h.advance(60_000);
  h.elect('failover');
  t.is(h.pool.active, 'standby');
  t.is(h.elect(), h.now + 30_000, 'the primary is healthy, but the operator’s choice holds for the delay');
  h.advance(30_000);
  h.elect();
  t.is(h.pool.active, 'primary');
});

test('failing over and back between the same two nodes: the failback delay doubles each round trip, up to maxFailbackDelay', (t) => {
  const h = new Harness(standbyPool(), { failbackDelay: '10s', maxFailbackDelay: '40s' });
  h.elect();
  const delays: number[] = [];
  const flips: number[] = [];
  for (let round = 0; round < 4; round++) {
    h.down('primary');
    h.elect();
    flips.push(h.pool.flips!);
    h.up('primary');
    const at = h.elect()!;
    delays.push(at - h.now);
    h.advance(at - h.now);
    h.elect();
    t.is(h.pool.active, 'primary', `round ${round}: failed back`);
    h.advance(1_000);
  }
  t.deepEqual(flips, [0, 2, 4, 6], 'each change back to the node before counts');
  t.deepEqual(delays, [10_000, 20_000, 40_000, 40_000]);
});

test('a state that lasted twice maxFailbackDelay starts the count again', (t) => {
  const h = new Harness(standbyPool(), { failbackDelay: '10s', maxFailbackDelay: '40s' });
  h.elect();
  for (let round = 0; round < 2; round++) {
    h.down('primary');
    h.elect();
    h.up('primary');
    h.advance(h.elect()! - h.now);
    h.elect();
  }
  t.is(h.pool.flips, 3);
  h.advance(80_000); // the primary stays up and active for twice the cap
  h.down('primary');
  h.elect();
  t.is(h.pool.flips, 0);
  h.up('primary');
  t.is(h.elect(), h.now + 10_000, 'back to the base delay');
});

test('a cold standby is chosen only when no hot node can serve', (t) => {
  const pool = fakePool(
    [fakeNode('primary'), fakeNode('cold', { tier: 1, standby: 'cold', health: 'down', usable: false })],
    { epoch: 0 },
  );
  const h = new Harness(pool);
  h.elect();
  h.down('primary');
  h.elect();
  t.is(h.pool.active, 'cold', 'promoted although it is not up yet: activation brings it up');
  h.elect();
  t.deepEqual(h.changes, ['primary', 'cold'], 'and it stays active while it starts');
  t.is(h.policy.pick(h.pool, pickContext()), undefined, 'traffic waits until its heartbeat passes');
  h.up('cold');
  t.is(h.policy.pick(h.pool, pickContext())?.id, 'cold');
});

test('an active node that is no longer configured is replaced', (t) => {
  const h = new Harness(standbyPool());
  h.pool.active = 'removed-node';
  h.pool.epoch = 7;
  h.elect();
  t.is(h.pool.active, 'primary');
  t.is(h.pool.epoch, 8);
});

test('options are validated', (t) => {
  t.false(hotStandby.options!.safeParse({ failback: 'sometimes' }).success);
  t.false(hotStandby.options!.safeParse({ failbackDelay: 'soon' }).success);
  t.false(hotStandby.options!.safeParse({ retries: 3 }).success);
  t.false(hotStandby.options!.safeParse({ maxFailbackDelay: 'never' }).success);
  t.like(hotStandby.options!.parse({}), { failback: 'auto', failbackDelay: 30_000, maxFailbackDelay: 600_000 });
});

/** Each election says why, in the words the events and the admin API show. */
const reasons: Array<{
  name: string;
  setup: (h: Harness) => void;
  intent?: ElectionIntent;
  to: string | undefined;
  reason?: string;
}> = [
  { name: 'the first election', setup: () => {}, to: 'primary', reason: 'initial active node' },
  {
    name: 'an active node no longer configured',
    setup: (h) => void (h.pool.active = 'gone'),
    to: 'primary',
    reason: 'gone is no longer configured',
  },
  {
    name: 'the active node down',
    setup: (h) => (h.elect(), h.down('primary')),
    to: 'standby',
    reason: 'primary is down',
  },
  {
    name: 'the active node drained',
    setup: (h) => (h.elect(), Object.assign(h.pool.node('primary'), { draining: true, usable: false })),
    to: 'standby',
    reason: 'primary is drained',
  },
  {
    name: 'the active node’s breaker open',
    setup: (h) => (h.elect(), Object.assign(h.pool.node('primary'), { breaker: 'open', usable: false })),
    to: 'standby',
    reason: 'primary is failing (breaker open)',
  },
  {
    name: 'the active node unusable for another reason (probation)',
    setup: (h) => (h.elect(), Object.assign(h.pool.node('primary'), { usable: false })),
    to: 'standby',
    reason: 'primary is not usable',
  },
  {
    name: 'a forced failover',
    setup: (h) => h.elect(),
    intent: 'failover',
    to: 'standby',
    reason: 'forced failover from primary',
  },
  {
    name: 'a forced failover before any election',
    setup: () => {},
    intent: 'failover',
    to: 'primary',
    reason: 'forced failover from none',
  },
  {
    name: 'a forced failover skips a down standby',
    setup: (h) => (h.elect(), h.down('standby')),
    intent: 'failover',
    to: 'dr',
    reason: 'forced failover from primary',
  },
  {
    name: 'a requested failback',
    setup: (h) => (h.elect(), h.elect('failover')),
    intent: 'failback',
    to: 'primary',
    reason: 'failback to primary',
  },
  {
    name: 'a requested failback to the node already active: nothing',
    setup: (h) => h.elect(),
    intent: 'failback',
    to: undefined,
  },
  {
    name: 'an automatic failback says how long the node has been up',
    setup: (h) => (h.elect(), h.down('primary'), h.elect(), h.up('primary'), h.advance(31_400)),
    to: 'primary',
    reason: 'failback: primary up for 31s',
  },
];

for (const { name, setup, intent = 'auto', to, reason } of reasons) {
  test(`reason: ${name}`, (t) => {
    const h = new Harness(standbyPool(), { failbackDelay: '30s' });
    setup(h);
    const answer = h.policy.elect!(h.pool, h.now, intent);
    if (to === undefined) return t.is(answer, undefined);
    t.like(answer, { to, reason });
  });
}

test('failover to a cold standby only when no hot node is left; never a draining one, nor the active one', (t) => {
  const pool = fakePool(
    [
      fakeNode('primary'),
      fakeNode('cold', { tier: 1, standby: 'cold', health: 'down', usable: false }),
      fakeNode('cold2', { tier: 2, standby: 'cold', usable: false, draining: true }),
    ],
    { epoch: 0 },
  );
  const h = new Harness(pool);
  h.elect();
  t.like(
    h.policy.elect!(h.pool, h.now, 'failover'),
    { to: 'cold' },
    'the primary is the only hot node and it is active',
  );
  h.elect('failover');
  t.like(h.policy.elect!(h.pool, h.now, 'failover'), { to: 'primary' }, 'from the cold standby back to the hot node');
  h.down('primary');
  t.is(h.policy.elect!(h.pool, h.now, 'failover'), undefined, 'no other node: cold2 is draining, cold is active');
});

test('a cold active node stays while no hot node can serve, even down; a hot node coming up replaces it', (t) => {
  const pool = fakePool(
    [fakeNode('primary'), fakeNode('cold', { tier: 1, standby: 'cold', health: 'down', usable: false })],
    { epoch: 0 },
  );
  const h = new Harness(pool);
  h.elect();
  h.down('primary');
  h.elect();
  t.is(h.pool.active, 'cold');
  h.advance(1000);
  t.is(h.elect(), undefined, 'starting: it stays');
  t.is(h.pool.active, 'cold');
  h.up('primary');
  h.elect();
  t.is(h.pool.active, 'primary', 'a usable hot node: the unusable cold one is replaced at once');
});

test('a draining cold active node is replaced by another cold standby', (t) => {
  const pool = fakePool(
    [
      fakeNode('primary'),
      fakeNode('cold', { tier: 1, standby: 'cold', usable: false }),
      fakeNode('cold2', { tier: 2, standby: 'cold', usable: false }),
    ],
    { epoch: 0 },
  );
  const h = new Harness(pool);
  h.elect();
  h.down('primary');
  h.elect();
  t.is(h.pool.active, 'cold');
  Object.assign(h.pool.node('cold'), { draining: true });
  h.elect();
  t.is(h.pool.active, 'cold2');
});

test('ranks by tier, then config order, whatever order the tiers are listed in', (t) => {
  const pool = fakePool(
    [
      fakeNode('dr', { tier: 2 }),
      fakeNode('standby-a', { tier: 1 }),
      fakeNode('primary', { tier: 0 }),
      fakeNode('standby-b', { tier: 1 }),
    ],
    { epoch: 0 },
  );
  const h = new Harness(pool);
  h.elect();
  for (const id of ['primary', 'standby-a', 'standby-b']) {
    h.down(id);
    h.elect();
  }
  t.deepEqual(h.changes, ['primary', 'standby-a', 'standby-b', 'dr']);
});

test('no active node (before the first election, or no longer configured): no pick', (t) => {
  const h = new Harness(standbyPool());
  t.is(h.policy.pick(h.pool, pickContext()), undefined);
  h.pool.active = 'gone';
  t.is(h.policy.pick(h.pool, pickContext()), undefined);
});

test('a cold standby, even up and running, is not chosen while a hot node can serve', (t) => {
  const pool = fakePool(
    [fakeNode('primary'), fakeNode('cold', { tier: 1, standby: 'cold' }), fakeNode('dr', { tier: 2 })],
    {
      epoch: 0,
    },
  );
  const h = new Harness(pool);
  h.elect();
  h.down('primary');
  h.elect();
  t.is(h.pool.active, 'dr');
  t.like(h.policy.elect!(h.pool, h.now, 'failover'), { to: 'cold' }, 'a forced failover: no other hot node');
});

test('a running cold active node is kept: no failback to a hot node ranked after it, nor to a cold one not up', (t) => {
  const pool = fakePool(
    [
      fakeNode('primary'),
      fakeNode('cold', { tier: 1, standby: 'cold', usable: false }),
      fakeNode('cold2', { tier: 2, standby: 'cold', usable: false }),
      fakeNode('dr', { tier: 3 }),
    ],
    { epoch: 0 },
  );
  const h = new Harness(pool);
  h.elect();
  h.down('primary');
  h.down('dr');
  h.elect();
  t.is(h.pool.active, 'cold');
  h.up('cold');
  h.up('dr');
  h.advance(3_600_000);
  t.is(h.elect(), undefined, 'dr is up, but ranks after the active cold standby');
  t.is(h.pool.active, 'cold');
  // cold2 active and running, the better-ranked cold standby stopped (not up, no upSince).
  h.pool.active = 'cold2';
  h.up('cold2');
  h.down('cold');
  h.down('dr');
  h.advance(3_600_000);
  t.is(h.elect(), undefined, 'no failback to a cold standby that is not running, and no recheck');
  t.is(h.pool.active, 'cold2');
});

test('a starting cold active node is not replaced by a better-ranked cold standby (no flapping between them)', (t) => {
  const pool = fakePool(
    [
      fakeNode('primary'),
      fakeNode('cold', { tier: 1, standby: 'cold', usable: false, health: 'down', upSince: undefined }),
      fakeNode('cold2', { tier: 2, standby: 'cold', usable: false, health: 'down', upSince: undefined }),
    ],
    { epoch: 0 },
  );
  const h = new Harness(pool);
  h.elect();
  h.down('primary');
  Object.assign(h.pool.node('cold'), { draining: true });
  h.elect();
  t.is(h.pool.active, 'cold2');
  Object.assign(h.pool.node('cold'), { draining: false });
  t.is(h.elect(), undefined);
  t.deepEqual(h.changes, ['primary', 'cold2']);
});

test('the policy: its name, its options, and pool defaults for a fast takeover without hedging', (t) => {
  t.is(hotStandby.name, 'hot-standby');
  for (const failback of ['auto', 'manual'])
    t.like(hotStandby.options!.parse({ failback }), { failback }, `failback: '${failback}' is accepted`);
  const pool = settingsFor({
    listen: { port: 8080 },
    pools: {
      x: { policy: 'hot-standby', nodes: [{ url: 'http://127.0.0.1:9001' }, { url: 'http://127.0.0.1:9002' }] },
    },
    routes: [{ pool: 'x' }],
  }).pools.get('x')!;
  t.like(pool.health, { intervalMs: 250, timeoutMs: 200, fall: 2, rise: 2 });
  t.is(pool.retry.waitForNodeMs, 2000);
  t.is(pool.hedge, false);
});
