import type { RequestRecord } from '../pipeline/record-request.ts';
import type { AttemptOutcome } from '../policy/types.ts';
import type { PoolSet } from '../pool/pool-set.ts';
import type { Clock } from '../util/clock.ts';
import { LATENCY_BUCKETS } from './latency-buckets.ts';
import { SERIES_SECONDS, SeriesRing } from './series-ring.ts';
import type { RawPoolSeries, RawSeries, RawWindow } from './series-window.ts';

interface PoolRings {
  readonly pool: SeriesRing;
  readonly nodes: Map<string, SeriesRing>;
}

/**
 * The live graphs' data: per pool and per node, the last 15 minutes at one point per second,
 * in fixed-size rings. The request path feeds it through the metrics hooks (a map lookup and a
 * few increments, no allocation); a one-second timer samples requests in flight and forgets
 * pools and nodes that were removed more than 15 minutes ago.
 *
 * A pool counts the requests routed to it (answers, 5xx answers, duration to the end of the
 * response) and all their attempts (failed ones, retries). A node counts the attempts sent to
 * it: as `requests` (with 5xx statuses and time to response headers or failure) and as attempts.
 */
export class TrafficSeries {
  readonly #rings = new Map<string, PoolRings>();
  readonly #pools: () => PoolSet;
  readonly #clock: Clock;
  #cancelSample: (() => void) | undefined;
  /**
   * The current second, moved on by the timer at each second's start, so that recording reads
   * no clock (which would cost more than the recording). A busy event loop delays the timer:
   * requests that end in those few milliseconds count in the second before.
   */
  #current: number;

  constructor(pools: () => PoolSet, clock: Clock) {
    this.#pools = pools;
    this.#clock = clock;
    this.#current = this.#second();
    this.#scheduleSample();
  }

  onRequest(record: RequestRecord): void {
    if (record.pool === undefined) return;
    this.#poolRings(record.pool).pool.request(this.#current, record.status >= 500, record.durationMs);
  }

  onAttempt(pool: string, node: string, outcome: AttemptOutcome, retry: boolean): void {
    // The breaker refused it: nothing was sent to the node.
    if (outcome.kind === 'breaker-open') return;
    const second = this.#current;
    const rings = this.#poolRings(pool);
    rings.pool.attempt(second, outcome.failed, retry);
    const ring = nodeRing(rings, node);
    ring.attempt(second, outcome.failed, retry);
    ring.request(second, (outcome.status ?? 0) >= 500, outcome.latencyMs);
  }

  /**
   * The last `seconds` complete seconds (the current one is still filling), of one pool or of
   * all. Nodes come in the pool's order, then nodes removed recently that still have data.
   */
  window(seconds: number, pool?: string): RawWindow {
    const points = Math.max(0, Math.min(SERIES_SECONDS, Math.floor(seconds)));
    const from = this.#second() - points;
    const pools: Record<string, RawPoolSeries> = {};
    // Every configured pool and node is in the answer, with or without traffic yet.
    for (const live of this.#pools().all())
      for (const node of live.nodes) nodeRing(this.#poolRings(live.name), node.id);
    const names = pool === undefined ? this.#rings.keys() : [pool];
    for (const name of names) {
      const rings = this.#rings.get(name);
      if (!rings) continue;
      const nodes: Record<string, RawSeries> = {};
      const order =
        this.#pools()
          .get(name)
          ?.nodes.map((node) => node.id) ?? [];
      for (const id of new Set([...order, ...rings.nodes.keys()])) nodes[id] = rings.nodes.get(id)!.read(from, points);
      pools[name] = { pool: rings.pool.read(from, points), nodes };
    }
    return { from, points, latencyBuckets: LATENCY_BUCKETS, pools };
  }

  /** Whether there is (or was, within 15 minutes) such a pool. */
  has(pool: string): boolean {
    return this.#rings.has(pool) || this.#pools().get(pool) !== undefined;
  }

  stop(): void {
    this.#cancelSample?.();
    this.#cancelSample = undefined;
  }

  #second(): number {
    return Math.floor(this.#clock.now() / 1000);
  }

  #poolRings(name: string): PoolRings {
    let rings = this.#rings.get(name);
    if (!rings) {
      rings = { pool: new SeriesRing(), nodes: new Map() };
      this.#rings.set(name, rings);
    }
    return rings;
  }

  /** At the start of every second: the current second, in-flight counts, and pruning. */
  #scheduleSample(): void {
    const now = this.#clock.now();
    this.#cancelSample = this.#clock.schedule(1000 - (now % 1000), () => {
      this.#current = this.#second();
      this.#sample();
      this.#scheduleSample();
    });
  }

  #sample(): void {
    const second = this.#current;
    const live = new Set<string>();
    for (const pool of this.#pools().all()) {
      const rings = this.#poolRings(pool.name);
      live.add(pool.name);
      let total = 0;
      for (const node of pool.nodes) {
        nodeRing(rings, node.id).inflight(second, node.inflight);
        live.add(`${pool.name}\u0000${node.id}`);
        total += node.inflight;
      }
      rings.pool.inflight(second, total);
    }
    // What was removed keeps its history for the window's length, then goes.
    const expired = (ring: SeriesRing) => ring.latestSecond <= second - SERIES_SECONDS;
    for (const [name, rings] of this.#rings) {
      for (const [id, ring] of rings.nodes)
        if (!live.has(`${name}\u0000${id}`) && expired(ring)) rings.nodes.delete(id);
      if (!live.has(name) && expired(rings.pool) && rings.nodes.size === 0) this.#rings.delete(name);
    }
  }
}

function nodeRing(rings: PoolRings, node: string): SeriesRing {
  let ring = rings.nodes.get(node);
  if (!ring) {
    ring = new SeriesRing();
    rings.nodes.set(node, ring);
  }
  return ring;
}
