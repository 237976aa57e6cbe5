import test from 'ava';
import {
  isSuspected,
  nextSuspicion,
  unsuspected,
  type SuspicionInput,
  type SuspicionState,
} from '../../src/health/suspicion.ts';

const rules = { losses: 3, maxSuspicionMs: 1000, quietMs: 2000 };
const lost: SuspicionInput = { type: 'lost' };
const answered: SuspicionInput = { type: 'answered' };
const probe = (ok: boolean, startedAt: number): SuspicionInput => ({ type: 'probe', ok, startedAt });

/** Feeds [time, input] steps; returns the actions taken and the final state. */
function run(steps: Array<[number, SuspicionInput]>, from: SuspicionState = unsuspected) {
  let state = from;
  const actions: string[] = [];
  for (const [now, input] of steps) {
    const step = nextSuspicion(state, input, rules, now);
    state = step.state;
    if (step.action) actions.push(`${now}:${step.action}`);
  }
  return { state, actions };
}

// [case, steps, actions, suspected at the end (at the last step's time)]
const cases: Array<[string, Array<[number, SuspicionInput]>, string[], boolean]> = [
  [
    'three hedges lost in a row: suspected, probed at once',
    [
      [10, lost],
      [20, lost],
      [30, lost],
    ],
    ['30:probe'],
    true,
  ],
  [
    'two are not enough',
    [
      [10, lost],
      [20, lost],
    ],
    [],
    false,
  ],
  [
    'an answer in between resets the count (a slow node answers; a hung one does not)',
    [
      [10, lost],
      [20, lost],
      [25, answered],
      [30, lost],
    ],
    [],
    false,
  ],
  [
    'a failed heartbeat sent after the suspicion began confirms the hang: eject',
    [
      [10, lost],
      [20, lost],
      [30, lost],
      [600, probe(false, 40)],
    ],
    ['30:probe', '600:eject'],
    false,
  ],
  [
    'a heartbeat that went out before the suspicion proves nothing',
    [
      [10, lost],
      [20, lost],
      [30, lost],
      [300, probe(false, 5)],
    ],
    ['30:probe'],
    true,
  ],
  [
    'a passing heartbeat clears the node',
    [
      [10, lost],
      [20, lost],
      [30, lost],
      [60, probe(true, 40)],
    ],
    ['30:probe'],
    false,
  ],
  [
    'cleared by a heartbeat: no new suspicion for quietMs',
    [
      [10, lost],
      [20, lost],
      [30, lost],
      [60, probe(true, 40)],
      [70, lost],
      [80, lost],
      [90, lost],
      [100, lost],
    ],
    ['30:probe'],
    false,
  ],
  [
    'after quietMs, suspected again',
    [
      [10, lost],
      [20, lost],
      [30, lost],
      [60, probe(true, 40)],
      [2100, lost],
      [2110, lost],
      [2120, lost],
    ],
    ['30:probe', '2120:probe'],
    true,
  ],
  [
    'an answer while suspected clears the suspicion',
    [
      [10, lost],
      [20, lost],
      [30, lost],
      [50, answered],
    ],
    ['30:probe'],
    false,
  ],
  [
    'more losses while suspected do not probe again',
    [
      [10, lost],
      [20, lost],
      [30, lost],
      [40, lost],
      [50, lost],
    ],
    ['30:probe'],
    true,
  ],
  ['a heartbeat result while not suspected changes nothing', [[10, probe(false, 5)]], [], false],
  [
    // Without heartbeats (health: false) nothing clears a suspicion but its lapse; one more
    // lost hedge must not suspect the node again at once (each suspicion rescues every request
    // waiting on the node, past the hedge budget).
    'after a lapsed suspicion, the count starts again: three fresh losses to suspect anew',
    [
      [10, lost],
      [20, lost],
      [30, lost],
      [1100, lost],
      [1110, lost],
      [1120, lost],
    ],
    ['30:probe', '1120:probe'],
    true,
  ],
  [
    'after a lapsed suspicion, two losses are not enough',
    [
      [10, lost],
      [20, lost],
      [30, lost],
      [1100, lost],
      [1110, lost],
    ],
    ['30:probe'],
    false,
  ],
];

for (const [name, steps, actions, suspected] of cases) {
  test(name, (t) => {
    const result = run(steps);
    t.deepEqual(result.actions, actions);
    t.is(isSuspected(result.state, steps[steps.length - 1]![0]), suspected);
  });
}

test('a suspicion lapses after maxSuspicionMs without a verdict (no heartbeats, a lost probe)', (t) => {
  const { state } = run([
    [10, lost],
    [20, lost],
    [30, lost],
  ]);
  t.true(isSuspected(state, 1029));
  t.false(isSuspected(state, 1030));
});
