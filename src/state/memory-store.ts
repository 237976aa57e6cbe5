import type { Health } from '../policy/types.ts';
import type { Clock } from '../util/clock.ts';
import { clusterVerdict, quorumSize } from './verdict.ts';
import type { ActiveState, ClusterHealth, InstanceInfo, StateStore, StoreChange } from './types.ts';

type Vote = { verdict: Health; reason: string };

/**
 * The state of one "cluster" held in memory. One gateway uses a hub of its own (the default
 * store). Several gateways in one process may share a hub, which tests use to simulate a
 * cluster without Redis.
 */
export class MemoryHub {
  readonly #votes = new Map<string, Map<string, Vote>>();
  readonly #health = new Map<string, ClusterHealth>();
  readonly #active = new Map<string, ActiveState>();
  readonly #members = new Map<string, { info: InstanceInfo; notify: (change: StoreChange) => void }>();
  readonly #drained = new Set<string>();
  readonly #quorum: number | 'majority';
  readonly #clock: Clock;

  constructor(clock: Clock, quorum: number | 'majority' = 1) {
    this.#clock = clock;
    this.#quorum = quorum;
  }

  join(id: string, notify: (change: StoreChange) => void): void {
    const now = this.#clock.now();
    this.#members.set(id, { info: { id, startedAt: now, lastSeen: now, self: false }, notify });
    this.#broadcast({ type: 'instance', instance: id, joined: true }, id);
  }

  leave(id: string): void {
    if (!this.#members.delete(id)) return;
    this.#broadcast({ type: 'instance', instance: id, joined: false }, id);
    for (const [key, votes] of this.#votes) if (votes.delete(id)) this.#recompute(key, `instance ${id} left`);
  }

  vote(instance: string, pool: string, node: string, verdict: Health, reason: string): void {
    const key = `${pool}\u0000${node}`;
    const votes = this.#votes.get(key) ?? new Map<string, Vote>();
    this.#votes.set(key, votes);
    const previous = votes.get(instance)?.verdict;
    votes.set(instance, { verdict, reason });
    if (verdict === 'down' && previous !== 'down') this.#broadcast({ type: 'suspect', pool, node, by: instance }, instance);
    this.#recompute(key, `${instance}: ${reason}`);
  }

  health(pool: string, node: string): ClusterHealth | undefined {
    return this.#health.get(`${pool}\u0000${node}`);
  }

  active(pool: string): ActiveState | undefined {
    return this.#active.get(pool);
  }

  propose(instance: string, pool: string, expectedEpoch: number, to: string, reason: string): ActiveState | undefined {
    const previous = this.#active.get(pool);
    if ((previous?.epoch ?? 0) !== expectedEpoch) return undefined;
    const state: ActiveState = { active: to, epoch: expectedEpoch + 1, since: this.#clock.now(), reason, by: instance };
    this.#active.set(pool, state);
    this.#broadcast({ type: 'active', pool, state, previous });
    return state;
  }

  setDrain(instance: string, pool: string, node: string, draining: boolean): void {
    const key = `${pool}\u0000${node}`;
    if (this.#drained.has(key) === draining) return;
    if (draining) this.#drained.add(key);
    else this.#drained.delete(key);
    this.#broadcast({ type: 'drain', pool, node, draining, by: instance });
  }

  drained(pool: string, node: string): boolean {
    return this.#drained.has(`${pool}\u0000${node}`);
  }

  instances(self: string): InstanceInfo[] {
    const now = this.#clock.now();
    return [...this.#members.values()].map(({ info }) => ({ ...info, lastSeen: now, self: info.id === self }));
  }

  /** Drops votes and state for nodes that are no longer configured. */
  retain(pools: ReadonlyMap<string, readonly string[]>): void {
    for (const key of [...this.#votes.keys()]) {
      const [pool, node] = key.split('\u0000') as [string, string];
      if (!pools.get(pool)?.includes(node)) {
        this.#votes.delete(key);
        this.#health.delete(key);
      }
    }
  }

  #recompute(key: string, reason: string): void {
    const votes = this.#votes.get(key);
    if (!votes) return;
    const quorum = quorumSize(this.#quorum, this.#members.size);
    const verdict = clusterVerdict([...votes.values()].map((v) => v.verdict), quorum);
    const previous = this.#health.get(key);
    const downVotes = [...votes].filter(([, v]) => v.verdict === 'down').map(([id]) => id);
    if (previous?.verdict === verdict) {
      this.#health.set(key, { ...previous, downVotes });
      return;
    }
    const health: ClusterHealth = { verdict, since: this.#clock.now(), reason, downVotes };
    this.#health.set(key, health);
    const [pool, node] = key.split('\u0000') as [string, string];
    this.#broadcast({ type: 'health', pool, node, health, previous: previous?.verdict ?? 'unknown' });
  }

  #broadcast(change: StoreChange, except?: string): void {
    for (const [id, member] of this.#members) if (id !== except) member.notify(change);
  }
}

/** The default store: one instance, state in memory. */
export class MemoryStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly connected = true;
  readonly instanceId: string;
  readonly #hub: MemoryHub;
  readonly #listeners = new Set<(change: StoreChange) => void>();

  constructor(options: { instanceId: string; hub: MemoryHub }) {
    this.instanceId = options.instanceId;
    this.#hub = options.hub;
  }

  async start(): Promise<void> {
    // Deliver asynchronously, as a remote store would: no listener runs inside a caller's write.
    this.#hub.join(this.instanceId, (change) => queueMicrotask(() => this.#emit(change)));
  }

  async stop(): Promise<void> {
    this.#hub.leave(this.instanceId);
  }

  reportHealth(pool: string, node: string, verdict: Health, reason: string): void {
    this.#hub.vote(this.instanceId, pool, node, verdict, reason);
  }

  clusterHealth(pool: string, node: string): ClusterHealth | undefined {
    return this.#hub.health(pool, node);
  }

  activeState(pool: string): ActiveState | undefined {
    return this.#hub.active(pool);
  }

  async propose(pool: string, expectedEpoch: number, to: string, reason: string): Promise<ActiveState | undefined> {
    return this.#hub.propose(this.instanceId, pool, expectedEpoch, to, reason);
  }

  instances(): readonly InstanceInfo[] {
    return this.#hub.instances(this.instanceId);
  }

  async setDrain(pool: string, node: string, draining: boolean): Promise<void> {
    this.#hub.setDrain(this.instanceId, pool, node, draining);
  }

  drained(pool: string, node: string): boolean {
    return this.#hub.drained(pool, node);
  }

  setTopology(pools: ReadonlyMap<string, readonly string[]>): void {
    this.#hub.retain(pools);
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(change: StoreChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}
