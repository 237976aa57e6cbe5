import type { Health } from '../vocabulary.ts';

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
  /**
   * Rises on every change and is never minted twice through the store; upstreams receive it as
   * X-Baton-Epoch (a fencing token). See docs/fencing.md for what it promises.
   */
  readonly epoch: number;
  /** When this state began (store time). */
  readonly since: number;
  readonly reason: string;
  /** The instance whose proposal won. */
  readonly by: string;
  /** The winning proposal's random id: breaks a tie between two states of one epoch. */
  readonly id: string;
  /** The node that was active before (null for the first state). */
  readonly from: string | null;
  /** Changes in a row back and forth between the same two nodes (policies back off on it). */
  readonly flips: number;
  /** An operator's forced failover: automatic failback waits for an operator or the node's failure. */
  readonly pinned: boolean;
}

/** A change of the active node, applied only if the pool's epoch is still `expectedEpoch`. */
export interface Proposal {
  /** 0 for a pool that has no active node yet. */
  readonly expectedEpoch: number;
  readonly to: string;
  readonly reason: string;
  readonly flips?: number;
  readonly pinned?: boolean;
}

/** A node's drain flag; the newest version wins everywhere (an enable is a record too). */
export interface DrainRecord {
  readonly draining: boolean;
  /** The instance where the operator drained or enabled it. */
  readonly by: string;
  /** Store time of the operation (ms): later operations win, whatever order they arrive in. */
  readonly version: number;
}

export interface InstanceInfo {
  readonly id: string;
  readonly startedAt: number;
  readonly lastSeen: number;
  readonly self: boolean;
}

export type StoreChange =
  /** The node's cluster record changed (its verdict, or only who votes it down: then previous = verdict). */
  | {
      readonly type: 'health';
      readonly pool: string;
      readonly node: string;
      readonly health: ClusterHealth;
      readonly previous: Health;
    }
  | {
      readonly type: 'active';
      readonly pool: string;
      readonly state: ActiveState;
      readonly previous: ActiveState | undefined;
    }
  /** Another instance reports a node down locally: probe it now rather than at the next interval. */
  | { readonly type: 'suspect'; readonly pool: string; readonly node: string; readonly by: string }
  | { readonly type: 'connection'; readonly connected: boolean; readonly reason: string }
  | { readonly type: 'instance'; readonly instance: string; readonly joined: boolean }
  /** An operator drained or enabled a node (on any instance): it applies on every instance. */
  | {
      readonly type: 'drain';
      readonly pool: string;
      readonly node: string;
      readonly draining: boolean;
      readonly by: string;
    };

export interface StateStore {
  readonly kind: 'memory' | 'redis';
  readonly instanceId: string;
  /** Instances that must report a node down for the cluster verdict to be down. */
  readonly quorum: number | 'majority';
  /** False while the store is unreachable or stale: the instance then runs on local verdicts. */
  readonly connected: boolean;
  /** Rejects with DUPLICATE_INSTANCE when another live instance uses this instance id. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Records this instance's local verdict. Never throws and never blocks the caller. */
  reportHealth(pool: string, node: string, verdict: Health, reason: string): void;
  /** Sync, from the cache. */
  clusterHealth(pool: string, node: string): ClusterHealth | undefined;
  /** Sync, from the cache. */
  activeState(pool: string): ActiveState | undefined;
  /**
   * Compare-and-set: make `proposal.to` the active node if the pool's epoch is still
   * `proposal.expectedEpoch`. Resolves the new state if this proposal won, undefined if another
   * one did first. Decided by the store whenever it is reachable; an instance decides alone
   * (a provisional state, reconciled later) only while the store is declared lost. Rejects with
   * STORE_UNCONFIRMED when the store took the proposal but its outcome could not be read back.
   */
  propose(pool: string, proposal: Proposal): Promise<ActiveState | undefined>;
  instances(): readonly InstanceInfo[];
  /**
   * Drains (or enables) a node on every instance, applied to the local cache at once.
   * 'pending': the store is unreachable; the operation is kept and applied when it returns
   * (unless a later operation on the node won meanwhile).
   */
  setDrain(pool: string, node: string, draining: boolean): Promise<'cluster' | 'pending'>;
  /** Sync, from the cache: is the node drained cluster-wide? */
  drained(pool: string, node: string): boolean;
  /** The store's clock (ms): timestamps in the shared state are in it, whatever this host's clock says. */
  now(): number;
  /** The nodes the config currently has; votes for others are dropped. */
  setTopology(pools: ReadonlyMap<string, readonly string[]>): void;
  onChange(listener: (change: StoreChange) => void): () => void;
}
