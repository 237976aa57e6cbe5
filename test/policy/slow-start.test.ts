import test from 'ava';
import { slowStartWeight } from '../../src/policy/slow-start.ts';
import { fakeNode } from '../helpers/fake-pool.ts';

// A node of weight `weight`, up since `upSince`, at `now`, with a slow-start window of `window` ms.
const cases: Array<
  [name: string, weight: number, upSince: number | undefined, now: number, window: number, expected: number]
> = [
  ['just came up: the 10 % floor', 10, 0, 0, 10_000, 1],
  ['5 % of the way: still the floor', 10, 0, 500, 10_000, 1],
  ['a quarter of the way', 10, 0, 2500, 10_000, 2.5],
  ['half-way', 10, 0, 5000, 10_000, 5],
  ['half-way, counted from when it came up', 4, 1000, 3000, 4000, 2],
  ['the window is over: full weight', 10, 0, 10_000, 10_000, 10],
  ['long up', 10, 0, 60_000, 10_000, 10],
  ['health unknown (no upSince): not ramped', 10, undefined, 0, 10_000, 10],
  ['no window: full weight', 10, 0, 0, 0, 10],
  ['no window, even for a node whose upSince is ahead of our clock', 10, 5000, 0, 0, 10],
  ['upSince ahead of our clock (another instance saw it first): the floor', 10, 5000, 0, 10_000, 1],
];

for (const [name, weight, upSince, now, window, expected] of cases) {
  test(`${name}: weight ${weight} counts ${expected}`, (t) => {
    t.is(slowStartWeight(fakeNode('n', { weight, upSince }), now, window), expected);
  });
}
