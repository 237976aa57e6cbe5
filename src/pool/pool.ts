import http from 'node:http';
import https from 'node:https';
import type { PoolSettings } from '../config/types.ts';
import { PoolHedging } from '../hedge/pool-hedging.ts';
import type { Policy, PoolView } from '../policy/types.ts';
import type { ActiveState } from '../state/types.ts';
import type { Clock } from '../util/clock.ts';
import type { UpstreamNode } from './upstream-node.ts';

/**
 * Idle upstream connections are closed after this long: below the 5 s keep-alive timeout of
 * Node servers (and most others), so the gateway never reuses a socket the upstream is closing.
 */
export const UPSTREAM_IDLE_MS = 4000;

/**
 * The keep-alive connection pool of one pool's nodes. For `https://` nodes it carries the
 * pool's TLS settings, so requests and heartbeats (which share it) verify and present the
 * same certificates, and TLS connections are reused like plain ones.
 */
export function createAgent(settings: PoolSettings): http.Agent {
  const options = {
    keepAlive: true,
    keepAliveMsecs: 1000,
    maxFreeSockets: 256,
    timeout: UPSTREAM_IDLE_MS,
    scheduling: 'lifo' as const,
  };
  if (settings.nodes[0]?.url.protocol !== 'https:') return new http.Agent(options);
  const tls = settings.tls;
  return new https.Agent({
    ...options,
    ...(tls?.ca ? { ca: tls.ca.pem } : {}),
    ...(tls?.cert && tls.key ? { cert: tls.cert.pem, key: tls.key.pem } : {}),
    ...(tls?.servername ? { servername: tls.servername } : {}),
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
  });
}

/** Two pools can share an agent when their nodes' protocol and TLS settings are the same. */
export function agentKey(settings: PoolSettings): string {
  return JSON.stringify([settings.nodes[0]?.url.protocol, settings.tls]);
}

/**
 * A pool on this instance: its nodes, its policy instance, its connection pool, and the
 * shared active-node state for active-passive policies. It is the PoolView policies read.
 */
export class Pool implements PoolView {
  readonly name: string;
  readonly settings: PoolSettings;
  readonly nodes: readonly UpstreamNode[];
  readonly policy: Policy;
  readonly agent: http.Agent;
  readonly hedging: PoolHedging;
  /** Until when some node of the pool may be suspected of hanging (0: none): a cheap test before looking at each node. */
  suspectsUntil = 0;
  readonly #byId: Map<string, UpstreamNode>;
  #activeState: ActiveState | undefined;
  #version = 0;
  readonly #waiters = new Set<() => void>();
  readonly #clock: Clock;

  constructor(settings: PoolSettings, nodes: readonly UpstreamNode[], policy: Policy, agent: http.Agent, clock: Clock) {
    this.name = settings.name;
    this.settings = settings;
    this.nodes = nodes;
    this.policy = policy;
    this.agent = agent;
    this.#clock = clock;
    this.hedging = new PoolHedging(settings.hedge, settings.timeouts);
    this.#byId = new Map(nodes.map((node) => [node.id, node]));
  }

  get activePassive(): boolean {
    return typeof this.policy.elect === 'function';
  }

  get active(): string | null {
    return this.activePassive ? (this.#activeState?.active ?? null) : null;
  }

  get epoch(): number | null {
    return this.activePassive ? (this.#activeState?.epoch ?? 0) : null;
  }

  get activeSince(): number | null {
    return this.activePassive ? (this.#activeState?.since ?? null) : null;
  }

  get activeFrom(): string | null {
    return this.activePassive ? (this.#activeState?.from ?? null) : null;
  }

  get flips(): number {
    return this.#activeState?.flips ?? 0;
  }

  /** An operator's forced failover stands: no automatic failback (see ActiveController). */
  get pinned(): boolean {
    return this.#activeState?.pinned ?? false;
  }

  get activeState(): ActiveState | undefined {
    return this.#activeState;
  }

  node(id: string): UpstreamNode | undefined {
    return this.#byId.get(id);
  }

  setActiveState(state: ActiveState | undefined): void {
    this.#activeState = state;
    this.changed();
  }

  get version(): number {
    return this.#version;
  }

  /** Something that can make a node usable changed: bump the version, wake waiting requests. */
  changed(): void {
    this.#version += 1;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /** Resolves at the next change, after `ms`, or when `signal` aborts, whichever is first. */
  waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        cancelTimer();
        signal?.removeEventListener('abort', done);
        this.#waiters.delete(done);
        resolve();
      };
      const cancelTimer = this.#clock.schedule(ms, done);
      signal?.addEventListener('abort', done, { once: true });
      this.#waiters.add(done);
    });
  }
}
