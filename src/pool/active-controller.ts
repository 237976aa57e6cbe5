import type { StateStore, ActiveState } from '../state/types.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { ElectionIntent } from '../policy/types.ts';
import { BatonError } from '../util/errors.ts';
import type { Pool } from './pool.ts';
import type { UpstreamNode } from './upstream-node.ts';

/** After losing a compare-and-set, wait for the winner's notice before trying again. */
const LOST_RACE_RECHECK_MS = 50;
/** After the store refused or failed a proposal, do not hammer it. */
const FAILED_PROPOSAL_RECHECK_MS = 1000;

export interface ControllerDeps {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Cold standby: bring a node up after this instance promoted it. */
  readonly activate: (pool: Pool, node: UpstreamNode) => Promise<void>;
}

/**
 * Applies active-passive elections. The policy decides (pure `elect`); this asks it after
 * every change and when it asked to be asked again, and turns a different answer into a
 * compare-and-set on the pool's epoch. Every instance runs one, and the store lets exactly
 * one proposal per epoch win, so all instances follow the same active node.
 */
export class ActiveController {
  readonly #deps: ControllerDeps;
  readonly #pending = new Set<Pool>();
  readonly #busy = new Set<Pool>();
  readonly #rechecks = new Map<Pool, () => void>();
  #stopped = false;

  constructor(deps: ControllerDeps) {
    this.#deps = deps;
  }

  /** Something changed in this pool: re-run its election soon (once per burst of changes). */
  evaluate(pool: Pool): void {
    if (!pool.activePassive || this.#stopped || this.#pending.has(pool)) return;
    this.#pending.add(pool);
    queueMicrotask(() => {
      this.#pending.delete(pool);
      void this.#run(pool, 'auto');
    });
  }

  /** Admin: fail over now (to `to`, or to the policy's choice) or fail back to the preferred node. */
  async request(pool: Pool, intent: 'failover' | 'failback', to?: string): Promise<ActiveState> {
    if (!pool.activePassive) throw new BatonError('NOT_ACTIVE_PASSIVE', pool.name);
    let target = to;
    let reason = `${intent} requested by operator`;
    if (target === undefined) {
      const election = pool.policy.elect!(pool, this.#deps.clock.now(), intent);
      if (!election || !('to' in election)) throw new BatonError('FAILOVER_REFUSED', `no usable node to ${intent} to`);
      target = election.to;
      reason = `${reason}: ${election.reason}`;
    }
    const node = pool.node(target);
    if (!node) throw new BatonError('NODE_NOT_FOUND', target);
    if (target === pool.active) throw new BatonError('FAILOVER_REFUSED', `${target} is already active`);
    if (node.draining || (node.health === 'down' && node.standby !== 'cold')) {
      throw new BatonError('FAILOVER_REFUSED', `${target} is ${node.draining ? 'draining' : 'down'}`);
    }
    const state = await this.#propose(pool, node, reason);
    if (!state) throw new BatonError('FAILOVER_REFUSED', 'another change won the race; read /status and retry');
    return state;
  }

  stop(): void {
    this.#stopped = true;
    for (const cancel of this.#rechecks.values()) cancel();
    this.#rechecks.clear();
  }

  async #run(pool: Pool, intent: ElectionIntent): Promise<void> {
    if (this.#busy.has(pool) || this.#stopped) return;
    const election = pool.policy.elect!(pool, this.#deps.clock.now(), intent);
    if (!election) return;
    if (!('to' in election)) return this.#recheckAt(pool, election.recheckAt);
    if (election.to === pool.active) return;
    const node = pool.node(election.to);
    if (!node) return;
    await this.#propose(pool, node, election.reason);
  }

  async #propose(pool: Pool, node: UpstreamNode, reason: string): Promise<ActiveState | undefined> {
    this.#busy.add(pool);
    let retryIn = 0;
    try {
      const state = await this.#deps.store.propose(pool.name, pool.epoch ?? 0, node.id, reason);
      if (state) {
        // Apply at once; the store's change notice will confirm the same state.
        pool.setActiveState(state);
        if (node.standby === 'cold') void this.#deps.activate(pool, node);
      } else {
        // Another proposal won; its change notice brings the new epoch. Look again shortly.
        retryIn = LOST_RACE_RECHECK_MS;
      }
      return state;
    } catch (error) {
      this.#deps.log.warn({ pool: pool.name, err: error }, 'active node proposal failed');
      retryIn = FAILED_PROPOSAL_RECHECK_MS;
      return undefined;
    } finally {
      this.#busy.delete(pool);
      // Things may have moved on while the proposal was in flight.
      if (retryIn > 0) this.#recheckAt(pool, this.#deps.clock.now() + retryIn);
      else this.evaluate(pool);
    }
  }

  #recheckAt(pool: Pool, at: number): void {
    this.#rechecks.get(pool)?.();
    const cancel = this.#deps.clock.schedule(at - this.#deps.clock.now(), () => {
      this.#rechecks.delete(pool);
      this.evaluate(pool);
    });
    this.#rechecks.set(pool, cancel);
  }
}
