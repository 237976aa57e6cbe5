import type { PoolSet } from '../pool/pool-set.ts';
import type { Pool } from '../pool/pool.ts';
import type { StateStore, InstanceInfo } from '../state/types.ts';
import type { BreakerState, Health } from '../policy/types.ts';
import type { CertificateStatus } from '../listen/listener.ts';

/** The `GET /status` document (a public contract: see DESIGN.md §3). */
export interface StatusDocument {
  instance: string;
  store: 'memory' | 'redis';
  storeConnected: boolean;
  instances: InstanceInfo[];
  pools: Record<string, PoolStatus>;
  /** The certificates TLS listeners serve, with their expiry (ms since the epoch); [] without TLS. */
  certificates: CertificateStatus[];
}

export interface PoolStatus {
  policy: string;
  active: string | null;
  epoch: number | null;
  activeSince: number | null;
  /** An operator's forced failover stands: no automatic failback until POST /failback or the node fails. */
  pinned: boolean;
  /** Changes in a row back and forth between the same two nodes (hot standby backs off on it). */
  flips: number;
  /** When this instance will next consider an automatic change, e.g. a failback (store time). */
  failbackAt: number | null;
  /** Hedged requests: null when off (`hedge: false`, active-passive policies). */
  hedge: HedgeStatus | null;
  nodes: NodeStatus[];
}

export interface HedgeStatus {
  /** As configured: a delay in ms, or 'auto'. */
  after: number | 'auto';
  /** The delay in force now, in ms (learned for 'auto'); null while too few answers were seen to learn one. */
  delayMs: number | null;
  /** The pool's recent p95 response-header latency (what 'auto' learns from), ms; null until there are enough answers. */
  learnedMs: number | null;
  /** Hedges the budget would allow right now (the token bucket's level). */
  budgetTokens: number;
}

export interface NodeStatus {
  id: string;
  url: string;
  tier: number;
  weight: number;
  standby: 'hot' | 'cold' | null;
  health: Health;
  local: Health;
  cluster: Health;
  breaker: BreakerState;
  inflight: number;
  draining: boolean;
  usable: boolean;
  upSince: number | null;
  /** While passive detection keeps the node out on this instance: until when (heartbeats may end it sooner). */
  ejectedUntil: number | null;
  /** Suspected of hanging (it lost hedges in a row): probed now and passed over until the heartbeat decides. */
  suspected: boolean;
  downVotes: string[];
}

export function statusDocument(
  store: StateStore,
  pools: PoolSet,
  now: number,
  certificates: CertificateStatus[] = [],
): StatusDocument {
  const out: StatusDocument = {
    instance: store.instanceId,
    store: store.kind,
    storeConnected: store.connected,
    instances: [...store.instances()],
    pools: {},
    certificates,
  };
  for (const pool of pools.all()) {
    out.pools[pool.name] = {
      policy: pool.settings.policy.name,
      active: pool.active,
      epoch: pool.epoch,
      activeSince: pool.activeSince,
      pinned: pool.pinned,
      flips: pool.flips,
      failbackAt: pool.activePassive ? pools.controller.nextCheck(pool) : null,
      hedge: hedgeStatus(pool, now),
      nodes: pool.nodes.map((node) => ({
        id: node.id,
        url: node.url.href,
        tier: node.tier,
        weight: node.weight,
        standby: node.standby ?? null,
        health: node.health,
        local: node.local,
        cluster: node.cluster,
        breaker: node.breaker,
        inflight: node.inflight,
        draining: node.draining,
        usable: node.usable,
        upSince: node.upSince ?? null,
        ejectedUntil: node.ejectedUntil ?? null,
        suspected: node.suspected(now),
        downVotes: [...(node.clusterHealth?.downVotes ?? [])],
      })),
    };
  }
  return out;
}

function hedgeStatus(pool: Pool, now: number): HedgeStatus | null {
  const hedge = pool.settings.hedge;
  if (!hedge || pool.activePassive) return null;
  const learned = pool.hedging.learnedMs(now);
  return {
    after: hedge.after,
    delayMs: round(pool.hedging.delayMs(now)),
    learnedMs: round(learned),
    budgetTokens: Math.round(pool.hedging.tokens * 100) / 100,
  };
}

function round(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.round(ms * 100) / 100;
}
