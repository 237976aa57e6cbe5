import test from 'ava';
import { DELAY_FLOOR_MS, hedgeDelay } from '../../src/hedge/hedge-delay.ts';

const auto = { after: 'auto' as const, max: 1, budget: 0.05 };
const fixed = (ms: number) => ({ after: ms, max: 1, budget: 0.05 });

// [case, settings, learned p95, response timeout, delay]
const cases: Array<[string, typeof auto | ReturnType<typeof fixed>, number | undefined, number, number | undefined]> = [
  ['auto: the learned p95', auto, 42, 30_000, 42],
  ['auto: nothing learned yet, no hedge', auto, undefined, 30_000, undefined],
  ['auto: a fast pool waits at least the floor', auto, 1.5, 30_000, DELAY_FLOOR_MS],
  ['auto: never beyond half the response timeout', auto, 900, 1000, 500],
  ['set: as written, whatever was learned', fixed(50), 3, 30_000, 50],
  ['set: below the floor is allowed (the operator knows)', fixed(2), undefined, 30_000, 2],
  ['set: at or beyond the response timeout it would be a retry: no hedge', fixed(1000), undefined, 1000, undefined],
];

for (const [name, settings, learned, timeout, expected] of cases) {
  test(name, (t) => t.is(hedgeDelay(settings, learned, timeout), expected));
}
