import { ranksAbove } from './active-order.ts';
import type { ActiveState, ClusterHealth, DrainRecord, StoreChange } from './types.ts';
import type { HealthRecord } from './redis-codec.ts';

/** A full read of the store. */
export interface Snapshot {
  readonly health: ReadonlyMap<string, HealthRecord>;
  readonly active: ReadonlyMap<string, ActiveState>;
  readonly drains: ReadonlyMap<string, DrainRecord>;
}

/**
 * What a snapshot holds that is older than what this instance already knew. Each is either a
 * race (the snapshot was read before a change whose notice arrived first) or proof that the
 * store went back in time (restarted from an older snapshot, a lagging replica promoted); the
 * store tells them apart by asking again.
 */
export interface Behind {
  /** Pools whose active state here ranks above the store's. */
  readonly active: string[];
  /** "<pool>/<node>" whose drain record here is newer than the store's (or missing there). */
  readonly drains: string[];
  /** "<pool>/<node>" → the version here, where the store's record is older (or missing). */
  readonly health: Map<string, number>;
}

export interface Applied {
  readonly changes: StoreChange[];
  readonly behind: Behind;
}

/**
 * An instance's local copy of the shared state, which the request path reads synchronously.
 * Pure bookkeeping: records and snapshots go in, the changes to announce come out. Only newer
 * records are applied (pub/sub notices and snapshots arrive in any order): health records by
 * version, active states by epoch then proposal id, drains by the time of the operation. After
 * the store lost state, `markStale` lets whatever the store says next replace the health
 * records, whose versions started over, while the old ones keep serving until then.
 */
export class ClusterCache {
  readonly #health = new Map<string, HealthRecord>();
  readonly #stale = new Set<string>();
  readonly #active = new Map<string, ActiveState>();
  readonly #drains = new Map<string, DrainRecord>();

  health(pool: string, node: string): ClusterHealth | undefined {
    const record = this.#health.get(`${pool}/${node}`);
    return record && { verdict: record.verdict, since: record.since, reason: record.reason, downVotes: record.down };
  }

  active(pool: string): ActiveState | undefined {
    return this.#active.get(pool);
  }

  allActive(): ReadonlyMap<string, ActiveState> {
    return this.#active;
  }

  drained(pool: string, node: string): boolean {
    return this.#drains.get(`${pool}/${node}`)?.draining === true;
  }

  drainRecord(key: string): DrainRecord | undefined {
    return this.#drains.get(key);
  }

  drainRecords(): ReadonlyMap<string, DrainRecord> {
    return this.#drains;
  }

  /** Applies a drain record if it is newer; announces a change of the flag. */
  applyDrain(pool: string, node: string, record: DrainRecord): StoreChange | undefined {
    const key = `${pool}/${node}`;
    const current = this.#drains.get(key);
    if (current && current.version >= record.version) return undefined;
    this.#drains.set(key, record);
    if ((current?.draining ?? false) === record.draining) return undefined;
    return { type: 'drain', pool, node, draining: record.draining, by: record.by };
  }

  /** The store's answer to this instance's own drain operation: taken whatever its version. */
  replaceDrain(pool: string, node: string, record: DrainRecord): StoreChange | undefined {
    const key = `${pool}/${node}`;
    const current = this.#drains.get(key);
    this.#drains.set(key, record);
    if ((current?.draining ?? false) === record.draining) return undefined;
    return { type: 'drain', pool, node, draining: record.draining, by: record.by };
  }

  /** Applies a node record if it is newer (or ours is stale); announces any change of it. */
  applyHealth(pool: string, node: string, record: HealthRecord): StoreChange | undefined {
    const key = `${pool}/${node}`;
    const current = this.#health.get(key);
    const stale = this.#stale.delete(key);
    if (current && !stale && current.version >= record.version) return undefined;
    this.#health.set(key, record);
    if (current && current.verdict === record.verdict && sameList(current.down, record.down)) return undefined;
    return { type: 'health', pool, node, health: this.health(pool, node)!, previous: current?.verdict ?? 'unknown' };
  }

  /** Applies an active state if it ranks above ours; returns the change to announce. */
  applyActive(pool: string, state: ActiveState): StoreChange | undefined {
    const current = this.#active.get(pool);
    if (!ranksAbove(state, current)) return undefined;
    this.#active.set(pool, state);
    return { type: 'active', pool, state, previous: current };
  }

  /** The store lost state: its next health records replace ours, whatever their versions. */
  markStale(): void {
    for (const key of this.#health.keys()) this.#stale.add(key);
  }

  /** A full snapshot: newer records are applied; what the store lacks or has older is reported. */
  applySnapshot(snapshot: Snapshot): Applied {
    const changes: StoreChange[] = [];
    const behind: Behind = { active: [], drains: [], health: new Map() };
    const add = (change: StoreChange | undefined) => change && changes.push(change);
    for (const [key, current] of this.#health) {
      const theirs = snapshot.health.get(key);
      if (!this.#stale.has(key) && (theirs?.version ?? 0) < current.version) behind.health.set(key, current.version);
    }
    for (const [key, record] of snapshot.health) add(this.applyHealth(...split(key), record));
    for (const [pool, current] of this.#active) {
      const theirs = snapshot.active.get(pool);
      if (ranksAbove(current, theirs)) behind.active.push(pool);
    }
    for (const [pool, state] of snapshot.active) add(this.applyActive(pool, state));
    for (const [key, current] of this.#drains) {
      if ((snapshot.drains.get(key)?.version ?? 0) < current.version) behind.drains.push(key);
    }
    for (const [key, record] of snapshot.drains) add(this.applyDrain(...split(key), record));
    return { changes, behind };
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

export function split(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
