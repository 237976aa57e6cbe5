import test from 'ava';
import { ALL_FAULTS, FAULTS, parseFaults, PASSING_FAULTS, spec } from './nemesis/faults.ts';
import { planFaults, type FaultStep, type PlanOptions, type Topology } from './nemesis/plan.ts';

// The fault schedule is a pure function of the seed: the same seed replays the same faults, and
// every schedule keeps the promises the checker relies on (no overlapping Redis faults, one
// gateway down at a time, a pool never wholly out unless asked, operators on live instances).

const topology: Topology = {
  gateways: 3,
  pools: { hs: ['hs-a', 'hs-b', 'hs-c'], rr: ['rr-a', 'rr-b', 'rr-c'] },
  activePassive: 'hs',
};
const plan = (options: Partial<PlanOptions> = {}) =>
  planFaults({ seed: 1, durationMs: 120_000, faults: ALL_FAULTS, topology, ...options });
const end = (s: FaultStep) => s.at + s.holdMs + spec(s.kind).overheadMs;
const overlap = (a: FaultStep, b: FaultStep) => a.at < end(b) && b.at < end(a);
/** The node a step takes out (a partition's target is `gw-<i>→<pool>/<node>`). */
const node = (s: FaultStep) => s.target.split('→').at(-1)!;

test('the same seed gives the same schedule; another seed another one', (t) => {
  t.deepEqual(plan({ seed: 42 }), plan({ seed: 42 }));
  t.notDeepEqual(plan({ seed: 42 }), plan({ seed: 43 }));
});

test('a long schedule uses every fault it is given, and only those', (t) => {
  const steps = Array.from({ length: 5 }, (_, i) => plan({ seed: 100 + i, durationMs: 300_000 })).flat();
  t.deepEqual([...new Set(steps.map((s) => s.kind))].sort(), [...ALL_FAULTS].sort());
  t.deepEqual([...new Set(plan({ faults: ['upstream-kill', 'redis-pause'] }).map((s) => s.kind))].sort(), [
    'redis-pause',
    'upstream-kill',
  ]);
  t.deepEqual(plan({ faults: [] }), []);
});

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`seed ${seed}: every step keeps the schedule's promises`, (t) => {
    const steps = plan({ seed, maxConcurrent: 2 });
    t.true(steps.length > 20, `${steps.length} steps`);
    for (const s of steps) {
      t.true(s.at > 0 && end(s) <= 120_000, `#${s.n} within the run`);
      const others = steps.filter((o) => o !== s && overlap(o, s));
      const counted = (o: FaultStep) => spec(o.kind).target !== 'failover';
      if (counted(s))
        t.true(
          steps.filter((o) => counted(o) && o.at <= s.at && s.at < end(o)).length <= 2,
          `#${s.n}: at most 2 faults at once`,
        );
      if (spec(s.kind).target === 'redis')
        t.false(
          others.some((o) => spec(o.kind).target === 'redis'),
          `#${s.n}: one Redis fault at a time`,
        );
      if (spec(s.kind).target === 'gateway')
        t.false(
          others.some((o) => spec(o.kind).target === 'gateway'),
          `#${s.n}: one gateway fault at a time`,
        );
      for (const via of s.via)
        t.false(
          others.some((o) => o.target === `gw-${via}`),
          `#${s.n}: operators use an instance not being faulted`,
        );
      if (s.target.includes('/')) {
        const pool = node(s).split('/')[0]!;
        const out = new Set([node(s), ...others.filter((o) => node(o).startsWith(`${pool}/`)).map(node)]);
        t.true(out.size < topology.pools[pool]!.length, `#${s.n}: ${pool} keeps a node`);
      }
      if (s.kind === 'gateway-partition') t.regex(s.target, /^gw-\d→hs\/hs-[abc]$/);
      if (s.kind === 'gateway-clock-skew') t.true(Math.abs(s.offsetMs!) >= 20_000 && Math.abs(s.offsetMs!) <= 60_000);
      if (s.kind === 'redis-client-pause') t.is(new Set(s.via).size, 2, 'two operators on two instances');
    }
  });
}

test('allowPoolOutage lets every node of a pool be out at once', (t) => {
  const outages = [1, 2, 3, 4, 5, 6].flatMap((seed) => {
    const steps = plan({
      seed,
      faults: ['upstream-kill', 'upstream-hang', 'operator-drain'],
      allowPoolOutage: true,
      maxConcurrent: 4,
    });
    return steps.filter((s) => {
      const pool = s.target.split('/')[0]!;
      const out = new Set(
        steps.filter((o) => o.target.startsWith(`${pool}/`) && o.at <= s.at && s.at < end(o)).map((o) => o.target),
      );
      return out.size === topology.pools[pool]!.length;
    });
  });
  t.true(outages.length > 0);
});

test('fault sets by name', (t) => {
  t.deepEqual(parseFaults('all'), ALL_FAULTS);
  t.deepEqual(parseFaults('passing'), PASSING_FAULTS);
  t.deepEqual(parseFaults('redis-kill, gateway-kill'), ['redis-kill', 'gateway-kill']);
  t.throws(() => parseFaults('redis-kill,unplug-everything'), { message: /unknown fault unplug-everything/ });
  t.true(PASSING_FAULTS.every((kind) => !('pending' in FAULTS[kind])));
  t.true(PASSING_FAULTS.length > 0 && PASSING_FAULTS.every((kind) => ALL_FAULTS.includes(kind)));
});
