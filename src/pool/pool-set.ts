import type { PoolSettings } from '../config/types.ts';
import type { EventBus } from '../events/bus.ts';
import type { GatewayEvent } from '../events/types.ts';
import type { LocalTransition } from '../health/node-health.ts';
import { BucketRotation } from '../breaker/breaker.ts';
import type { BreakerState, PoolInfo } from '../policy/types.ts';
import type { StateStore, StoreChange } from '../state/types.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { ActiveController } from './active-controller.ts';
import { Pool, createAgent } from './pool.ts';
import { UpstreamNode } from './upstream-node.ts';

export interface PoolSetDeps {
  readonly clock: Clock;
  readonly store: StateStore;
  readonly bus: EventBus;
  readonly log: Logger;
  /** Cold standby activation, from the plugins' `activate` hooks. */
  readonly activate: (pool: PoolInfo, node: UpstreamNode) => Promise<void>;
}

/**
 * All pools of one gateway and the wiring between them and the outside: local health changes
 * go to the store and the event bus; the store's changes (cluster verdicts, active nodes,
 * suspicions from other instances) come back into the nodes and pools.
 */
export class PoolSet {
  readonly #deps: PoolSetDeps;
  readonly #pools = new Map<string, Pool>();
  readonly #rotations = new Map<string, BucketRotation>();
  /** Highest epoch announced as a promotion event, per pool. */
  readonly #announced = new Map<string, number>();
  readonly controller: ActiveController;
  #unsubscribe: (() => void) | undefined;
  #started = false;

  constructor(deps: PoolSetDeps) {
    this.#deps = deps;
    this.controller = new ActiveController({
      store: deps.store,
      clock: deps.clock,
      log: deps.log,
      activate: (pool, node) => deps.activate(pool, node),
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
    for (const pool of settings.values()) this.#pools.set(pool.name, this.#createPool(pool));
    this.#deps.store.setTopology(new Map(this.all().map((pool) => [pool.name, pool.nodes.map((node) => node.id)])));
  }

  start(): void {
    this.#started = true;
    this.#unsubscribe = this.#deps.store.onChange((change) => this.#onStoreChange(change));
    for (const pool of this.#pools.values()) this.#startPool(pool);
  }

  stop(): void {
    this.#started = false;
    this.#unsubscribe?.();
    this.controller.stop();
    for (const pool of this.#pools.values()) this.#disposePool(pool);
    this.#pools.clear();
    for (const rotation of this.#rotations.values()) rotation.stop();
    this.#rotations.clear();
  }

  #createPool(settings: PoolSettings): Pool {
    const agent = createAgent(settings.nodes[0]?.url.protocol ?? 'http:');
    let rotation: BucketRotation | undefined;
    if (settings.breaker) {
      rotation = new BucketRotation(settings.breaker.windowMs);
      this.#rotations.get(settings.name)?.stop();
      this.#rotations.set(settings.name, rotation);
    }
    const nodes = settings.nodes.map(
      (node) =>
        new UpstreamNode(node, {
          clock: this.#deps.clock,
          agent,
          health: settings.health,
          passive: settings.passive,
          breaker: settings.breaker,
          rotation,
          hooks: {
            onLocalHealth: (n, t) => this.#onLocalHealth(settings.name, n, t),
            onBreaker: (n, s) => this.#onBreaker(settings.name, n, s),
            onTrialSlotFree: () => this.#pools.get(settings.name)?.changed(),
          },
        }),
    );
    const info: PoolInfo = { name: settings.name, nodes: settings.nodes };
    const { definition, options } = settings.policy.ref;
    return new Pool(settings, nodes, definition.create(options, info), agent);
  }

  #startPool(pool: Pool): void {
    const state = this.#deps.store.activeState(pool.name);
    pool.setActiveState(state);
    this.#announced.set(pool.name, state?.epoch ?? 0);
    for (const node of pool.nodes) {
      node.setClusterHealth(this.#deps.store.clusterHealth(pool.name, node.id));
      node.draining = this.#deps.store.drained(pool.name, node.id);
      node.start();
    }
    this.controller.evaluate(pool);
  }

  #disposePool(pool: Pool): void {
    for (const node of pool.nodes) node.dispose();
    pool.policy.dispose?.();
    pool.agent.destroy();
    pool.changed();
  }

  #emit(event: Omit<GatewayEvent, 'time' | 'instance'>): void {
    this.#deps.bus.emit({ time: Date.now(), instance: this.#deps.store.instanceId, ...event });
  }

  #onLocalHealth(poolName: string, node: UpstreamNode, transition: LocalTransition): void {
    this.#emit({
      type: 'health',
      pool: poolName,
      node: node.id,
      from: transition.from,
      to: transition.to,
      detectedAfterMs: transition.detectedAfterMs === undefined ? undefined : Math.round(transition.detectedAfterMs),
      reason: `local: ${transition.reason}`,
    });
    this.#deps.store.reportHealth(poolName, node.id, transition.to, transition.reason);
    this.#changed(poolName);
  }

  #onBreaker(poolName: string, node: UpstreamNode, state: BreakerState): void {
    this.#emit({ type: 'breaker', pool: poolName, node: node.id, to: state, reason: `circuit breaker ${state}` });
    this.#changed(poolName);
  }

  #changed(poolName: string): void {
    const pool = this.#pools.get(poolName);
    if (!pool) return;
    pool.changed();
    this.controller.evaluate(pool);
  }

  #onStoreChange(change: StoreChange): void {
    if (!this.#started) return;
    switch (change.type) {
      case 'health': {
        const node = this.#pools.get(change.pool)?.node(change.node);
        if (!node) return;
        node.setClusterHealth(change.health);
        this.#emit({ type: 'health', pool: change.pool, node: change.node, from: change.previous, to: change.health.verdict, reason: `cluster: ${change.health.reason}` });
        return this.#changed(change.pool);
      }
      case 'active': {
        const pool = this.#pools.get(change.pool);
        if (!pool) return;
        if ((pool.activeState?.epoch ?? 0) <= change.state.epoch) pool.setActiveState(change.state);
        // The winner applied its own change already, so announce by epoch, once per epoch.
        if ((this.#announced.get(change.pool) ?? 0) < change.state.epoch) {
          this.#announced.set(change.pool, change.state.epoch);
          this.#emit({ type: 'promotion', pool: change.pool, from: change.previous?.active ?? undefined, to: change.state.active ?? undefined, epoch: change.state.epoch, reason: `${change.state.by}: ${change.state.reason}` });
        }
        return this.#changed(change.pool);
      }
      case 'suspect':
        return this.#pools.get(change.pool)?.node(change.node)?.probeNow();
      case 'drain': {
        const node = this.#pools.get(change.pool)?.node(change.node);
        if (!node) return;
        node.draining = change.draining;
        this.#emit({ type: 'drain', pool: change.pool, node: change.node, to: change.draining ? 'draining' : 'enabled', reason: `${change.draining ? 'drained' : 'enabled'} by an operator on ${change.by}` });
        return this.#changed(change.pool);
      }
      case 'connection':
        this.#emit({ type: 'store', reason: change.reason, to: change.connected ? 'connected' : 'disconnected' });
        return this.#refreshFromStore();
      case 'instance':
        return this.#emit({ type: 'instance', reason: `instance ${change.instance} ${change.joined ? 'joined' : 'left'}`, to: change.instance });
    }
  }

  /** Drains or enables a node on every instance (through the store; locally if it is unreachable). */
  async setDrain(pool: Pool, node: UpstreamNode, draining: boolean): Promise<'cluster' | 'local'> {
    node.draining = draining;
    this.#changed(pool.name);
    try {
      await this.#deps.store.setDrain(pool.name, node.id, draining);
      return 'cluster';
    } catch (error) {
      this.#deps.log.warn({ err: error, pool: pool.name, node: node.id }, 'drain applied on this instance only');
      return 'local';
    }
  }

  /** After a (re)connection or the loss of the store: take what the store's cache says now. */
  #refreshFromStore(): void {
    for (const pool of this.#pools.values()) {
      for (const node of pool.nodes) node.setClusterHealth(this.#deps.store.clusterHealth(pool.name, node.id));
      const state = this.#deps.store.activeState(pool.name);
      if (state) pool.setActiveState(state);
      this.#changed(pool.name);
    }
  }
}
