import test from 'ava';
import type { Health } from '../../src/policy/types.ts';
import { withSuspicions } from '../../src/state/redis-notices.ts';
import type { StoreChange } from '../../src/state/types.ts';

const health = (previous: Health, verdict: Health, downVotes: string[]): StoreChange => ({
  type: 'health',
  pool: 'api',
  node: 'n1',
  previous,
  health: { verdict, since: 1, reason: 'test', downVotes },
});

// Whether a change arrives in a notice or in a snapshot read (which can win the race against
// the notice, and then the notice changes nothing), a node turned down by others is probed here.
const cases: Array<[string, StoreChange, string | undefined]> = [
  ['turned down on another instance’s vote: suspected here', health('up', 'down', ['i1']), 'i1'],
  ['turned down from unknown: suspected here', health('unknown', 'down', ['i1', 'i2']), 'i1'],
  [
    'turned down with this instance among the voters: it already knows',
    health('up', 'down', ['i1', 'self']),
    undefined,
  ],
  ['was down already (only the voters changed): no new suspicion', health('down', 'down', ['i1', 'i2']), undefined],
  ['turned up: nothing to suspect', health('down', 'up', []), undefined],
];

for (const [title, change, suspectedBy] of cases) {
  test(title, (t) => {
    const announced = withSuspicions([change], 'self');
    t.is(announced[0], change, 'the change itself is announced first');
    const suspicion = announced.find((each) => each.type === 'suspect');
    t.deepEqual(
      suspicion,
      suspectedBy === undefined ? undefined : { type: 'suspect', pool: 'api', node: 'n1', by: suspectedBy },
    );
  });
}

test('nothing applied, nothing announced', (t) => {
  t.deepEqual(withSuspicions([undefined, undefined], 'self'), []);
});
