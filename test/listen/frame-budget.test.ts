import test from 'ava';
import { FrameBudget } from '../../src/listen/frame-budget.ts';

const cases: Array<{ name: string; limit: number; windowMs: number; at: number[]; over: boolean[] }> = [
  {
    name: 'up to the limit in one window is fine; one more is over',
    limit: 3,
    windowMs: 1000,
    at: [0, 10, 20, 30],
    over: [false, false, false, true],
  },
  {
    name: 'a new window starts afresh',
    limit: 2,
    windowMs: 1000,
    at: [0, 1, 1000, 1001],
    over: [false, false, false, false],
  },
  {
    name: 'frames spread over windows never add up',
    limit: 1,
    windowMs: 100,
    at: [0, 100, 200, 300],
    over: [false, false, false, false],
  },
  {
    name: 'a burst after a quiet spell is counted in its own window',
    limit: 2,
    windowMs: 100,
    at: [0, 500, 501, 502],
    over: [false, false, false, true],
  },
];

for (const { name, limit, windowMs, at, over } of cases) {
  test(name, (t) => {
    const budget = new FrameBudget(limit, windowMs);
    t.deepEqual(
      at.map((now) => budget.spend(now)),
      over,
    );
  });
}
