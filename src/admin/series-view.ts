import { LATENCY_BUCKETS, latencyQuantile } from './latency-buckets.ts';
import { COUNTERS, type CounterName, type RawSeries, type RawWindow } from './series-window.ts';

/** What `GET /series` serves for one pool or node: one value per second, oldest first. */
export type SeriesPoints = { [K in CounterName]: number[] } & {
  /** 5xx answers as a share of requests, in %; null in a second without requests. */
  responses5xxPct: Array<number | null>;
  /** Failed attempts (refused, reset, timed out, 5xx) as a share of attempts, in %. */
  failedAttemptsPct: Array<number | null>;
  /** Latency quantiles in ms, from the second's histogram; null without requests. */
  p50Ms: Array<number | null>;
  p99Ms: Array<number | null>;
};

export interface SeriesDocument {
  instance: string;
  /** Epoch ms of the first point; point i covers [from + i·step, from + (i+1)·step). */
  from: number;
  step: number;
  points: number;
  pools: Record<string, { pool: SeriesPoints; nodes: Record<string, SeriesPoints> }>;
}

/** Rates, shares and quantiles from a (possibly merged) raw window. Pure. */
export function describeWindow(raw: RawWindow, instance: string): SeriesDocument {
  const pools: SeriesDocument['pools'] = {};
  for (const [name, series] of Object.entries(raw.pools)) {
    const nodes: Record<string, SeriesPoints> = {};
    for (const [id, node] of Object.entries(series.nodes)) nodes[id] = describeSeries(node);
    pools[name] = { pool: describeSeries(series.pool), nodes };
  }
  return { instance, from: raw.from * 1000, step: 1000, points: raw.points, pools };
}

function describeSeries(raw: RawSeries): SeriesPoints {
  const points = {} as SeriesPoints;
  for (const name of COUNTERS) points[name] = raw[name];
  points.responses5xxPct = raw.responses5xx.map((n, i) => share(n, raw.requests[i]!));
  points.failedAttemptsPct = raw.failedAttempts.map((n, i) => share(n, raw.attempts[i]!));
  const dense = new Float64Array(LATENCY_BUCKETS);
  points.p50Ms = [];
  points.p99Ms = [];
  for (const pairs of raw.latency) {
    dense.fill(0);
    for (let i = 0; i < pairs.length; i += 2) dense[pairs[i]!] = pairs[i + 1]!;
    points.p50Ms.push(round(latencyQuantile(dense, 0, 0.5)));
    points.p99Ms.push(round(latencyQuantile(dense, 0, 0.99)));
  }
  return points;
}

const share = (part: number, whole: number) => (whole === 0 ? null : round((part / whole) * 100));
const round = (value: number | null) => (value === null ? null : Math.round(value * 100) / 100);
