import type { Health } from '../policy/types.ts';

/**
 * The state shared by every gateway instance: each instance's verdict on each node (from
 * which the cluster verdict follows) and, for active-passive pools, the active node and its
 * epoch. The request path only ever reads the synchronous getters, which serve a local
 * cache; writes go to the store in the background.
 */

export interface ClusterHealth {
  readonly verdict: Health;
  /** When the cluster verdict last changed (store time). */
  readonly since: number;
  readonly reason: string;
  /** Instances currently reporting the node down. */
  readonly downVotes: readonly string[];
}

export interface ActiveState {
  readonly active: string | null;
  /** Rises by one on every change; upstreams receive it as X-Baton-Epoch (a fencing token). */
  readonly epoch: number;
  readonly since: number;
  readonly reason: string;
  /** The instance whose proposal won. */
  readonly by: string;
}

export interface InstanceInfo {
  readonly id: string;
  readonly startedAt: number;
  readonly lastSeen: number;
  readonly self: boolean;
}

export type StoreChange =
  | { readonly type: 'health'; readonly pool: string; readonly node: string; readonly health: ClusterHealth; readonly previous: Health }
  | { readonly type: 'active'; readonly pool: string; readonly state: ActiveState; readonly previous: ActiveState | undefined }
  /** Another instance reports a node down locally: probe it now rather than at the next interval. */
  | { readonly type: 'suspect'; readonly pool: string; readonly node: string; readonly by: string }
  | { readonly type: 'connection'; readonly connected: boolean; readonly reason: string }
  | { readonly type: 'instance'; readonly instance: string; readonly joined: boolean }
  /** An operator drained or enabled a node (on any instance): it applies on every instance. */
  | { readonly type: 'drain'; readonly pool: string; readonly node: string; readonly draining: boolean; readonly by: string };

export interface StateStore {
  readonly kind: 'memory' | 'redis';
  readonly instanceId: string;
  /** False while the store is unreachable or stale: the instance then runs on local verdicts. */
  readonly connected: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Records this instance's local verdict. Never throws and never blocks the caller. */
  reportHealth(pool: string, node: string, verdict: Health, reason: string): void;
  /** Sync, from the cache. */
  clusterHealth(pool: string, node: string): ClusterHealth | undefined;
  /** Sync, from the cache. */
  activeState(pool: string): ActiveState | undefined;
  /**
   * Compare-and-set: make `to` the active node if the pool's epoch is still `expectedEpoch`
   * (0 for a pool that has none yet). Resolves the new state if this proposal won, undefined
   * if another one did first.
   */
  propose(pool: string, expectedEpoch: number, to: string, reason: string): Promise<ActiveState | undefined>;
  instances(): readonly InstanceInfo[];
  /** Drains (or enables) a node on every instance. Applied to the local cache at once. */
  setDrain(pool: string, node: string, draining: boolean): Promise<void>;
  /** Sync, from the cache: is the node drained cluster-wide? */
  drained(pool: string, node: string): boolean;
  /** The nodes the config currently has; votes for others are dropped. */
  setTopology(pools: ReadonlyMap<string, readonly string[]>): void;
  onChange(listener: (change: StoreChange) => void): () => void;
}
