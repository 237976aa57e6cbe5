import test from 'ava';
import { afterCrash, type BackoffRules } from '../../src/workers/restart-backoff.ts';

const rules: BackoffRules = { baseMs: 100, maxMs: 1000, stableMs: 30_000 };

const cases: Array<{ name: string; previous: number; ranMs: number; inRow: number; delayMs: number }> = [
  { name: 'a first crash is replaced after the base delay', previous: 0, ranMs: 5_000, inRow: 1, delayMs: 100 },
  { name: 'a second crash in a row waits twice as long', previous: 1, ranMs: 5_000, inRow: 2, delayMs: 200 },
  { name: 'a third, four times', previous: 2, ranMs: 10, inRow: 3, delayMs: 400 },
  { name: 'a crash loop is capped at the maximum', previous: 9, ranMs: 10, inRow: 10, delayMs: 1000 },
  {
    name: 'a worker that ran for the stable time starts the count again',
    previous: 9,
    ranMs: 30_000,
    inRow: 1,
    delayMs: 100,
  },
  {
    name: 'just short of the stable time still counts as in a row',
    previous: 3,
    ranMs: 29_999,
    inRow: 4,
    delayMs: 800,
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    const startedAt = 1_000_000;
    t.deepEqual(afterCrash(c.previous, startedAt, startedAt + c.ranMs, rules), { inRow: c.inRow, delayMs: c.delayMs });
  });
}
