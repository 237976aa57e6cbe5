import { LATENCY_BUCKETS } from './latency-buckets.ts';

/**
 * The raw form of the traffic series over a window: per-second counters and latency
 * histograms, nothing derived. Rates, percentages and quantiles cannot be added up across
 * gateway worker processes, but these can: several workers' windows merge into one
 * (`mergeWindows`) by adding counters and histograms, and only the merged window is turned
 * into what the admin API serves (series-view.ts).
 */

/** Per-second counters, in the order the ring stores them. */
export const COUNTERS = ['requests', 'responses5xx', 'attempts', 'failedAttempts', 'retries', 'inflight'] as const;
export type CounterName = (typeof COUNTERS)[number];

/** One pool's or one node's points: one number per second per counter. */
export type RawSeries = { readonly [K in CounterName]: number[] } & {
  /** Per second: the latency histogram as `[bucket, count, bucket, count, …]`, empty buckets left out. */
  readonly latency: number[][];
};

export interface RawPoolSeries {
  readonly pool: RawSeries;
  readonly nodes: Record<string, RawSeries>;
}

export interface RawWindow {
  /** Epoch second of the first point; point i covers second `from + i`. */
  readonly from: number;
  readonly points: number;
  /** Bucket count of the histograms (they merge only with the same layout). */
  readonly latencyBuckets: number;
  readonly pools: Record<string, RawPoolSeries>;
}

export function emptySeries(points: number): RawSeries {
  const series = { latency: Array.from({ length: points }, () => [] as number[]) } as Record<
    string,
    number[] | number[][]
  >;
  for (const name of COUNTERS) series[name] = new Array<number>(points).fill(0);
  return series as unknown as RawSeries;
}

/**
 * Adds windows together (pure): the result spans all of them, counters are summed point by
 * point (in-flight too: each worker has its own requests in flight) and histograms bucket by
 * bucket. Pools and nodes present in only some windows are kept.
 */
export function mergeWindows(windows: readonly RawWindow[]): RawWindow {
  for (const window of windows) {
    if (window.latencyBuckets !== LATENCY_BUCKETS)
      throw new Error(`cannot merge histograms of ${window.latencyBuckets} buckets with ${LATENCY_BUCKETS}`);
  }
  if (windows.length === 0) return { from: 0, points: 0, latencyBuckets: LATENCY_BUCKETS, pools: {} };
  const from = Math.min(...windows.map((w) => w.from));
  const points = Math.max(...windows.map((w) => w.from + w.points)) - from;
  const pools: Record<string, { pool: RawSeries; nodes: Record<string, RawSeries> }> = {};
  for (const window of windows) {
    const shift = window.from - from;
    for (const [name, source] of Object.entries(window.pools)) {
      const target = (pools[name] ??= { pool: emptySeries(points), nodes: {} });
      addInto(target.pool, source.pool, shift);
      for (const [node, series] of Object.entries(source.nodes))
        addInto((target.nodes[node] ??= emptySeries(points)), series, shift);
    }
  }
  return { from, points, latencyBuckets: LATENCY_BUCKETS, pools };
}

function addInto(target: RawSeries, source: RawSeries, shift: number): void {
  for (const name of COUNTERS) {
    const into = target[name];
    source[name].forEach((value, i) => {
      into[i + shift]! += value;
    });
  }
  source.latency.forEach((pairs, i) => {
    if (pairs.length > 0) target.latency[i + shift] = addHistograms(target.latency[i + shift]!, pairs);
  });
}

/** Sum of two sparse histograms (`[bucket, count, …]`), buckets in ascending order. */
export function addHistograms(a: readonly number[], b: readonly number[]): number[] {
  const counts = new Map<number, number>();
  for (const pairs of [a, b])
    for (let i = 0; i < pairs.length; i += 2) counts.set(pairs[i]!, (counts.get(pairs[i]!) ?? 0) + pairs[i + 1]!);
  return [...counts.entries()].sort(([x], [y]) => x - y).flat();
}
