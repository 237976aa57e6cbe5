import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { GatewayEvent } from '../events/types.ts';
import type { HedgeEvent } from '../pipeline/forward.ts';
import type { RequestRecord } from '../pipeline/record-request.ts';
import type { AttemptOutcome } from '../policy/types.ts';
import type { PoolSet } from '../pool/pool-set.ts';
import type { StateStore } from '../state/types.ts';
import { systemClock, type Clock } from '../util/clock.ts';
import { EventHistory } from './event-history.ts';
import { TrafficSeries } from './traffic-series.ts';
import type { CertificateStatus } from '../listen/listener.ts';

/**
 * Prometheus metrics (prom-client), one registry per gateway (two gateways can share a
 * process). Counters and histograms are fed by the request path and the event bus; gauges
 * (health, breakers, in-flight, epochs, store) are read from live state when scraped.
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  onRequest(record: RequestRecord): void;
  onAttempt(pool: string, node: string, outcome: AttemptOutcome, retry: boolean): void;
  /**
   * A hedge sent to a node, won by it, an attempt on it cancelled because another node answered
   * first, or a request waiting on it hedged past the budget because it became suspected or went down.
   */
  onHedge(pool: string, node: string, event: HedgeEvent): void;
  onEvent(event: GatewayEvent, seq: number): void;
  /** The live graphs' per-second series (fed by onRequest and onAttempt). */
  readonly traffic: TrafficSeries;
  /** The failover timeline's events (fed by onEvent). */
  readonly history: EventHistory;
  /** Stops the series' once-a-second sampling. */
  stop(): void;
}

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const states = { health: ['up', 'down', 'unknown'], breaker: ['closed', 'open', 'half-open'] } as const;

export function createMetrics(
  pools: () => PoolSet,
  store: StateStore,
  clock: Clock = systemClock(),
  certificates: () => readonly CertificateStatus[] = () => [],
): GatewayMetrics {
  const registry = new Registry();
  const traffic = new TrafficSeries(pools, clock);
  const history = new EventHistory(clock.now());
  collectDefaultMetrics({ register: registry, prefix: 'baton_' });
  const requests = new Counter({
    name: 'baton_requests_total',
    help: 'Requests answered, by route, pool and status class',
    labelNames: ['route', 'pool', 'status_class'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'baton_request_duration_seconds',
    help: 'Time from request to the end of the response',
    labelNames: ['route', 'pool'],
    buckets: latencyBuckets,
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'baton_upstream_attempts_total',
    help: 'Forwarding attempts, by node and outcome (retry="true" for retries)',
    labelNames: ['pool', 'node', 'outcome', 'retry'],
    registers: [registry],
  });
  const hedges = new Counter({
    name: 'baton_hedges_total',
    help: 'Hedged requests by node: event="sent" (a hedge went to the node), "won" (its answer was used), "cancelled" (an attempt on the node was aborted because another node answered first), "rescued" (a request waiting on the node was hedged past the budget: the node became suspected or went down)',
    labelNames: ['pool', 'node', 'event'],
    registers: [registry],
  });
  const failovers = new Counter({
    name: 'baton_failovers_total',
    help: 'Changes of the active node of active-passive pools',
    labelNames: ['pool'],
    registers: [registry],
  });
  const detection = new Histogram({
    name: 'baton_detection_seconds',
    help: 'Time to detect: from the last healthy sign of a node to it being marked down (local verdict)',
    labelNames: ['pool'],
    buckets: latencyBuckets,
    registers: [registry],
  });
  const transitions = new Counter({
    name: 'baton_health_transitions_total',
    help: 'Health verdict changes, by scope (local or cluster)',
    labelNames: ['pool', 'node', 'scope', 'to'],
    registers: [registry],
  });
  liveGauges(registry, pools, store, clock);
  certificateGauge(registry, certificates);
  // Per-request updates go through cached label children: prom-client otherwise hashes the
  // label object on every call, which costs more than the rest of the bookkeeping together.
  const requestChild = childCache((route: string, pool: string, status: string) =>
    requests.labels({ route, pool, status_class: status }),
  );
  const durationChild = childCache((route: string, pool: string) => duration.labels({ route, pool }));
  const hedgeChild = childCache((pool: string, node: string, event: string) => hedges.labels({ pool, node, event }));
  const attemptChild = childCache((pool: string, node: string, outcome: string, retry: string) =>
    attempts.labels({ pool, node, outcome, retry }),
  );
  return {
    registry,
    traffic,
    history,
    stop: () => traffic.stop(),
    onRequest(record) {
      const route = record.route ?? '(none)';
      const pool = record.pool ?? '(none)';
      requestChild(route, pool, record.aborted ? 'aborted' : statusClass(record.status)).inc();
      durationChild(route, pool).observe(record.durationMs / 1000);
      traffic.onRequest(record);
    },
    onAttempt(pool, node, outcome, retry) {
      attemptChild(pool, node, outcome.kind, retry ? 'true' : 'false').inc();
      traffic.onAttempt(pool, node, outcome, retry);
    },
    onHedge(pool, node, event) {
      hedgeChild(pool, node, event).inc();
    },
    onEvent(event, seq) {
      history.add(event, seq);
      if (event.type === 'promotion' && event.pool) failovers.inc({ pool: event.pool });
      if (event.type === 'health' && event.pool && event.node && event.to) {
        transitions.inc({ pool: event.pool, node: event.node, scope: event.scope, to: event.to });
        if (event.detectedAfterMs !== undefined) detection.observe({ pool: event.pool }, event.detectedAfterMs / 1000);
      }
    },
  };
}

const statusClasses = ['1xx', '2xx', '3xx', '4xx', '5xx'];
const statusClass = (status: number) => statusClasses[Math.floor(status / 100) - 1] ?? 'other';

/**
 * Memoises metric children by their label values, one Map level per label: no key string is
 * built per call (a join of the labels cost more than the lookups).
 */
function childCache<A extends string[], C>(make: (...labels: A) => C): (...labels: A) => C {
  const root = new Map<string, unknown>();
  return (...labels) => {
    let level = root;
    const last = labels.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(labels[i]!) as Map<string, unknown> | undefined;
      if (!next) {
        next = new Map();
        level.set(labels[i]!, next);
      }
      level = next;
    }
    let child = level.get(labels[last]!) as C | undefined;
    if (child === undefined) {
      child = make(...labels);
      level.set(labels[last]!, child);
    }
    return child;
  };
}

/** Gauges read from the live pools at scrape time: always current, nothing to keep in sync. */
function liveGauges(registry: Registry, pools: () => PoolSet, store: StateStore, clock: Clock): void {
  new Gauge({
    name: 'baton_node_health',
    help: 'Node health verdicts, one series per state (1 = current), by scope: effective, local, cluster',
    labelNames: ['pool', 'node', 'scope', 'state'],
    registers: [registry],
    // Across workers: 1 for every state some worker sees (a sum would count workers).
    aggregator: 'max',
    collect() {
      this.reset();
      for (const pool of pools().all()) {
        for (const node of pool.nodes) {
          for (const [scope, verdict] of [
            ['effective', node.health],
            ['local', node.local],
            ['cluster', node.cluster],
          ] as const) {
            for (const state of states.health)
              this.set({ pool: pool.name, node: node.id, scope, state }, verdict === state ? 1 : 0);
          }
        }
      }
    },
  });
  new Gauge({
    name: 'baton_breaker_state',
    help: 'Circuit breaker state per node, one series per state (1 = current)',
    labelNames: ['pool', 'node', 'state'],
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.reset();
      for (const pool of pools().all()) {
        for (const node of pool.nodes)
          for (const state of states.breaker)
            this.set({ pool: pool.name, node: node.id, state }, node.breaker === state ? 1 : 0);
      }
    },
  });
  perNode(
    registry,
    pools,
    'baton_node_inflight',
    'Requests in flight to the node from this instance',
    (node) => node.inflight,
    'sum',
  );
  new Gauge({
    name: 'baton_hedge_delay_seconds',
    help: 'How long a request waits for response headers before it is hedged, per pool (learned or set; absent while hedging is off or nothing is learned yet)',
    labelNames: ['pool'],
    registers: [registry],
    // Workers learn their own delays from their own answers; the machine shows the longest.
    aggregator: 'max',
    collect() {
      this.reset();
      const now = clock.now();
      for (const pool of pools().all()) {
        const delay = pool.hedging.delayMs(now);
        if (delay !== undefined) this.set({ pool: pool.name }, delay / 1000);
      }
    },
  });
  perNode(
    registry,
    pools,
    'baton_node_draining',
    'Whether the node is drained (1) by an operator',
    (node) => (node.draining ? 1 : 0),
    'max',
  );
  new Gauge({
    name: 'baton_pool_epoch',
    help: 'Epoch of active-passive pools (rises on every change of the active node)',
    labelNames: ['pool', 'active'],
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.reset();
      for (const pool of pools().all())
        if (pool.epoch !== null) this.set({ pool: pool.name, active: pool.active ?? '' }, pool.epoch);
    },
  });
  new Gauge({
    name: 'baton_store_connected',
    help: 'Whether the shared state store is reachable (1) or the instance runs on local state (0)',
    labelNames: ['store'],
    registers: [registry],
    aggregator: 'min',
    collect() {
      this.reset();
      this.set({ store: store.kind }, store.connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'baton_cluster_instances',
    help: 'Live gateway instances seen through the store',
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.set(store.instances().length);
    },
  });
}

function perNode(
  registry: Registry,
  pools: () => PoolSet,
  name: string,
  help: string,
  value: (node: { inflight: number; draining: boolean }) => number,
  aggregator: 'sum' | 'max',
): void {
  new Gauge({
    name,
    help,
    labelNames: ['pool', 'node'],
    registers: [registry],
    aggregator,
    collect() {
      this.reset();
      for (const pool of pools().all())
        for (const node of pool.nodes) this.set({ pool: pool.name, node: node.id }, value(node));
    },
  });
}

/**
 * Workers: lets the supervisor collect this registry (prom-client's cluster protocol over the
 * worker's IPC channel). One registry per worker process.
 */
export function shareWithSupervisor(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // prom-client answers the primary's requests only once an AggregatorRegistry exists in the
  // worker too (its constructor adds the IPC listener; setRegistries does not).
  new AggregatorRegistry();
}

/**
 * The supervisor's side: every worker's metrics in one exposition, counters and histograms
 * summed, gauges by their `aggregator` (max for states, sum for in-flight).
 */
export function machineMetrics(): () => Promise<string> {
  const aggregator = new AggregatorRegistry();
  return () => aggregator.clusterMetrics();
}

/** When each served certificate expires: alert on `baton_tls_certificate_expiry_timestamp_seconds - time() < 14 * 86400`. */
function certificateGauge(registry: Registry, certificates: () => readonly CertificateStatus[]): void {
  new Gauge({
    name: 'baton_tls_certificate_expiry_timestamp_seconds',
    help: 'Expiry (notAfter, Unix seconds) of each certificate a TLS listener serves, by listener and SNI names ("*" for the default)',
    labelNames: ['listener', 'hosts', 'subject'],
    registers: [registry],
    collect() {
      this.reset();
      for (const cert of certificates()) {
        this.set(
          { listener: cert.listener, hosts: cert.hosts.length ? cert.hosts.join(',') : '*', subject: cert.subject },
          Math.floor(cert.notAfter / 1000),
        );
      }
    },
  });
}
