import test from 'ava';
import { LATENCY_BUCKETS, latencyBounds, latencyBucket, latencyQuantile } from '../../src/admin/latency-buckets.ts';

test('40 buckets, two per doubling from 0.1 ms, the last one open-ended above ~52 s', (t) => {
  t.is(LATENCY_BUCKETS, 40);
  t.is(latencyBounds.length, 39);
  t.is(latencyBounds[0], 0.1);
  t.is(latencyBounds[2], 0.2);
  t.true(Math.abs(latencyBounds[38]! - 52428.8) < 1e-6);
  for (let i = 1; i < latencyBounds.length; i++)
    t.true(Math.abs(latencyBounds[i]! / latencyBounds[i - 1]! - Math.SQRT2) < 1e-9);
});

const cases: Array<[number, number]> = [
  [-1, 0],
  [Number.NaN, 0],
  [0, 0],
  [0.1, 0],
  [0.1000001, 1],
  [0.2, 2], // bounds are inclusive
  [1, 7], // 0.1 · 2^3.5 = 1.13 is bucket 7's bound, 0.8 bucket 6's
  [1.6, 8],
  [1.6000001, 9],
  [100, 20], // 0.1 · 2^10 = 102.4
  [1000, 27],
  [52428.8, 38],
  [52429, 39],
  [3_600_000, 39],
];
for (const [ms, bucket] of cases) {
  test(`${ms} ms goes to bucket ${bucket}`, (t) => {
    t.is(latencyBucket(ms), bucket);
  });
}

test('every bound lands in its own bucket, and just above it in the next', (t) => {
  latencyBounds.forEach((bound, i) => {
    t.is(latencyBucket(bound), i, `bound ${bound}`);
    t.is(latencyBucket(bound * 1.0000001), i + 1, `above ${bound}`);
  });
});

function histogramOf(samples: number[]): Uint32Array {
  const counts = new Uint32Array(LATENCY_BUCKETS);
  for (const ms of samples) counts[latencyBucket(ms)]! += 1;
  return counts;
}

const distributions: Array<[string, number[]]> = [
  ['1 … 100 ms, uniform', Array.from({ length: 1000 }, (_, i) => 1 + (99 * i) / 999)],
  ['mostly 2 ms, 2 % at 800 ms', [...Array.from({ length: 980 }, () => 2), ...Array.from({ length: 20 }, () => 800)]],
  ['0.3 … 30 000 ms, log-uniform', Array.from({ length: 2000 }, (_, i) => 0.3 * 10 ** ((5 * i) / 1999))],
];
for (const [name, samples] of distributions) {
  test(`quantiles of ${name} are within 20 % of the exact ones`, (t) => {
    const counts = histogramOf(samples);
    const sorted = [...samples].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      const estimate = latencyQuantile(counts, 0, q)!;
      t.true(
        Math.abs(estimate - exact) / exact <= 0.2,
        `q${q}: estimate ${estimate.toFixed(3)} vs exact ${exact.toFixed(3)}`,
      );
    }
  });
}

test('an empty histogram has no quantile; a histogram read at an offset', (t) => {
  t.is(latencyQuantile(new Uint32Array(LATENCY_BUCKETS), 0, 0.5), null);
  const counts = new Uint32Array(LATENCY_BUCKETS * 2);
  counts[LATENCY_BUCKETS + latencyBucket(10)] = 5;
  const p50 = latencyQuantile(counts, LATENCY_BUCKETS, 0.5)!;
  t.true(p50 > latencyBounds[latencyBucket(10) - 1]! && p50 <= latencyBounds[latencyBucket(10)]!);
  t.is(latencyQuantile(counts, 0, 0.5), null);
});

test('overflow: the quantile is the last bound, a lower bound of the truth', (t) => {
  const counts = histogramOf([120_000, 120_000]);
  t.is(latencyQuantile(counts, 0, 0.99), latencyBounds[38]!);
});
