import test from 'ava';
import { definePolicy, duration, z } from '../../src/index.ts';
import { hotStandby, roundRobin, weightedRoundRobin } from '../../src/policies.ts';
import { fakeNode, fakePool, instantiate, pickContext, share, tally } from '../../src/testing/index.ts';

/** A policy that keeps the options it was created with, for the test to read. */
const seen: unknown[] = [];
const echo = definePolicy({
  name: 'echo-options',
  options: z.strictObject({ delay: duration.default(1000), label: z.string().min(1) }),
  create(options) {
    seen.push(options);
    return { pick: () => undefined };
  },
});

const pool = fakePool([fakeNode('a'), fakeNode('b')]);
const created = (create: () => unknown) => {
  create();
  return seen.pop();
};

test('instantiate validates options as the gateway does: defaults applied, durations read', (t) => {
  t.deepEqual(
    created(() => instantiate(echo, { label: 'x' }, pool)),
    { delay: 1000, label: 'x' },
  );
  t.deepEqual(
    created(() => instantiate(echo({ label: 'y', delay: '2s' }), pool)),
    { delay: 2000, label: 'y' },
    'the value form',
  );
});

test('instantiate refuses what the gateway refuses, naming the option', (t) => {
  t.throws(() => instantiate(echo, { label: '' } as never, pool), { message: /^policy 'echo-options': label: / });
  t.throws(() => instantiate(echo, { label: 'x', colour: 1 } as never, pool), { message: /colour/ });
  t.throws(() => instantiate(hotStandby({ failbackDelay: 'soon' }), pool), {
    message: /^policy 'hot-standby': failbackDelay: /,
  });
  t.throws(() => instantiate(roundRobin({ weights: 1 } as never), pool), {
    message: "policy 'round-robin' takes no options",
  });
  t.notThrows(() => instantiate(roundRobin(), pool));
});

test('pickContext: a first try of GET / at time 0, with overrides', (t) => {
  t.like(pickContext(), { method: 'GET', path: '/', clientIp: '127.0.0.1', attempt: 1, now: 0 });
  t.is(pickContext().tried.size, 0);
  t.like(pickContext({ attempt: 2, tried: new Set(['a']) }), { attempt: 2 });
});

test('tally counts picks per node, share gives fractions; none counts as (none)', (t) => {
  const weighted = fakePool([fakeNode('a', { weight: 3 }), fakeNode('b')]);
  const counts = tally(instantiate(weightedRoundRobin(), weighted), weighted, 400);
  t.deepEqual([...counts].sort(), [
    ['a', 300],
    ['b', 100],
  ]);
  t.is(share(counts, 'a'), 0.75);
  t.is(share(new Map(), 'a'), 0);
  const down = fakePool([fakeNode('a', { local: 'down' })]);
  t.deepEqual([...tally(instantiate(roundRobin(), down), down, 2)], [['(none)', 2]]);
});
