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
 * Whether the active node must be replaced, by the evidence every instance applies alike:
 * drained by an operator, or down. With a quorum above 1 (and the store reachable) only the
 * cluster verdict counts: one instance that cannot reach the node, or whose breaker opened, must
 * not move every instance. With quorum 1 (or without the store) this instance's own verdict and
 * breaker count, as they would for the cluster.
 */
export function activeFailed(node: UpstreamNode, store: Pick<StateStore, 'quorum' | 'connected'>): boolean {
  if (node.draining) return true;
  if (store.quorum !== 1 && store.connected) return node.cluster === 'down';
  return node.health === 'down' || node.breaker === 'open';
}

/**
 * Applies active-passive elections. The policy decides (pure `elect`); this asks it after
 * every change and when it asked to be asked again, and turns a different answer into a
 * compare-and-set on the pool's epoch. Every instance runs one, and the store lets exactly
 * one proposal per epoch win, so all instances follow the same active node.
 *
 * Two rules sit above the policy. An automatic change away from an active node that has not
 * failed (activeFailed) is a failback, and waits while an operator's forced failover stands
 * (`pinned`, shared by every instance) and while this instance alone cannot use that node.
 * And time is the store's, so a host whose clock is off measures delays like the others.
 */
export class ActiveController {
  readonly #deps: ControllerDeps;
  readonly #pending = new Set<Pool>();
  readonly #busy = new Set<Pool>();
  readonly #rechecks = new Map<Pool, { at: number; cancel: () => void }>();
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
      void this.#run(pool, 'auto').catch((error: unknown) => this.#failed(pool, error));
    });
  }

  /** When this instance will ask the policy again (store time), e.g. for a pending failback. */
  nextCheck(pool: Pool): number | null {
    return this.#rechecks.get(pool)?.at ?? null;
  }

  /** Admin: fail over now (to `to`, or to the policy's choice) or fail back to the preferred node. */
  async request(pool: Pool, intent: 'failover' | 'failback', to?: string): Promise<ActiveState> {
    if (!pool.activePassive) throw new BatonError('NOT_ACTIVE_PASSIVE', pool.name);
    let target = to;
    let reason = `${intent} requested by operator`;
    let flips: number | undefined;
    if (target === undefined) {
      const election = pool.policy.elect!(pool, this.#deps.store.now(), intent);
      if (!election || !('to' in election)) throw new BatonError('FAILOVER_REFUSED', `no usable node to ${intent} to`);
      target = election.to;
      reason = `${reason}: ${election.reason}`;
      flips = election.flips;
    }
    const node = pool.node(target);
    if (!node) throw new BatonError('NODE_NOT_FOUND', target);
    if (target === pool.active) throw new BatonError('FAILOVER_REFUSED', `${target} is already active`);
    if (node.draining || (node.health === 'down' && node.standby !== 'cold')) {
      throw new BatonError('FAILOVER_REFUSED', `${target} is ${node.draining ? 'draining' : 'down'}`);
    }
    // A forced failover pins the choice: no automatic failback until an operator asks for one.
    const state = await this.#propose(pool, node, reason, flips, intent === 'failover');
    if (!state) {
      const now = pool.activeState;
      throw new BatonError(
        'FAILOVER_REFUSED',
        `another change won the race (active ${now?.active ?? 'none'}, epoch ${now?.epoch ?? 0}); read /status and retry`,
      );
    }
    return state;
  }

  stop(): void {
    this.#stopped = true;
    for (const { cancel } of this.#rechecks.values()) cancel();
    this.#rechecks.clear();
  }

  async #run(pool: Pool, intent: ElectionIntent): Promise<void> {
    if (this.#busy.has(pool) || this.#stopped) return;
    this.#cancelRecheck(pool);
    // Stryker disable next-line ConditionalExpression: pool.node(null) finds no node either
    const active = pool.active === null ? undefined : pool.node(pool.active);
    if (active && !activeFailed(active, this.#deps.store) && (pool.pinned || !active.usable)) return;
    const election = pool.policy.elect!(pool, this.#deps.store.now(), intent);
    if (!election) return;
    if (!('to' in election)) return this.#recheckAt(pool, election.recheckAt);
    if (election.to === pool.active) return;
    const node = pool.node(election.to);
    if (!node) return;
    await this.#propose(pool, node, election.reason, election.flips, false);
  }

  async #propose(
    pool: Pool,
    node: UpstreamNode,
    reason: string,
    flips: number | undefined,
    pinned: boolean,
  ): Promise<ActiveState | undefined> {
    this.#busy.add(pool);
    let retryIn = 0;
    try {
      const state = await this.#deps.store.propose(pool.name, {
        expectedEpoch: pool.epoch ?? 0,
        to: node.id,
        reason,
        flips,
        pinned,
      });
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
      retryIn = FAILED_PROPOSAL_RECHECK_MS;
      throw error;
    } finally {
      this.#busy.delete(pool);
      // Things may have moved on while the proposal was in flight.
      if (retryIn > 0) this.#recheckAt(pool, this.#deps.store.now() + retryIn);
      else this.evaluate(pool);
    }
  }

  #failed(pool: Pool, error: unknown): void {
    this.#deps.log.warn({ pool: pool.name, err: error }, 'active node proposal failed');
  }

  #cancelRecheck(pool: Pool): void {
    this.#rechecks.get(pool)?.cancel();
    this.#rechecks.delete(pool);
  }

  #recheckAt(pool: Pool, at: number): void {
    this.#cancelRecheck(pool);
    const cancel = this.#deps.clock.schedule(at - this.#deps.store.now(), () => {
      this.#rechecks.delete(pool);
      this.evaluate(pool);
    });
    this.#rechecks.set(pool, { at, cancel });
  }
}
