import test from 'ava';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { UpstreamNode } from '../../src/pool/upstream-node.ts';
import type { AttemptOutcome, Health } from '../../src/policy/types.ts';
import { fakeNode, type FakeNodeState } from '../../src/testing/index.ts';
import { eventually } from '../helpers/http.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

test('health: down if either verdict says so, up if either says up, otherwise unknown', (t) => {
  const verdicts: Health[] = ['up', 'down', 'unknown'];
  const expected: Record<string, Health> = {
    'up up': 'up',
    'up down': 'down',
    'up unknown': 'up',
    'down up': 'down',
    'down down': 'down',
    'down unknown': 'down',
    'unknown up': 'up',
    'unknown down': 'down',
    'unknown unknown': 'unknown',
  };
  for (const local of verdicts) {
    for (const cluster of verdicts)
      t.is(fakeNode('a', { local, cluster }).health, expected[`${local} ${cluster}`]!, `${local} ${cluster}`);
  }
});

const usableCases: Array<[string, FakeNodeState, boolean]> = [
  ['healthy', {}, true],
  ['no verdict yet', { local: 'unknown', cluster: 'unknown' }, true],
  ['down locally', { local: 'down' }, false],
  ['down in the cluster', { cluster: 'down' }, false],
  ['draining', { draining: true }, false],
  ['breaker open', { breaker: 'open' }, false],
  ['breaker half-open, trial not taken', { breaker: 'half-open' }, true],
  ['breaker half-open, trial under way', { breaker: 'half-open', trialInFlight: true }, false],
  ['probation, idle', { local: 'unknown', cluster: 'unknown', probation: true }, true],
  [
    'probation, its one request under way',
    { local: 'unknown', cluster: 'unknown', probation: true, inflight: 1 },
    false,
  ],
  ['busy but healthy', { inflight: 50 }, true],
];

for (const [name, state, usable] of usableCases) {
  test(`usable: ${name} → ${usable}`, (t) => {
    t.is(fakeNode('a', state).usable, usable);
  });
}

test('a node is at http://<id> when the id reads as a host, as gateway ids (host:port) do', (t) => {
  t.is(fakeNode('10.0.1.11:3000').url.href, 'http://10.0.1.11:3000/');
  t.is(fakeNode('web-1').url.host, 'web-1');
  t.is(fakeNode('not a host').url.href, 'http://fake-node.test/');
  t.is(fakeNode('a', { url: 'https://api.test:8443' }).url.port, '8443');
});

test('upSince is reported only while the node is up', (t) => {
  const node = fakeNode('a', { upSince: 5000 });
  t.is(node.upSince, 5000);
  node.local = 'down';
  t.is(node.upSince, undefined);
  node.local = 'unknown';
  node.cluster = 'unknown';
  t.is(node.upSince, undefined);
});

// The kit must not drift from the gateway: the same states, reached on a real UpstreamNode
// (its health state machine, its opossum breaker), give the same `health` and `usable`.

const failed: AttemptOutcome = { kind: 'connect', detail: 'ECONNREFUSED', latencyMs: 1, failed: true };
const ok: AttemptOutcome = { kind: 'ok', status: 200, latencyMs: 1, failed: false };
const guarded = (outcome: AttemptOutcome) => () => Promise.resolve({ outcome });

function realNode(clock: FakeClock, agent: http.Agent): UpstreamNode {
  return new UpstreamNode(
    { id: 'a', url: new URL('http://127.0.0.1:9'), weight: 1, tier: 0, standby: undefined },
    {
      clock,
      agent,
      health: false,
      passive: { failures: 3, statuses: [502, 503, 504], ejectTimeMs: 1000, maxEjectTimeMs: 10_000 },
      breaker: { errorThresholdPercentage: 50, volumeThreshold: 1, resetTimeoutMs: 50, windowMs: 10_000 },
      rotation: undefined,
      storeTime: (local) => local,
      hooks: { onLocalHealth: () => {}, onBreaker: () => {}, onTrialSlotFree: () => {} },
    },
  );
}

const cluster = (verdict: Health) => ({
  verdict,
  since: 0,
  reason: 'test',
  downVotes: verdict === 'down' ? ['other'] : [],
});

/** How to bring a fresh real node into a state, and the same state written for the kit. */
const conformance: Array<{
  name: string;
  // biome-ignore lint/suspicious/noConfusingVoidType: a drive step may be synchronous
  drive(node: UpstreamNode, clock: FakeClock): Promise<unknown> | void;
  fake: FakeNodeState;
}> = [
  { name: 'new, no verdict', drive: () => {}, fake: { local: 'unknown', cluster: 'unknown' } },
  { name: 'a request succeeded', drive: (node) => node.recordOutcome(ok), fake: { local: 'up', cluster: 'up' } },
  {
    name: 'ejected: connection refused',
    drive: (node) => node.recordOutcome(failed),
    fake: { local: 'down', cluster: 'down' },
  },
  {
    name: 'after the ejection: probation, idle',
    drive: (node, clock) => {
      node.recordOutcome(failed);
      clock.advance(1000);
    },
    fake: { local: 'unknown', cluster: 'unknown', probation: true },
  },
  {
    name: 'probation with its trial request under way',
    drive: (node, clock) => {
      node.recordOutcome(failed);
      clock.advance(1000);
      node.begin();
    },
    fake: { local: 'unknown', cluster: 'unknown', probation: true, inflight: 1 },
  },
  {
    name: 'up locally, down in the cluster',
    drive: (node) => {
      node.recordOutcome(ok);
      node.setClusterHealth(cluster('down'));
    },
    fake: { local: 'up', cluster: 'down' },
  },
  {
    name: 'unknown locally, up in the cluster',
    drive: (node) => node.setClusterHealth(cluster('up')),
    fake: { local: 'unknown', cluster: 'up' },
  },
  {
    name: 'draining',
    drive: (node) => {
      node.recordOutcome(ok);
      node.draining = true;
    },
    fake: { draining: true },
  },
  {
    name: 'breaker open',
    drive: (node) => node.circuit.run(guarded({ ...failed, kind: 'reset' })),
    fake: { local: 'unknown', cluster: 'unknown', breaker: 'open' },
  },
  {
    name: 'breaker half-open',
    drive: async (node) => {
      await node.circuit.run(guarded({ ...failed, kind: 'reset' }));
      await eventually(() => node.breaker === 'half-open', 5000);
    },
    fake: { local: 'unknown', cluster: 'unknown', breaker: 'half-open' },
  },
  {
    name: 'breaker half-open, its trial under way',
    drive: async (node) => {
      await node.circuit.run(guarded({ ...failed, kind: 'reset' }));
      await eventually(() => node.breaker === 'half-open', 5000);
      void node.circuit.run(() => sleep(60_000, { outcome: ok }, { ref: false }));
    },
    fake: { local: 'unknown', cluster: 'unknown', breaker: 'half-open', trialInFlight: true },
  },
];

for (const { name, drive, fake } of conformance) {
  test(`conformance with the gateway's UpstreamNode: ${name}`, async (t) => {
    const clock = new FakeClock(0);
    const agent = new http.Agent();
    const node = realNode(clock, agent);
    t.teardown(() => {
      node.dispose();
      agent.destroy();
    });
    await drive(node, clock);
    const kit = fakeNode('a', fake);
    t.deepEqual(
      { health: kit.health, usable: kit.usable, breaker: kit.breaker },
      { health: node.health, usable: node.usable, breaker: node.breaker },
    );
  });
}
