import test from 'ava';
import { ranksAbove, sameActive } from '../../src/state/active-order.ts';
import type { ActiveState } from '../../src/state/types.ts';

// The one order of active states every instance and the store apply: the higher epoch wins,
// then the higher proposal id; nothing ranks above itself (so a repeated notice changes nothing).

const state = (epoch: number, id: string): ActiveState => ({
  active: 'n1',
  epoch,
  since: 0,
  reason: '',
  by: 'a',
  id,
  from: null,
  flips: 0,
  pinned: false,
});

const ranks: Array<[name: string, a: ActiveState, b: ActiveState | undefined, above: boolean]> = [
  ['any state ranks above none', state(0, 'a'), undefined, true],
  ['a higher epoch ranks above, whatever the ids', state(3, 'a'), state(2, 'z'), true],
  ['a lower epoch never ranks above, whatever the ids', state(2, 'z'), state(3, 'a'), false],
  ['an equal epoch: the higher proposal id ranks above', state(2, 'n'), state(2, 'm'), true],
  ['an equal epoch: a lower proposal id does not', state(2, 'm'), state(2, 'n'), false],
  ['an equal epoch and id (the same state) does not rank above itself', state(2, 'm'), state(2, 'm'), false],
];

for (const [name, a, b, above] of ranks) {
  test(`ranksAbove: ${name}`, (t) => {
    t.is(ranksAbove(a, b), above);
  });
}

const same: Array<[name: string, a: ActiveState | undefined, b: ActiveState | undefined, equal: boolean]> = [
  [
    'same epoch and proposal: the same state (other fields aside)',
    state(2, 'm'),
    { ...state(2, 'm'), active: 'n2' },
    true,
  ],
  ['same epoch, another proposal: not the same', state(2, 'm'), state(2, 'n'), false],
  ['same proposal id, another epoch: not the same', state(2, 'm'), state(3, 'm'), false],
  ['none against a state: not the same', undefined, state(2, 'm'), false],
  ['a state against none: not the same', state(2, 'm'), undefined, false],
  ['none against none: not the same (there is no state to be)', undefined, undefined, false],
];

for (const [name, a, b, equal] of same) {
  test(`sameActive: ${name}`, (t) => {
    t.is(sameActive(a, b), equal);
  });
}
