import { LATENCY_BUCKETS, latencyBucket } from './latency-buckets.ts';
import { COUNTERS, emptySeries, type RawSeries } from './series-window.ts';

/** 15 minutes at one point per second. */
export const SERIES_SECONDS = 900;
/** One more slot for the second still filling. */
const SLOTS = SERIES_SECONDS + 1;

const REQUESTS = COUNTERS.indexOf('requests');
const RESPONSES_5XX = COUNTERS.indexOf('responses5xx');
const ATTEMPTS = COUNTERS.indexOf('attempts');
const FAILED_ATTEMPTS = COUNTERS.indexOf('failedAttempts');
const RETRIES = COUNTERS.indexOf('retries');
const INFLIGHT = COUNTERS.indexOf('inflight');
/** Numbers per slot: the counters, then the latency histogram. */
const STRIDE = COUNTERS.length + LATENCY_BUCKETS;

/**
 * The last 15 minutes of one pool or node, one slot per second, in two typed arrays allocated
 * once (about 170 KB). A slot is tagged with the second it holds and cleared when a later
 * second reuses it, so nothing runs when there is no traffic and nothing grows with it.
 * Recording a request or an attempt is a few integer increments.
 */
export class SeriesRing {
  readonly #data = new Uint32Array(SLOTS * STRIDE);
  /** The epoch second each slot holds (-1: never used). */
  readonly #seconds = new Float64Array(SLOTS).fill(-1);
  /** The latest second written (for pruning rings nobody feeds any more). */
  #latest = -1;

  get latestSecond(): number {
    return this.#latest;
  }

  /** A finished request (for a node: an attempt it answered): 5xx or not, and its duration. */
  request(second: number, status5xx: boolean, ms: number): void {
    const at = this.#slot(second);
    if (at < 0) return;
    const data = this.#data;
    data[at + REQUESTS]! += 1;
    if (status5xx) data[at + RESPONSES_5XX]! += 1;
    data[at + COUNTERS.length + latencyBucket(ms)]! += 1;
  }

  /** A finished forwarding attempt (the pool's, or the node's it went to). */
  attempt(second: number, failed: boolean, retry: boolean): void {
    const at = this.#slot(second);
    if (at < 0) return;
    const data = this.#data;
    data[at + ATTEMPTS]! += 1;
    if (failed) data[at + FAILED_ATTEMPTS]! += 1;
    if (retry) data[at + RETRIES]! += 1;
  }

  /** Requests in flight, sampled once a second. */
  inflight(second: number, value: number): void {
    const at = this.#slot(second);
    if (at >= 0) this.#data[at + INFLIGHT] = value;
  }

  /** `points` seconds from `from` (epoch seconds), seconds not held reading as zero. */
  read(from: number, points: number): RawSeries {
    const series = emptySeries(points);
    for (let i = 0; i < points; i++) {
      const second = from + i;
      const slot = second % SLOTS;
      if (second < 0 || this.#seconds[slot] !== second) continue;
      const at = slot * STRIDE;
      COUNTERS.forEach((name, c) => {
        series[name][i] = this.#data[at + c]!;
      });
      const pairs = series.latency[i]!;
      for (let b = 0; b < LATENCY_BUCKETS; b++) {
        const count = this.#data[at + COUNTERS.length + b]!;
        if (count > 0) pairs.push(b, count);
      }
    }
    return series;
  }

  /** Offset of the slot for `second`, cleared if it held an older second; -1 if too old to keep. */
  #slot(second: number): number {
    if (second <= this.#latest - SLOTS) return -1;
    const slot = second % SLOTS;
    const at = slot * STRIDE;
    if (this.#seconds[slot] !== second) {
      this.#data.fill(0, at, at + STRIDE);
      this.#seconds[slot] = second;
    }
    if (second > this.#latest) this.#latest = second;
    return at;
  }
}
