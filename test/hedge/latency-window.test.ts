import test from 'ava';
import { LatencyWindow } from '../../src/hedge/latency-window.ts';

const options = { capacity: 100, maxAgeMs: 10_000, refreshMs: 0 };

// [case, samples (ms), q, min samples, quantile]
const cases: Array<[string, number[], number, number, number | undefined]> = [
  ['p95 of 1..100 is 95', Array.from({ length: 100 }, (_, i) => i + 1), 0.95, 20, 95],
  ['p50 of 1..100 is 50', Array.from({ length: 100 }, (_, i) => i + 1), 0.5, 20, 50],
  ['order does not matter', [5, 1, 4, 2, 3], 1, 1, 5],
  ['too few samples: undefined', [1, 2, 3], 0.95, 20, undefined],
  [
    'one outlier in twenty is the p95 (nearest rank): 19 × 10 ms, one 500 ms',
    [...Array(19).fill(10), 500],
    0.95,
    20,
    10,
  ],
  ['only the newest `capacity` samples count', [...Array(100).fill(1000), ...Array(100).fill(10)], 0.95, 20, 10],
];

for (const [name, samples, q, min, expected] of cases) {
  test(name, (t) => {
    const window = new LatencyWindow(options);
    for (const sample of samples) window.add(sample, 1000);
    t.is(window.quantile(q, 1000, min), expected);
  });
}

test('samples older than maxAgeMs are forgotten', (t) => {
  const window = new LatencyWindow(options);
  for (let i = 0; i < 50; i++) window.add(1000, 0);
  for (let i = 0; i < 50; i++) window.add(10, 9000);
  t.is(window.quantile(0.95, 9000, 20), 1000, 'all in the window');
  t.is(window.quantile(0.95, 10_500, 20), 10, 'the old ones aged out');
});

test('a quantile is reused for refreshMs, then recomputed', (t) => {
  const window = new LatencyWindow({ ...options, refreshMs: 100 });
  for (let i = 0; i < 20; i++) window.add(10, 0);
  t.is(window.quantile(0.95, 0, 20), 10);
  for (let i = 0; i < 100; i++) window.add(50, 50);
  t.is(window.quantile(0.95, 50, 20), 10, 'cached');
  t.is(window.quantile(0.95, 100, 20), 50, 'recomputed');
});
