/**
 * The latency histogram layout of the traffic series: 40 log-spaced buckets, two per doubling
 * (each bound √2 times the previous), from 0.1 ms to about 52 s, plus one overflow bucket.
 * Fixed and shared, so per-second histograms of any pool, node or worker process merge by
 * adding counts bucket by bucket. A quantile read from it is within about ±19 % (half a
 * bucket, geometrically) of the true value: plenty for a graph, and it costs 160 bytes a second.
 */
export const LATENCY_BUCKETS = 40;

const LOWEST_MS = 0.1;
const OVERFLOW = LATENCY_BUCKETS - 1;

/** Upper bound (inclusive, ms) of buckets 0 … 38; bucket 39 holds everything above the last. */
export const latencyBounds: readonly number[] = Array.from({ length: OVERFLOW }, (_, i) => LOWEST_MS * 2 ** (i / 2));

/**
 * The bucket a duration falls in. It runs for every request and attempt, so no logarithm: the
 * power of two below comes from the integer's leading zeros, then at most two comparisons.
 */
export function latencyBucket(ms: number): number {
  if (!(ms > LOWEST_MS)) return 0; // also NaN and negative values
  if (ms > latencyBounds[OVERFLOW - 1]!) return OVERFLOW;
  // 2^k ≤ ms/0.1 < 2^(k+1): the bucket is 2k, 2k+1 or 2k+2 (bounds 0.1·2^k, ·√2, ·2; inclusive).
  let index = 2 * (31 - Math.clz32(ms / LOWEST_MS));
  while (ms > latencyBounds[index]!) index += 1;
  return index;
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram stored at `counts[offset …]`, or null when it is
 * empty. Interpolates geometrically inside the bucket that holds the rank (log-spaced buckets);
 * in the overflow bucket it returns the last bound, a lower bound of the truth.
 */
export function latencyQuantile(counts: ArrayLike<number>, offset: number, q: number): number | null {
  let total = 0;
  for (let i = 0; i < LATENCY_BUCKETS; i++) total += counts[offset + i]!;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < LATENCY_BUCKETS; i++) {
    const count = counts[offset + i]!;
    if (count === 0 || seen + count < rank) {
      seen += count;
      continue;
    }
    if (i === OVERFLOW) return latencyBounds[OVERFLOW - 1]!;
    const upper = latencyBounds[i]!;
    const fraction = Math.min(1, Math.max(0, (rank - seen) / count));
    if (i === 0) return upper * fraction;
    const lower = latencyBounds[i - 1]!;
    return lower * (upper / lower) ** fraction;
  }
  return latencyBounds[OVERFLOW - 1]!;
}
