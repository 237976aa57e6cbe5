import test from 'ava';
import http from 'node:http';
import type { AttemptOutcome } from '../../src/policy/types.ts';
import { UpstreamNode } from '../../src/pool/upstream-node.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

// In-flight requests are counted by one pair on the node, begin() and end(), whatever sends
// them (a request, a hedge, a websocket handshake): end() also frees a trial slot on probation.

const failed: AttemptOutcome = { kind: 'connect', detail: 'ECONNREFUSED', latencyMs: 1, failed: true };

function node(t: { teardown(fn: () => void): void }, clock: FakeClock, freed: string[]): UpstreamNode {
  const agent = new http.Agent();
  const made = new UpstreamNode(
    { id: 'a', url: new URL('http://127.0.0.1:9'), weight: 1, tier: 0, standby: undefined },
    {
      clock,
      agent,
      health: false,
      passive: { failures: 1, statuses: [502, 503, 504], ejectTimeMs: 1000, maxEjectTimeMs: 10_000 },
      breaker: false,
      rotation: undefined,
      storeTime: (local) => local,
      hooks: { onLocalHealth: () => {}, onBreaker: () => {}, onTrialSlotFree: (n) => freed.push(n.id) },
    },
  );
  t.teardown(() => {
    made.dispose();
    agent.destroy();
  });
  return made;
}

test('begin() and end() count the attempts in flight', (t) => {
  const freed: string[] = [];
  const a = node(t, new FakeClock(0), freed);
  a.begin();
  a.begin();
  t.is(a.inflight, 2);
  a.end();
  t.is(a.inflight, 1);
  a.end();
  t.is(a.inflight, 0);
  t.deepEqual(freed, [], 'no trial slot outside probation');
});

test('on probation, the trial request holds the node until end() frees the slot', (t) => {
  const clock = new FakeClock(0);
  const freed: string[] = [];
  const a = node(t, clock, freed);
  a.recordOutcome(failed);
  clock.advance(1000);
  t.true(a.usable, 'probation, idle: takes a trial request');
  a.begin();
  t.false(a.usable, 'one trial at a time');
  a.end();
  t.true(a.usable);
  t.deepEqual(freed, ['a'], 'waiting requests are told the slot is free');
});
