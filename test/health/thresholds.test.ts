import test from 'ava';
import {
  initialHealth,
  nextHealth,
  type HealthInput,
  type HealthRules,
  type HealthState,
} from '../../src/health/thresholds.ts';

const passive = { failures: 3, statuses: [502, 503, 504], ejectTimeMs: 1000, maxEjectTimeMs: 5000 };
const withHeartbeats: HealthRules = { heartbeats: true, rise: 2, fall: 3, passive };
const withoutHeartbeats: HealthRules = { heartbeats: false, rise: 2, fall: 3, passive };

const probe = (ok: boolean): HealthInput => ({ type: 'probe', ok, detail: ok ? 'status 200' : 'timeout' });
const request = (ok: boolean, certain = false): HealthInput => ({
  type: 'passive',
  ok,
  certain,
  detail: ok ? '200' : 'reset',
});
const tick: HealthInput = { type: 'tick' };

/** Feeds inputs at the given times; returns the verdict after each one. */
function run(
  rules: HealthRules,
  steps: Array<[at: number, input: HealthInput]>,
  start?: HealthState,
): { verdicts: string[]; state: HealthState } {
  let state = start ?? initialHealth(0);
  const verdicts: string[] = [];
  for (const [at, input] of steps) {
    state = nextHealth(state, input, rules, at).state;
    verdicts.push(state.verdict);
  }
  return { verdicts, state };
}

const table: Array<{ name: string; rules: HealthRules; steps: Array<[number, HealthInput]>; verdicts: string[] }> = [
  {
    name: 'unknown becomes up at the first passing heartbeat',
    rules: withHeartbeats,
    steps: [[0, probe(true)]],
    verdicts: ['up'],
  },
  {
    name: 'fall: down only after 3 failing heartbeats in a row',
    rules: withHeartbeats,
    steps: [
      [0, probe(true)],
      [1, probe(false)],
      [2, probe(false)],
      [3, probe(true)],
      [4, probe(false)],
      [5, probe(false)],
      [6, probe(false)],
    ],
    verdicts: ['up', 'up', 'up', 'up', 'up', 'up', 'down'],
  },
  {
    name: 'rise: up again only after 2 passing heartbeats in a row',
    rules: withHeartbeats,
    steps: [
      [0, probe(false)],
      [1, probe(false)],
      [2, probe(false)],
      [3, probe(true)],
      [4, probe(false)],
      [5, probe(true)],
      [6, probe(true)],
    ],
    verdicts: ['unknown', 'unknown', 'down', 'down', 'down', 'down', 'up'],
  },
  {
    name: 'passive: ejected after 3 failed requests in a row; a success resets the count',
    rules: withHeartbeats,
    steps: [
      [0, probe(true)],
      [1, request(false)],
      [2, request(false)],
      [3, request(true)],
      [4, request(false)],
      [5, request(false)],
      [6, request(false)],
    ],
    verdicts: ['up', 'up', 'up', 'up', 'up', 'up', 'down'],
  },
  {
    name: 'a refused connection ejects at once',
    rules: withHeartbeats,
    steps: [
      [0, probe(true)],
      [1, request(false, true)],
    ],
    verdicts: ['up', 'down'],
  },
  {
    name: 'rise passing heartbeats end an ejection early (Envoy: successful_active_health_check_uneject_host)',
    rules: withHeartbeats,
    steps: [
      [0, probe(true)],
      [10, request(false, true)],
      [200, probe(true)],
      [400, probe(true)],
      [1010, tick],
    ],
    verdicts: ['up', 'down', 'down', 'up', 'up'],
  },
  {
    name: 'during an ejection a failing heartbeat starts the count of passes again',
    rules: withHeartbeats,
    steps: [
      [0, probe(true)],
      [10, request(false, true)],
      [100, probe(true)],
      [200, probe(false)],
      [300, probe(true)],
      [400, probe(true)],
    ],
    verdicts: ['up', 'down', 'down', 'down', 'down', 'up'],
  },
  {
    name: 'an ejection with too few passing heartbeats ends with its time, once they reach rise',
    rules: withHeartbeats,
    steps: [
      [0, probe(true)],
      [10, request(false, true)],
      [900, probe(true)],
      [1010, tick],
      [1100, probe(true)],
    ],
    verdicts: ['up', 'down', 'down', 'down', 'up'],
  },
  {
    name: 'without heartbeats: after the ejection one trial request decides',
    rules: withoutHeartbeats,
    steps: [
      [0, request(true)],
      [1, request(false, true)],
      [1001, tick],
      [1002, request(true)],
    ],
    verdicts: ['up', 'down', 'unknown', 'up'],
  },
  {
    name: 'without heartbeats: a failed trial ejects again',
    rules: withoutHeartbeats,
    steps: [
      [0, request(false, true)],
      [1000, tick],
      [1001, request(false)],
    ],
    verdicts: ['down', 'unknown', 'down'],
  },
  {
    name: 'passive off: failed requests change nothing',
    rules: { ...withHeartbeats, passive: false },
    steps: [
      [0, probe(true)],
      [1, request(false, true)],
      [2, request(false)],
      [3, request(false)],
      [4, request(false)],
    ],
    verdicts: ['up', 'up', 'up', 'up', 'up'],
  },
];

for (const { name, rules, steps, verdicts } of table) {
  test(name, (t) => {
    t.deepEqual(run(rules, steps).verdicts, verdicts);
  });
}

test('repeated ejections last longer: base × count, capped at the maximum', (t) => {
  let state = nextHealth(initialHealth(0), probe(true), withHeartbeats, 0).state;
  const lengths: number[] = [];
  let now = 0;
  for (let i = 0; i < 7; i++) {
    now += 10;
    state = nextHealth(state, request(false, true), withHeartbeats, now).state;
    lengths.push(state.ejectedUntil - now);
    now = state.ejectedUntil;
    state = nextHealth(state, tick, withHeartbeats, now).state;
    state = nextHealth(state, probe(true), withHeartbeats, now).state;
    state = nextHealth(state, probe(true), withHeartbeats, now).state;
    t.is(state.verdict, 'up');
  }
  t.deepEqual(lengths, [1000, 2000, 3000, 4000, 5000, 5000, 5000]);
});

test('a long healthy spell forgives earlier ejections', (t) => {
  let state = nextHealth(initialHealth(0), probe(true), withHeartbeats, 0).state;
  state = nextHealth(state, request(false, true), withHeartbeats, 1).state;
  state = nextHealth(state, tick, withHeartbeats, 1001).state;
  state = nextHealth(state, request(false, true), withHeartbeats, 2000).state;
  t.is(state.ejectedUntil - 2000, 2000, 'second ejection in a row: twice as long');
  state = nextHealth(state, tick, withHeartbeats, 4000).state;
  state = nextHealth(state, request(false, true), withHeartbeats, 4000 + 6000).state;
  t.is(state.ejectedUntil - 10_000, 1000, 'after more than maxEjectTime of health: back to the base time');
});

test('ended early by heartbeats, an ejection still counts: the next one lasts longer and needs rise passes more', (t) => {
  let state = nextHealth(initialHealth(0), probe(true), withHeartbeats, 0).state;
  state = nextHealth(state, request(false, true), withHeartbeats, 10).state;
  state = nextHealth(state, probe(true), withHeartbeats, 100).state;
  const back = nextHealth(state, probe(true), withHeartbeats, 200);
  t.like(back.state, { verdict: 'up', ejectedUntil: 0, lastEjectionEnd: 200 });
  t.regex(back.transition!.reason, /2 heartbeats passed during the ejection/);
  state = nextHealth(back.state, request(false, true), withHeartbeats, 300).state;
  t.is(state.ejectedUntil - 300, 2000, 'the second ejection in a row: twice as long');
  const verdicts: string[] = [];
  for (let i = 1; i <= 4; i++) {
    state = nextHealth(state, probe(true), withHeartbeats, 300 + 100 * i).state;
    verdicts.push(state.verdict);
  }
  t.deepEqual(verdicts, ['down', 'down', 'down', 'up'], 'and 2 × rise passes in a row to end early');
});

test('transitions carry the reason', (t) => {
  const step = nextHealth(
    nextHealth(initialHealth(0), probe(true), withHeartbeats, 0).state,
    request(false, true),
    withHeartbeats,
    5,
  );
  t.like(step.transition, { from: 'up', to: 'down' });
  t.regex(step.transition!.reason, /ejected for 1000ms: reset/);
});

// The timeline and the events say "ejected" from this flag, never from the reason's text.
const downBy: Array<[how: string, inputs: HealthInput[], ejected: boolean]> = [
  ['a refused connection (certain)', [probe(true), request(false, true)], true],
  ['failed requests in a row', [probe(true), request(false), request(false), request(false)], true],
  ['failed heartbeats in a row', [probe(true), probe(false), probe(false), probe(false)], false],
];
for (const [how, inputs, ejected] of downBy) {
  test(`down by ${how}: the transition says ejected ${ejected}`, (t) => {
    let state = initialHealth(0);
    let transition: ReturnType<typeof nextHealth>['transition'];
    inputs.forEach((input, i) => {
      const step = nextHealth(state, input, withHeartbeats, i * 10);
      state = step.state;
      transition = step.transition ?? transition;
    });
    t.like(transition, { from: 'up', to: 'down', ejected });
  });
}

test('a success that changes nothing keeps the same state object (no allocation on the hot path)', (t) => {
  const state = nextHealth(initialHealth(0), probe(true), withHeartbeats, 0).state;
  t.is(nextHealth(state, request(true), withHeartbeats, 1).state, state);
});

/** Feeds inputs at the given times; returns every transition (with when it happened) and the last state. */
function transitions(
  rules: HealthRules,
  steps: Array<[at: number, input: HealthInput]>,
): { seen: string[]; state: HealthState } {
  let state = initialHealth(0);
  const seen: string[] = [];
  for (const [at, input] of steps) {
    const step = nextHealth(state, input, rules, at);
    if (step.transition) seen.push(`${at}: ${step.transition.from} → ${step.transition.to}: ${step.transition.reason}`);
    state = step.state;
  }
  return { seen, state };
}

const guarantees: Array<{
  name: string;
  rules: HealthRules;
  steps: Array<[number, HealthInput]>;
  seen: string[];
  state?: Partial<HealthState>;
}> = [
  {
    name: 'with heartbeats, an ejected node whose heartbeats still fail stays down when the ejection ends',
    rules: withHeartbeats,
    steps: [
      [0, probe(true)],
      [10, request(false, true)],
      [500, probe(false)],
      [1010, tick],
      [1100, probe(true)],
    ],
    seen: ['0: unknown → up: heartbeat passed (status 200)', '10: up → down: ejected for 1000ms: reset'],
    state: { verdict: 'down', ejectedUntil: 0, lastEjectionEnd: 1010, probePasses: 1 },
  },
  {
    name: 'with heartbeats, an ejection with a single passing heartbeat (rise 2) stays down when it ends',
    rules: withHeartbeats,
    steps: [
      [0, probe(true)],
      [10, request(false, true)],
      [900, probe(true)],
      [1010, tick],
    ],
    seen: ['0: unknown → up: heartbeat passed (status 200)', '10: up → down: ejected for 1000ms: reset'],
    state: { verdict: 'down', ejectedUntil: 0, lastEjectionEnd: 1010 },
  },
  {
    name: 'failures of requests still in flight during an ejection do not lengthen it nor count towards the next',
    rules: withHeartbeats,
    steps: [
      [0, probe(true)],
      [10, request(false, true)],
      [500, request(false, true)],
      [600, request(false)],
      [700, request(false)],
      [800, request(false)],
      [1009, tick],
      [1010, tick],
    ],
    seen: ['0: unknown → up: heartbeat passed (status 200)', '10: up → down: ejected for 1000ms: reset'],
    state: { verdict: 'down', ejectedUntil: 0, ejections: 1, passiveFailures: 0, lastEjectionEnd: 1010 },
  },
  {
    name: 'without heartbeats, a success in the middle of an ejection does not end it',
    rules: withoutHeartbeats,
    steps: [
      [0, request(true)],
      [10, request(false, true)],
      [500, request(true)],
      [1009, request(true)],
      [1010, tick],
      [1011, request(true)],
    ],
    seen: [
      '0: unknown → up: request succeeded',
      '10: up → down: ejected for 1000ms: reset',
      '1010: down → unknown: ejection over, letting one trial request through',
      '1011: unknown → up: trial request succeeded',
    ],
    state: { verdict: 'up', probation: false },
  },
  {
    name: 'with heartbeats, a request success never brings a node up (the heartbeats decide)',
    rules: withHeartbeats,
    steps: [
      [0, request(true)],
      [1, request(true)],
    ],
    seen: [],
    state: { verdict: 'unknown' },
  },
  {
    name: 'no transition when the verdict does not change: a node down by heartbeats then ejected stays down silently',
    rules: withHeartbeats,
    steps: [
      [0, probe(false)],
      [1, probe(false)],
      [2, probe(false)],
      [3, request(false, true)],
      [4, probe(false)],
    ],
    seen: ['2: unknown → down: 3 heartbeats failed (timeout)'],
    state: { verdict: 'down', since: 2, ejectedUntil: 1003 },
  },
  {
    name: 'rise passes end a heartbeat-down verdict and say how many',
    rules: withHeartbeats,
    steps: [
      [0, probe(false)],
      [1, probe(false)],
      [2, probe(false)],
      [3, probe(true)],
      [4, probe(true)],
    ],
    seen: ['2: unknown → down: 3 heartbeats failed (timeout)', '4: down → up: 2 heartbeats passed (status 200)'],
    state: { verdict: 'up', since: 4, probeFailures: 0, probePasses: 2 },
  },
  {
    name: 'a second ejection in a row, rise passes in but not 2 × rise: it ends with its time, and says why',
    rules: withHeartbeats,
    steps: [
      [0, probe(true)],
      [10, request(false, true)],
      [1010, tick],
      [1020, probe(true)],
      [1030, probe(true)],
      [1040, request(false, true)],
      [1100, probe(true)],
      [1200, probe(true)],
      [3039, tick],
      [3040, tick],
    ],
    seen: [
      '0: unknown → up: heartbeat passed (status 200)',
      '10: up → down: ejected for 1000ms: reset',
      '1030: down → up: 2 heartbeats passed (status 200)',
      '1040: up → down: ejected for 2000ms: reset',
      '3040: down → up: ejection over, heartbeats passing',
    ],
    state: { verdict: 'up', ejectedUntil: 0, lastEjectionEnd: 3040, ejections: 2 },
  },
  {
    name: 'three failed requests: the reason counts them; a trial that fails says so',
    rules: withoutHeartbeats,
    steps: [
      [0, request(false)],
      [1, request(false)],
      [2, request(false)],
      [1002, tick],
      [1003, request(false)],
    ],
    seen: [
      '2: unknown → down: ejected for 1000ms: 3 requests failed (reset)',
      '1002: down → unknown: ejection over, letting one trial request through',
      '1003: unknown → down: ejected for 2000ms: trial request failed (reset)',
    ],
    state: { ejections: 2, ejectedUntil: 3003, probation: false },
  },
  {
    name: 'a tick with no ejection, or before the ejection ends, changes nothing',
    rules: withoutHeartbeats,
    steps: [
      [0, tick],
      [1, request(false, true)],
      [1000, tick],
    ],
    seen: ['1: unknown → down: ejected for 1000ms: reset'],
    state: { verdict: 'down', ejectedUntil: 1001, probation: false },
  },
  {
    name: 'a tick on a healthy node changes nothing: no trial, no end of an ejection recorded',
    rules: withoutHeartbeats,
    steps: [
      [0, request(true)],
      [5000, tick],
    ],
    seen: ['0: unknown → up: request succeeded'],
    state: { verdict: 'up', probation: false, lastEjectionEnd: 0 },
  },
  {
    name: 'without heartbeats, a success after the ejection time but before the tick that ends it changes nothing',
    rules: withoutHeartbeats,
    steps: [
      [0, request(true)],
      [1, request(false, true)],
      [1001, request(true)],
      [1001, tick],
      [1002, request(true)],
    ],
    seen: [
      '0: unknown → up: request succeeded',
      '1: up → down: ejected for 1000ms: reset',
      '1001: down → unknown: ejection over, letting one trial request through',
      '1002: unknown → up: trial request succeeded',
    ],
  },
  {
    name: 'without heartbeats, recovery is a trial request: a stray heartbeat result does not end an ejection',
    rules: withoutHeartbeats,
    steps: [
      [0, request(true)],
      [1, request(false, true)],
      [100, probe(true)],
      [200, probe(true)],
      [300, probe(true)],
    ],
    seen: ['0: unknown → up: request succeeded', '1: up → down: ejected for 1000ms: reset'],
    state: { verdict: 'down', ejectedUntil: 1001 },
  },
  {
    name: 'passing heartbeats do not excuse failing requests: the third failure in a row ejects',
    rules: withHeartbeats,
    steps: [
      [0, probe(true)],
      [1, probe(true)],
      [2, request(false)],
      [3, request(false)],
      [4, probe(true)],
      [5, probe(true)],
      [6, request(false)],
    ],
    seen: [
      '0: unknown → up: heartbeat passed (status 200)',
      '6: up → down: ejected for 1000ms: 3 requests failed (reset)',
    ],
  },
  {
    name: 'back up by heartbeats, a node counts failed requests from zero again',
    rules: withHeartbeats,
    steps: [
      [0, probe(false)],
      [1, probe(false)],
      [2, probe(false)],
      [3, request(false)],
      [4, request(false)],
      [5, probe(true)],
      [6, probe(true)],
      [7, request(false)],
    ],
    seen: ['2: unknown → down: 3 heartbeats failed (timeout)', '6: down → up: 2 heartbeats passed (status 200)'],
    state: { verdict: 'up', passiveFailures: 1, ejections: 0 },
  },
  {
    name: 'heartbeats down again while down: no transition, the verdict keeps its time',
    rules: withHeartbeats,
    steps: [
      [0, probe(false)],
      [1, probe(false)],
      [2, probe(false)],
      [3, probe(false)],
      [4, probe(false)],
    ],
    seen: ['2: unknown → down: 3 heartbeats failed (timeout)'],
    state: { verdict: 'down', since: 2, probeFailures: 5 },
  },
];

for (const { name, rules, steps, seen, state } of guarantees) {
  test(name, (t) => {
    const result = transitions(rules, steps);
    t.deepEqual(result.seen, seen);
    if (state) t.like(result.state, state);
  });
}

test('an unchanged verdict keeps its since; a changed one takes the time of the change', (t) => {
  let state = nextHealth(initialHealth(0), probe(true), withHeartbeats, 5).state;
  t.is(state.since, 5);
  const again = nextHealth(state, probe(true), withHeartbeats, 9);
  t.is(again.transition, undefined);
  t.is(again.state.since, 5);
  state = nextHealth(state, request(false, true), withHeartbeats, 20).state;
  t.is(state.since, 20);
});

/** The ejection that follows a healthy spell after [eject at 10, ejection over at `end`]: its length. */
function nextEjectionAfter(end: (state: HealthState) => HealthState, ticks: number[], at: number): number {
  let state = nextHealth(initialHealth(0), probe(true), withHeartbeats, 0).state;
  state = nextHealth(state, request(false, true), withHeartbeats, 10).state;
  state = end(state);
  for (const tickAt of ticks) state = nextHealth(state, tick, withHeartbeats, tickAt).state;
  state = nextHealth(state, request(false, true), withHeartbeats, at).state;
  return state.ejectedUntil - at;
}

const byTick = (state: HealthState) =>
  nextHealth(
    nextHealth(nextHealth(state, tick, withHeartbeats, 1010).state, probe(true), withHeartbeats, 1020).state,
    probe(true),
    withHeartbeats,
    1030,
  ).state;
// The ejection's time passes, then rise heartbeats pass before any tick: it ended at its time, 1010.
const byHeartbeatsAfterItsTime = (state: HealthState) =>
  nextHealth(nextHealth(state, probe(true), withHeartbeats, 1020).state, probe(true), withHeartbeats, 1030).state;

const spells: Array<[name: string, end: (state: HealthState) => HealthState, ticks: number[], at: number, ms: number]> =
  [
    ['a spell of exactly maxEjectTime does not forgive', byTick, [], 6010, 2000],
    ['one ms more does', byTick, [], 6011, 1000],
    ['ticks while healthy do not restart the spell', byTick, [3000, 6000], 6011, 1000],
    ['ended by heartbeats after its time: the spell counts from that time', byHeartbeatsAfterItsTime, [], 6011, 1000],
    ['ended by heartbeats after its time: and not from before it', byHeartbeatsAfterItsTime, [], 6010, 2000],
  ];
for (const [name, end, ticks, at, ms] of spells) {
  test(`forgiveness: ${name}`, (t) => {
    t.is(nextEjectionAfter(end, ticks, at), ms);
  });
}

test('heartbeats ending an ejection after its time leave no ejection behind', (t) => {
  let state = nextHealth(initialHealth(0), probe(true), withHeartbeats, 0).state;
  state = nextHealth(state, request(false, true), withHeartbeats, 10).state;
  const back = byHeartbeatsAfterItsTime(state);
  t.like(back, { verdict: 'up', ejectedUntil: 0, lastEjectionEnd: 1010, passiveFailures: 0 });
});
