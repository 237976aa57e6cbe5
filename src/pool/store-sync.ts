import { ranksAbove } from '../state/active-order.ts';
import type { ActiveState, StateStore, StoreChange } from '../state/types.ts';
import {
  clusterHealthEvent,
  connectionEvent,
  drainEvent,
  instanceEvent,
  promotionEvent,
  type EventBody,
} from './pool-events.ts';
import type { Pool } from './pool.ts';
import type { UpstreamNode } from './upstream-node.ts';

export interface StoreSyncDeps {
  readonly store: StateStore;
  /** The pools in force now (a reload replaces them). */
  readonly pools: () => Iterable<Pool>;
  readonly pool: (name: string) => Pool | undefined;
  readonly emit: (event: EventBody) => void;
  /** Something that can change which node serves changed in this pool (wakes requests, re-elects). */
  readonly changed: (pool: Pool) => void;
}

/**
 * The store's facts on this instance's pools and nodes (cluster verdicts, drain flags, active
 * states) live in the store; nodes and pools hold a copy for the request path's cheap reads.
 * This is the one place the copy is made: from the store's cache when a pool starts or the
 * store (re)connects, and from each change the store announces, which it also turns into
 * gateway events.
 */
export class StoreSync {
  readonly #deps: StoreSyncDeps;
  /** Highest epoch announced as a promotion event, per pool. */
  readonly #announced = new Map<string, number>();

  constructor(deps: StoreSyncDeps) {
    this.#deps = deps;
  }

  /**
   * A pool starts (or a reload rebuilt it): it takes what the store's cache says now, and the
   * promotions up to the store's epoch are not news.
   */
  adopt(pool: Pool): void {
    const state = this.#take(pool);
    this.#announced.set(pool.name, state?.epoch ?? 0);
    if (!state) pool.changed();
  }

  /** An operator's drain or enable made here: applied on this instance before the store has it. */
  drainHere(node: UpstreamNode, draining: boolean): void {
    node.draining = draining;
  }

  /** A change the store announced. */
  apply(change: StoreChange): void {
    const deps = this.#deps;
    switch (change.type) {
      case 'health': {
        const pool = deps.pool(change.pool);
        const node = pool?.node(change.node);
        if (!pool || !node) return;
        node.setClusterHealth(change.health);
        // Only who votes it down changed: nothing to announce, nothing to re-elect.
        if (change.previous === change.health.verdict) return;
        deps.emit(clusterHealthEvent(change));
        return deps.changed(pool);
      }
      case 'active': {
        const pool = deps.pool(change.pool);
        if (!pool) return;
        if (!pool.activeState || !ranksAbove(pool.activeState, change.state)) pool.setActiveState(change.state);
        // The winner applied its own change already, so announce by epoch, once per epoch.
        if ((this.#announced.get(change.pool) ?? 0) < change.state.epoch) {
          this.#announced.set(change.pool, change.state.epoch);
          deps.emit(promotionEvent(change));
        }
        return deps.changed(pool);
      }
      case 'suspect':
        return deps.pool(change.pool)?.node(change.node)?.probeNow();
      case 'drain': {
        const pool = deps.pool(change.pool);
        const node = pool?.node(change.node);
        if (!pool || !node) return;
        node.draining = change.draining;
        deps.emit(drainEvent(change));
        return deps.changed(pool);
      }
      case 'connection':
        deps.emit(connectionEvent(change));
        return this.#refresh();
      case 'instance':
        return deps.emit(instanceEvent(change));
    }
  }

  /** After a (re)connection or the loss of the store: take what the store's cache says now. */
  #refresh(): void {
    for (const pool of this.#deps.pools()) {
      this.#take(pool);
      this.#deps.changed(pool);
    }
  }

  /**
   * The store's cache, copied into the pool and its nodes: each node's cluster verdict (none
   * while the store is lost: nodes fall back to their local verdicts) and drain flag, and the
   * active state when the store has one. Returns that active state.
   */
  #take(pool: Pool): ActiveState | undefined {
    const store = this.#deps.store;
    for (const node of pool.nodes) {
      node.setClusterHealth(store.clusterHealth(pool.name, node.id));
      node.draining = store.drained(pool.name, node.id);
    }
    const state = store.activeState(pool.name);
    if (state) pool.setActiveState(state);
    return state;
  }
}
