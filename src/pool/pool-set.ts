import type { PoolSettings } from '../config/types.ts';
import type { EventBus } from '../events/bus.ts';
import type { HeartbeatShare } from '../health/heartbeat-share.ts';
import type { LocalTransition } from '../health/node-health.ts';
import type { BreakerState, PoolInfo } from '../policy/types.ts';
import type { StateStore } from '../state/types.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { ActiveController } from './active-controller.ts';
import { breakerEvent, localHealthEvent, type EventBody } from './pool-events.ts';
import { PoolBuilder } from './pool-builder.ts';
import type { Pool } from './pool.ts';
import { planReload, type ReloadSummary } from './reconcile.ts';
import { Retirement } from './retirement.ts';
import { StoreSync } from './store-sync.ts';
import type { UpstreamNode } from './upstream-node.ts';

export interface PoolSetDeps {
  readonly clock: Clock;
  readonly store: StateStore;
  readonly bus: EventBus;
  readonly log: Logger;
  /** Cold standby activation, from the plugins' `activate` hooks. */
  readonly activate: (pool: PoolInfo, node: UpstreamNode) => Promise<void>;
  /** Workers: heartbeats sent by one worker for the machine. Absent: this gateway probes. */
  readonly heartbeats?: HeartbeatShare;
}

/**
 * All pools of one gateway, by name, and the wiring between them and the outside: local health
 * changes go to the store and the event bus; the store's changes (cluster verdicts, active
 * nodes, drains, suspicions from other instances) come back into the nodes and pools through
 * StoreSync. Its parts: PoolBuilder makes a pool, planReload says what a reload changes,
 * Retirement disposes of removed nodes once idle, ActiveController runs elections.
 */
export class PoolSet {
  readonly #deps: PoolSetDeps;
  readonly #pools = new Map<string, Pool>();
  readonly #builder: PoolBuilder;
  readonly #retirement: Retirement;
  readonly #sync: StoreSync;
  readonly controller: ActiveController;
  #unsubscribe: (() => void) | undefined;
  #unsubscribeHeartbeats: (() => void) | undefined;
  #started = false;

  constructor(deps: PoolSetDeps) {
    this.#deps = deps;
    this.#retirement = new Retirement(deps.clock);
    this.#builder = new PoolBuilder({
      clock: deps.clock,
      store: deps.store,
      probing: deps.heartbeats?.probing ?? true,
      hooks: (pool) => ({
        onLocalHealth: (n, t) => this.#onLocalHealth(pool, n, t),
        onBreaker: (n, s) => this.#onBreaker(pool, n, s),
        onTrialSlotFree: () => this.#pools.get(pool)?.changed(),
        onHeartbeat: (n, result) =>
          deps.heartbeats?.publish({ pool, node: n.id, ok: result.ok, detail: result.detail }),
      }),
    });
    this.controller = new ActiveController({
      store: deps.store,
      clock: deps.clock,
      log: deps.log,
      activate: (pool, node) => deps.activate(pool, node),
    });
    this.#sync = new StoreSync({
      store: deps.store,
      pools: () => this.#pools.values(),
      pool: (name) => this.#pools.get(name),
      emit: (event) => this.#emit(event),
      changed: (pool) => this.#changed(pool.name),
    });
  }

  get(name: string): Pool | undefined {
    return this.#pools.get(name);
  }

  all(): Pool[] {
    return [...this.#pools.values()];
  }

  /** Builds the pools for these settings (first start). */
  build(settings: ReadonlyMap<string, PoolSettings>): void {
    for (const pool of settings.values()) this.#pools.set(pool.name, this.#createPool(pool, undefined));
    this.#publishTopology();
  }

  /**
   * A config reload: pools and nodes that did not change are kept as they are; a changed pool
   * gets a new Pool with a new policy instance but keeps its connection pool and every node
   * whose id and URL stayed (health, breaker, in-flight count, drain flag). Removed nodes and
   * pools stop being probed at once and are disposed once their in-flight requests are done:
   * a reload never cuts a request off.
   */
  reconcile(settings: ReadonlyMap<string, PoolSettings>): ReloadSummary {
    const current = new Map([...this.#pools].map(([name, pool]) => [name, pool.settings]));
    const plan = planReload(current, settings);
    for (const name of plan.added) {
      const pool = this.#createPool(settings.get(name)!, undefined);
      this.#pools.set(name, pool);
      if (this.#started) this.#startPool(pool);
    }
    for (const name of plan.changed) {
      const previous = this.#pools.get(name)!;
      const pool = this.#createPool(settings.get(name)!, previous);
      this.#pools.set(name, pool);
      this.#retire(
        previous.nodes.filter((node) => !pool.nodes.includes(node)),
        previous,
        false,
      );
      if (this.#started) this.#startPool(pool);
    }
    for (const name of plan.removed) {
      const pool = this.#pools.get(name)!;
      this.#pools.delete(name);
      this.#retire(pool.nodes, pool, true);
    }
    this.#publishTopology();
    return plan;
  }

  start(): void {
    this.#started = true;
    this.#unsubscribe = this.#deps.store.onChange((change) => {
      if (this.#started) this.#sync.apply(change);
    });
    const share = this.#deps.heartbeats;
    if (share && !share.probing) {
      this.#unsubscribeHeartbeats = share.subscribe((result) =>
        this.#pools.get(result.pool)?.node(result.node)?.heartbeat(result),
      );
    }
    for (const pool of this.#pools.values()) this.#startPool(pool);
  }

  stop(): void {
    this.#started = false;
    this.#unsubscribe?.();
    this.#unsubscribeHeartbeats?.();
    this.controller.stop();
    for (const pool of this.#pools.values()) this.#disposePool(pool);
    this.#pools.clear();
    this.#retirement.finishAll();
    this.#builder.stop();
  }

  #publishTopology(): void {
    this.#deps.store.setTopology(new Map(this.all().map((pool) => [pool.name, pool.nodes.map((node) => node.id)])));
  }

  #createPool(settings: PoolSettings, previous: Pool | undefined): Pool {
    return this.#builder.build(settings, previous);
  }

  /** Stops probing `nodes` now; disposes them (and the pool's policy/agent) when idle. */
  #retire(nodes: readonly UpstreamNode[], pool: Pool, wholePool: boolean): void {
    pool.policy.dispose?.();
    this.#retirement.retire(nodes, () => {
      for (const node of nodes) node.dispose();
      if (wholePool) pool.agent.destroy();
    });
  }

  #startPool(pool: Pool): void {
    this.#sync.adopt(pool);
    for (const node of pool.nodes) node.start();
    this.controller.evaluate(pool);
  }

  #disposePool(pool: Pool): void {
    for (const node of pool.nodes) node.dispose();
    pool.policy.dispose?.();
    pool.agent.destroy();
    pool.changed();
  }

  #emit(event: EventBody): void {
    this.#deps.bus.emit({ time: this.#deps.clock.now(), instance: this.#deps.store.instanceId, ...event });
  }

  #onLocalHealth(poolName: string, node: UpstreamNode, transition: LocalTransition): void {
    this.#emit(localHealthEvent(poolName, node.id, transition));
    this.#deps.store.reportHealth(poolName, node.id, transition.to, transition.reason);
    this.#changed(poolName);
  }

  #onBreaker(poolName: string, node: UpstreamNode, state: BreakerState): void {
    this.#emit(breakerEvent(poolName, node.id, state));
    this.#changed(poolName);
  }

  #changed(poolName: string): void {
    const pool = this.#pools.get(poolName);
    if (!pool) return;
    pool.changed();
    this.controller.evaluate(pool);
  }

  /**
   * Drains or enables a node on every instance, through the store. 'pending': the store is
   * unreachable; applied here now, and everywhere when it returns.
   */
  async setDrain(pool: Pool, node: UpstreamNode, draining: boolean): Promise<'cluster' | 'pending'> {
    this.#sync.drainHere(node, draining);
    this.#changed(pool.name);
    const scope = await this.#deps.store.setDrain(pool.name, node.id, draining);
    if (scope === 'pending')
      this.#deps.log.warn(
        { pool: pool.name, node: node.id },
        `${draining ? 'drain' : 'enable'} applied on this instance; the store is unreachable, it is sent when it returns`,
      );
    return scope;
  }
}
