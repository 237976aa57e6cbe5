import test from 'ava';
import { ActiveController } from '../../src/pool/active-controller.ts';
import type { Pool } from '../../src/pool/pool.ts';
import type { UpstreamNode } from '../../src/pool/upstream-node.ts';
import type { Election, ElectionIntent } from '../../src/policy/types.ts';
import type { ActiveState, Proposal, StateStore } from '../../src/state/types.ts';
import type { Logger } from '../../src/util/logger.ts';
import { BatonError } from '../../src/util/errors.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

// The controller turns the policy's elections into compare-and-sets on the pool's epoch, on a
// fake clock: which answers become a proposal, what waits (a pinned or locally unusable active
// node), when it asks again (a lost race soon, a failed store later, a policy's recheckAt then),
// and what an operator's request is refused for. The store is scripted: each proposal waits
// for the test to answer it, so the order of events is the test's, not the scheduler's.

type NodeFacts = Pick<UpstreamNode, 'id' | 'draining' | 'cluster' | 'health' | 'breaker' | 'usable' | 'standby'>;
type Answer = Election | { recheckAt: number } | undefined;

const node = (id: string, over: Partial<NodeFacts> = {}): NodeFacts => ({
  id,
  draining: false,
  cluster: 'up',
  health: 'up',
  breaker: 'closed',
  usable: true,
  standby: 'hot',
  ...over,
});

const state = (active: string, epoch: number, over: Partial<ActiveState> = {}): ActiveState => ({
  active,
  epoch,
  since: 0,
  reason: '',
  by: 'a',
  id: 'p',
  from: null,
  flips: 0,
  pinned: false,
  ...over,
});

interface Harness {
  readonly controller: ActiveController;
  readonly clock: FakeClock;
  readonly pool: Pool;
  /** Every election the policy was asked for, by intent. */
  readonly elections: ElectionIntent[];
  readonly proposals: Proposal[];
  readonly activated: string[];
  readonly warnings: Array<{ pool: string; err: unknown; msg: string }>;
  /** The answer the policy gives next. */
  answer: Answer;
  /** Settles the oldest proposal still waiting: a state (won), undefined (lost) or an error. */
  settle(outcome: ActiveState | undefined | Error): Promise<void>;
  readonly waiting: number;
}

/** Lets queued microtasks and settled promises run (no time passes). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function harness(
  options: {
    nodes?: NodeFacts[];
    active?: ActiveState;
    activePassive?: boolean;
    quorum?: number | 'majority';
    /** How far the store's clock is ahead of this host's. */
    storeAheadMs?: number;
  } = {},
): Harness {
  const clock = new FakeClock(1_000_000);
  const storeNow = () => clock.now() + (options.storeAheadMs ?? 0);
  const nodes = options.nodes ?? [node('primary'), node('standby')];
  let activeState = options.active;
  const waiting: Array<(outcome: ActiveState | undefined | Error) => void> = [];
  const h = {
    elections: [] as ElectionIntent[],
    proposals: [] as Proposal[],
    activated: [] as string[],
    warnings: [] as Array<{ pool: string; err: unknown; msg: string }>,
    answer: undefined as Answer,
    get waiting() {
      return waiting.length;
    },
    async settle(outcome: ActiveState | undefined | Error) {
      waiting.shift()!(outcome);
      await flush();
    },
  };
  const pool = {
    name: 'db',
    activePassive: options.activePassive ?? true,
    get active() {
      return activeState?.active ?? null;
    },
    get activeState() {
      return activeState;
    },
    get epoch() {
      return activeState?.epoch ?? 0;
    },
    get pinned() {
      return activeState?.pinned ?? false;
    },
    setActiveState(next: ActiveState | undefined) {
      activeState = next;
    },
    node: (id: string) => nodes.find((n) => n.id === id),
    policy: {
      elect: (_pool: unknown, now: number, intent: ElectionIntent) => {
        if (now !== storeNow()) throw new Error('the policy must be asked with the store time');
        h.elections.push(intent);
        return h.answer;
      },
    },
  } as unknown as Pool;
  const store = {
    quorum: options.quorum ?? 1,
    connected: true,
    now: storeNow,
    propose(poolName: string, proposal: Proposal) {
      if (poolName !== 'db') throw new Error(`proposal for ${poolName}`);
      h.proposals.push(proposal);
      return new Promise<ActiveState | undefined>((resolve, reject) => {
        waiting.push((outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome)));
      });
    },
  } as unknown as StateStore;
  const log = {
    warn: (fields: { pool: string; err: unknown }, msg: string) => h.warnings.push({ ...fields, msg }),
  } as unknown as Logger;
  const controller = new ActiveController({
    store,
    clock,
    log,
    activate: async (_pool, n) => {
      h.activated.push(n.id);
    },
  });
  return Object.assign(h, { controller, clock, pool });
}

const elect = (to: string, reason = 'preferred', flips?: number): Election => ({
  to,
  reason,
  ...(flips === undefined ? {} : { flips }),
});

// --- evaluate: which elections become proposals ---------------------------------------------

test('evaluate: a burst of changes asks the policy once, and a new choice is proposed on the current epoch', async (t) => {
  const h = harness({ active: state('primary', 4) });
  h.answer = elect('standby', 'primary down', 2);
  h.controller.evaluate(h.pool);
  h.controller.evaluate(h.pool);
  h.controller.evaluate(h.pool);
  await flush();
  t.deepEqual(h.elections, ['auto']);
  t.deepEqual(h.proposals, [{ expectedEpoch: 4, to: 'standby', reason: 'primary down', flips: 2, pinned: false }]);
});

test('evaluate: a pool without an election yet proposes on epoch 0', async (t) => {
  const h = harness();
  h.answer = elect('primary');
  h.controller.evaluate(h.pool);
  await flush();
  t.like(h.proposals[0], { expectedEpoch: 0, to: 'primary' });
});

test('evaluate: a pool that is not active-passive asks nothing', async (t) => {
  const h = harness({ activePassive: false });
  h.answer = elect('standby');
  h.controller.evaluate(h.pool);
  await flush();
  t.deepEqual(h.elections, []);
  t.deepEqual(h.proposals, []);
});

const noProposal: Array<[name: string, answer: Answer]> = [
  ['the policy has no answer', undefined],
  ['the policy chooses the node already active', elect('primary')],
  ['the policy chooses a node the pool does not have', elect('gone')],
];
for (const [name, answer] of noProposal) {
  test(`evaluate: no proposal when ${name}`, async (t) => {
    const h = harness({ active: state('primary', 4) });
    h.answer = answer;
    h.controller.evaluate(h.pool);
    await flush();
    t.deepEqual(h.elections, ['auto']);
    t.deepEqual(h.proposals, []);
    t.is(h.controller.nextCheck(h.pool), null);
    t.is(h.clock.pending, 0, 'and nothing scheduled');
    t.deepEqual(h.warnings, [], 'and nothing went wrong');
  });
}

/** When the active node has not failed, an automatic change away from it (a failback) waits while it is pinned or unusable here. */
const failbackCases: Array<[name: string, active: NodeFacts, pinned: boolean, asked: boolean]> = [
  ['a healthy active node, not pinned: the policy is asked (it may fail back)', node('primary'), false, true],
  ['a healthy active node pinned by a forced failover: not asked', node('primary'), true, false],
  ['a healthy active node this instance alone cannot use: not asked', node('primary', { usable: false }), false, false],
  [
    'a pinned active node that is down: asked (a failure is not a failback)',
    node('primary', { health: 'down', usable: false }),
    true,
    true,
  ],
  ['a pinned active node that is drained: asked', node('primary', { draining: true }), true, true],
  [
    'an unusable active node whose breaker is open (quorum 1): asked',
    node('primary', { breaker: 'open', usable: false }),
    false,
    true,
  ],
];
for (const [name, active, pinned, asked] of failbackCases) {
  test(`evaluate: ${name}`, async (t) => {
    const h = harness({ nodes: [active, node('standby')], active: state('primary', 4, { pinned }) });
    h.answer = elect('standby');
    h.controller.evaluate(h.pool);
    await flush();
    t.deepEqual(h.elections, asked ? ['auto'] : []);
    t.is(h.proposals.length, asked ? 1 : 0);
  });
}

test('evaluate: an active node that is not among the nodes any more does not hold the election back', async (t) => {
  const h = harness({ active: state('removed', 4, { pinned: true }) });
  h.answer = elect('standby');
  h.controller.evaluate(h.pool);
  await flush();
  t.is(h.proposals.length, 1);
});

// --- proposals: what a win, a lost race and a failure lead to --------------------------------

test('a won proposal is applied at once, then the policy is asked again (things may have moved on)', async (t) => {
  const h = harness({ active: state('primary', 4) });
  h.answer = elect('standby');
  h.controller.evaluate(h.pool);
  await flush();
  h.answer = undefined;
  await h.settle(state('standby', 5));
  t.is(h.pool.active, 'standby');
  t.is(h.pool.epoch, 5);
  t.deepEqual(h.elections, ['auto', 'auto']);
  t.deepEqual(h.activated, [], 'a hot standby needs no activation');
  t.is(h.controller.nextCheck(h.pool), null);
});

test('a won proposal for a cold standby activates it', async (t) => {
  const h = harness({ nodes: [node('primary'), node('cold', { standby: 'cold' })], active: state('primary', 4) });
  h.answer = elect('cold');
  h.controller.evaluate(h.pool);
  await flush();
  h.answer = undefined;
  await h.settle(state('cold', 5));
  t.deepEqual(h.activated, ['cold']);
});

test('a lost race: no change here, the policy is asked again 50 ms later (the winner’s notice comes first)', async (t) => {
  const h = harness({ active: state('primary', 4) });
  h.answer = elect('standby');
  h.controller.evaluate(h.pool);
  await flush();
  await h.settle(undefined);
  t.is(h.pool.active, 'primary');
  t.deepEqual(h.elections, ['auto']);
  t.is(h.controller.nextCheck(h.pool), h.clock.now() + 50);
  h.answer = undefined;
  h.clock.advance(49);
  await flush();
  t.deepEqual(h.elections, ['auto'], 'not before');
  h.clock.advance(1);
  await flush();
  t.deepEqual(h.elections, ['auto', 'auto']);
  t.is(h.controller.nextCheck(h.pool), null, 'the recheck is spent');
});

test('a failed proposal is logged and the policy is asked again a second later, not at once', async (t) => {
  const h = harness({ active: state('primary', 4) });
  h.answer = elect('standby');
  h.controller.evaluate(h.pool);
  await flush();
  const error = new Error('store down');
  await h.settle(error);
  t.deepEqual(h.warnings, [{ pool: 'db', err: error, msg: 'active node proposal failed' }]);
  t.is(h.controller.nextCheck(h.pool), h.clock.now() + 1000);
  h.clock.advance(999);
  await flush();
  t.deepEqual(h.elections, ['auto']);
  h.clock.advance(1);
  await flush();
  t.deepEqual(h.elections, ['auto', 'auto']);
  t.is(h.proposals.length, 2, 'and proposes again');
});

test('while a proposal is in flight, more changes start no second proposal; the election runs again once it ends', async (t) => {
  const h = harness({ active: state('primary', 4) });
  h.answer = elect('standby');
  h.controller.evaluate(h.pool);
  await flush();
  h.controller.evaluate(h.pool);
  await flush();
  t.is(h.proposals.length, 1);
  t.is(h.waiting, 1);
  t.deepEqual(h.elections, ['auto'], 'the policy is not even asked while busy');
  h.answer = elect('spare');
  await h.settle(state('standby', 5));
  t.deepEqual(h.elections, ['auto', 'auto']);
});

// --- rechecks the policy asks for -------------------------------------------------------------

test('a policy that asks to be asked again at a time is asked then, in store time', async (t) => {
  const h = harness({ active: state('primary', 4) });
  h.answer = { recheckAt: h.clock.now() + 30_000 };
  h.controller.evaluate(h.pool);
  await flush();
  t.is(h.controller.nextCheck(h.pool), h.clock.now() + 30_000);
  h.clock.advance(29_999);
  await flush();
  t.deepEqual(h.elections, ['auto']);
  h.answer = elect('standby');
  h.clock.advance(1);
  await flush();
  t.deepEqual(h.elections, ['auto', 'auto']);
  t.is(h.proposals.length, 1);
});

test("a recheck in store time waits as long on a host whose clock is ten minutes behind the store's", async (t) => {
  const h = harness({ active: state('primary', 4), storeAheadMs: 600_000 });
  const storeNow = () => h.clock.now() + 600_000;
  h.answer = { recheckAt: storeNow() + 30_000 };
  h.controller.evaluate(h.pool);
  await flush();
  t.is(h.controller.nextCheck(h.pool), storeNow() + 30_000, 'reported in store time');
  h.clock.advance(29_999);
  await flush();
  t.deepEqual(h.elections, ['auto']);
  h.clock.advance(1);
  await flush();
  t.deepEqual(h.elections, ['auto', 'auto'], 'asked again 30 s later by this host too');
});

test('a failed proposal on a host whose clock is off is retried a second later, not at once', async (t) => {
  const h = harness({ active: state('primary', 4), storeAheadMs: -600_000 });
  h.answer = elect('standby');
  h.controller.evaluate(h.pool);
  await flush();
  await h.settle(new Error('store down'));
  t.is(h.elections.length, 1);
  h.clock.advance(999);
  await flush();
  t.is(h.elections.length, 1);
  h.clock.advance(1);
  await flush();
  t.is(h.elections.length, 2);
});

test('a new election replaces a pending recheck: only the latest time stands', async (t) => {
  const h = harness({ active: state('primary', 4) });
  h.answer = { recheckAt: h.clock.now() + 30_000 };
  h.controller.evaluate(h.pool);
  await flush();
  h.answer = { recheckAt: h.clock.now() + 10_000 };
  h.controller.evaluate(h.pool);
  await flush();
  t.is(h.controller.nextCheck(h.pool), h.clock.now() + 10_000);
  t.is(h.clock.pending, 1, 'the first recheck is cancelled');
  h.answer = undefined;
  h.controller.evaluate(h.pool);
  await flush();
  t.is(h.controller.nextCheck(h.pool), null, 'an election with no recheck cancels the pending one');
  t.is(h.clock.pending, 0);
});

test('stop: rechecks are cancelled and changes no longer start elections', async (t) => {
  const h = harness({ active: state('primary', 4) });
  h.answer = { recheckAt: h.clock.now() + 1000 };
  h.controller.evaluate(h.pool);
  await flush();
  h.controller.stop();
  t.is(h.controller.nextCheck(h.pool), null);
  t.is(h.clock.pending, 0);
  h.controller.evaluate(h.pool);
  h.clock.advance(5000);
  await flush();
  t.deepEqual(h.elections, ['auto']);
});

test('stop between a change and its election: the election does not run', async (t) => {
  const h = harness({ active: state('primary', 4) });
  h.answer = elect('standby');
  h.controller.evaluate(h.pool);
  h.controller.stop();
  await flush();
  t.deepEqual(h.elections, []);
});

// --- an operator's request ----------------------------------------------------------------------

async function refused(
  t: import('ava').ExecutionContext,
  promise: Promise<unknown>,
  code: string,
  message?: RegExp,
): Promise<void> {
  const error = await t.throwsAsync(promise, { instanceOf: BatonError });
  t.is((error as BatonError).code as string, code);
  if (message) t.regex(error!.message, message);
}

test('request: a forced failover to a named node is pinned; a failback is not', async (t) => {
  const h = harness({ active: state('primary', 4) });
  const failover = h.controller.request(h.pool, 'failover', 'standby');
  await flush();
  t.deepEqual(h.proposals, [
    { expectedEpoch: 4, to: 'standby', reason: 'failover requested by operator', flips: undefined, pinned: true },
  ]);
  t.deepEqual(h.elections, [], 'a named node needs no election');
  h.answer = undefined;
  await h.settle(state('standby', 5, { pinned: true }));
  t.like(await failover, { active: 'standby', epoch: 5 });
  const failback = h.controller.request(h.pool, 'failback', 'primary');
  await flush();
  t.like(h.proposals[1], { expectedEpoch: 5, to: 'primary', reason: 'failback requested by operator', pinned: false });
  await h.settle(state('primary', 6));
  t.like(await failback, { active: 'primary' });
});

test("request: without a node, the policy's choice for that intent, with its reason and flips", async (t) => {
  const h = harness({ active: state('primary', 4) });
  h.answer = elect('standby', 'lowest tier', 3);
  const failover = h.controller.request(h.pool, 'failover');
  await flush();
  t.deepEqual(h.elections, ['failover']);
  t.deepEqual(h.proposals, [
    { expectedEpoch: 4, to: 'standby', reason: 'failover requested by operator: lowest tier', flips: 3, pinned: true },
  ]);
  await h.settle(state('standby', 5));
  await failover;
});

test('request: a cold standby that is down may be chosen (it is started on promotion)', async (t) => {
  const h = harness({
    nodes: [node('primary'), node('cold', { standby: 'cold', health: 'down' })],
    active: state('primary', 4),
  });
  const failover = h.controller.request(h.pool, 'failover', 'cold');
  await flush();
  t.is(h.proposals.length, 1);
  await h.settle(state('cold', 5));
  await failover;
  t.deepEqual(h.activated, ['cold']);
});

const refusals: Array<{
  name: string;
  nodes?: NodeFacts[];
  activePassive?: boolean;
  to?: string;
  answer?: Answer;
  code: string;
  message: RegExp;
}> = [
  {
    name: 'a pool that is not active-passive',
    activePassive: false,
    to: 'standby',
    code: 'NOT_ACTIVE_PASSIVE',
    message: /: db$/,
  },
  {
    name: 'no usable node by the policy',
    answer: undefined,
    code: 'FAILOVER_REFUSED',
    message: /no usable node to failover to/,
  },
  {
    name: 'the policy only asks to be asked later',
    answer: { recheckAt: 0 },
    code: 'FAILOVER_REFUSED',
    message: /no usable node to failover to/,
  },
  { name: 'a node the pool does not have', to: 'gone', code: 'NODE_NOT_FOUND', message: /gone/ },
  { name: 'the node already active', to: 'primary', code: 'FAILOVER_REFUSED', message: /primary is already active/ },
  {
    name: 'a draining node',
    nodes: [node('primary'), node('standby', { draining: true })],
    to: 'standby',
    code: 'FAILOVER_REFUSED',
    message: /standby is draining/,
  },
  {
    name: 'a hot standby that is down',
    nodes: [node('primary'), node('standby', { health: 'down' })],
    to: 'standby',
    code: 'FAILOVER_REFUSED',
    message: /standby is down/,
  },
  {
    name: 'a draining cold standby',
    nodes: [node('primary'), node('standby', { standby: 'cold', draining: true })],
    to: 'standby',
    code: 'FAILOVER_REFUSED',
    message: /standby is draining/,
  },
];
for (const { name, nodes, activePassive, to, answer, code, message } of refusals) {
  test(`request refused: ${name}`, async (t) => {
    const h = harness({ nodes, activePassive, active: state('primary', 4) });
    h.answer = answer;
    await refused(t, h.controller.request(h.pool, 'failover', to), code, message);
    t.deepEqual(h.proposals, []);
  });
}

test('request refused when another change wins the race, naming the state that won', async (t) => {
  const h = harness({ active: state('primary', 4) });
  const failover = h.controller.request(h.pool, 'failover', 'standby');
  await flush();
  h.pool.setActiveState(state('spare', 5));
  await h.settle(undefined);
  await refused(t, failover, 'FAILOVER_REFUSED', /another change won the race \(active spare, epoch 5\)/);
});

test('request refused when another change wins the race on a pool without a state: none, epoch 0', async (t) => {
  const h = harness();
  const failover = h.controller.request(h.pool, 'failover', 'standby');
  await flush();
  await h.settle(undefined);
  await refused(t, failover, 'FAILOVER_REFUSED', /\(active none, epoch 0\)/);
});
