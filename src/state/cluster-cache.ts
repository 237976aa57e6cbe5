import type { ActiveState, ClusterHealth, StoreChange } from './types.ts';
import type { HealthRecord } from './redis-codec.ts';

/**
 * An instance's local copy of the shared state, which the request path reads synchronously.
 * Pure bookkeeping: records and snapshots go in, the changes to announce come out. Only newer
 * versions are applied (pub/sub notices and snapshots can arrive in any order), except when the
 * store itself was reset, where the snapshot replaces everything.
 */
export class ClusterCache {
  readonly #health = new Map<string, HealthRecord>();
  readonly #active = new Map<string, ActiveState>();
  /** "<pool>/<node>" → the instance that drained it. */
  readonly #drained = new Map<string, string>();

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
    return this.#drained.has(`${pool}/${node}`);
  }

  drainedNodes(): Array<[pool: string, node: string, by: string]> {
    return [...this.#drained].map(([key, by]) => [...split(key), by]);
  }

  applyDrain(pool: string, node: string, draining: boolean, by: string): StoreChange | undefined {
    const key = `${pool}/${node}`;
    if (this.#drained.has(key) === draining) return undefined;
    if (draining) this.#drained.set(key, by);
    else this.#drained.delete(key);
    return { type: 'drain', pool, node, draining, by };
  }

  /** The store's drained nodes, replacing ours; returns what changed. */
  applyDrainSnapshot(drained: ReadonlyMap<string, string>): StoreChange[] {
    const changes: StoreChange[] = [];
    for (const [key, by] of drained) if (!this.#drained.has(key)) changes.push(this.#drainChange(key, true, by));
    for (const key of [...this.#drained.keys()]) if (!drained.has(key)) changes.push(this.#drainChange(key, false, 'resync'));
    return changes;
  }

  #drainChange(key: string, draining: boolean, by: string): StoreChange {
    const [pool, node] = split(key);
    return this.applyDrain(pool, node, draining, by)!;
  }

  /** Applies a node record if it is newer than what we have; returns the change to announce. */
  applyHealth(pool: string, node: string, record: HealthRecord): StoreChange | undefined {
    const key = `${pool}/${node}`;
    const current = this.#health.get(key);
    if (current && current.version >= record.version) return undefined;
    this.#health.set(key, record);
    if (current?.verdict === record.verdict) return undefined;
    return { type: 'health', pool, node, health: this.health(pool, node)!, previous: current?.verdict ?? 'unknown' };
  }

  /** Applies an active state if its epoch is newer; returns the change to announce. */
  applyActive(pool: string, state: ActiveState): StoreChange | undefined {
    const current = this.#active.get(pool);
    if (current && current.epoch >= state.epoch) return undefined;
    this.#active.set(pool, state);
    return { type: 'active', pool, state, previous: current };
  }

  /** Takes the store's state for a pool even at an equal epoch (after a local, provisional decision). */
  replaceActive(pool: string, state: ActiveState): StoreChange | undefined {
    const current = this.#active.get(pool);
    this.#active.set(pool, state);
    if (current && current.epoch === state.epoch && current.active === state.active) return undefined;
    return { type: 'active', pool, state, previous: current };
  }

  /**
   * A full snapshot. `reset`: the store restarted and its versions started over, so the
   * snapshot replaces the cache instead of losing to our higher, older versions. Active
   * states are never reset this way: their epochs are re-seeded into the store, and only a
   * newer epoch is applied.
   */
  applySnapshot(health: ReadonlyMap<string, HealthRecord>, active: ReadonlyMap<string, ActiveState>, reset: boolean): StoreChange[] {
    const changes: StoreChange[] = [];
    if (reset) {
      const before = new Map(this.#health);
      this.#health.clear();
      for (const [key, record] of health) {
        this.#health.set(key, record);
        if (before.get(key)?.verdict !== record.verdict) changes.push(this.#changed(key, before.get(key)));
      }
    } else {
      for (const [key, record] of health) {
        const [pool, node] = split(key);
        const change = this.applyHealth(pool, node, record);
        if (change) changes.push(change);
      }
    }
    for (const [pool, state] of active) {
      const change = this.applyActive(pool, state);
      if (change) changes.push(change);
    }
    return changes;
  }

  #changed(key: string, previous: HealthRecord | undefined): StoreChange {
    const [pool, node] = split(key);
    return { type: 'health', pool, node, health: this.health(pool, node)!, previous: previous?.verdict ?? 'unknown' };
  }
}

function split(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
