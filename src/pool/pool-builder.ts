import { BucketRotation } from '../breaker/breaker.ts';
import type { PoolSettings } from '../config/types.ts';
import type { PoolInfo } from '../policy/types.ts';
import type { StateStore } from '../state/types.ts';
import type { Clock } from '../util/clock.ts';
import { Pool, agentKey, createAgent } from './pool.ts';
import { UpstreamNode, type NodeHooks, type NodeWiring } from './upstream-node.ts';

export interface PoolBuilderDeps {
  readonly clock: Clock;
  readonly store: StateStore;
  /** False: another worker of this machine sends the heartbeats. */
  readonly probing: boolean;
  /** What the nodes of this pool report to (health, breaker, trial slots, heartbeats). */
  readonly hooks: (pool: string) => NodeHooks;
}

/**
 * Makes a Pool from its settings: its connection pool, its nodes wired to the clock, the store's
 * time and the pool set's hooks, and a new policy instance. Given the pool it replaces (a
 * reload), it keeps the agent when TLS did not change and every node whose id and URL stayed.
 */
export class PoolBuilder {
  readonly #deps: PoolBuilderDeps;
  readonly #rotations = new Map<number, BucketRotation>();

  constructor(deps: PoolBuilderDeps) {
    this.#deps = deps;
  }

  build(settings: PoolSettings, previous: Pool | undefined): Pool {
    // A change of TLS settings needs new connections. The old agent is left to its idle
    // timeout: the requests still in flight on it finish on the connections they have.
    const agent =
      previous && agentKey(previous.settings) === agentKey(settings) ? previous.agent : createAgent(settings);
    const { clock, store } = this.#deps;
    const wiring: NodeWiring = {
      clock,
      agent,
      health: settings.health,
      passive: settings.passive,
      breaker: settings.breaker,
      rotation: this.#rotation(settings),
      storeTime: (local) => local + (store.now() - clock.now()),
      probing: this.#deps.probing,
      hooks: this.#deps.hooks(settings.name),
    };
    const nodes = settings.nodes.map((node) => {
      const kept = previous?.node(node.id);
      if (kept && kept.url.href === node.url.href) {
        kept.reconfigure(node, wiring);
        return kept;
      }
      return new UpstreamNode(node, wiring);
    });
    const info: PoolInfo = { name: settings.name, nodes: settings.nodes };
    const { definition, options } = settings.policy.ref;
    return new Pool(settings, nodes, definition.create(options, info), agent, clock);
  }

  /** The gateway stops: the breakers' bucket timers too. */
  stop(): void {
    for (const rotation of this.#rotations.values()) rotation.stop();
    this.#rotations.clear();
  }

  /** One bucket timer per breaker window length, shared by every pool that uses it. */
  #rotation(settings: PoolSettings): BucketRotation | undefined {
    if (!settings.breaker) return undefined;
    const window = settings.breaker.windowMs;
    let rotation = this.#rotations.get(window);
    if (!rotation) {
      rotation = new BucketRotation(window);
      this.#rotations.set(window, rotation);
    }
    return rotation;
  }
}
