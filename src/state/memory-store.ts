import { randomUUID } from 'node:crypto';
import type { Health } from '../policy/types.ts';
import type { Clock } from '../util/clock.ts';
import { BatonError } from '../util/errors.ts';
import { clusterVerdict, quorumSize } from './verdict.ts';
import type {
  ActiveState,
  ClusterHealth,
  DrainRecord,
  InstanceInfo,
  Proposal,
  StateStore,
  StoreChange,
} from './types.ts';

type Vote = { verdict: Health; reason: string };

/** A hub's shared state at one moment (cluster verdicts, active states, drained nodes). */
export interface HubSnapshot {
  readonly health: ReadonlyArray<readonly [pool: string, node: string, health: ClusterHealth]>;
  readonly active: ReadonlyArray<readonly [pool: string, state: ActiveState]>;
  readonly drains: ReadonlyArray<readonly [pool: string, node: string]>;
}

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
  readonly #drains = new Map<string, DrainRecord>();
  readonly quorum: number | 'majority';
  readonly #clock: Clock;

  constructor(clock: Clock, quorum: number | 'majority' = 1) {
    this.#clock = clock;
    this.quorum = quorum;
  }

  now(): number {
    return this.#clock.now();
  }

  /** Rejects a second member with the same id. */
  join(id: string, notify: (change: StoreChange) => void): void {
    if (this.#members.has(id))
      throw new BatonError(
        'DUPLICATE_INSTANCE',
        `'${id}' is already a member; give each instance its own cluster.instanceId`,
      );
    const now = this.#clock.now();
    this.#members.set(id, { info: { id, startedAt: now, lastSeen: now, self: false }, notify });
    this.#broadcast({ type: 'instance', instance: id, joined: true }, id);
    if (this.quorum === 'majority')
      for (const key of this.#votes.keys()) this.#recompute(key, 'live instances changed');
  }

  leave(id: string): void {
    if (!this.#members.delete(id)) return;
    this.#broadcast({ type: 'instance', instance: id, joined: false }, id);
    for (const [key, votes] of this.#votes)
      if (votes.delete(id) || this.quorum === 'majority') this.#recompute(key, `instance ${id} left`);
  }

  vote(instance: string, pool: string, node: string, verdict: Health, reason: string): void {
    const key = `${pool}\u0000${node}`;
    const votes = this.#votes.get(key) ?? new Map<string, Vote>();
    this.#votes.set(key, votes);
    const previous = votes.get(instance)?.verdict;
    votes.set(instance, { verdict, reason });
    if (verdict === 'down' && previous !== 'down')
      this.#broadcast({ type: 'suspect', pool, node, by: instance }, instance);
    this.#recompute(key, `${instance}: ${reason}`);
  }

  health(pool: string, node: string): ClusterHealth | undefined {
    return this.#health.get(`${pool}\u0000${node}`);
  }

  active(pool: string): ActiveState | undefined {
    return this.#active.get(pool);
  }

  propose(instance: string, pool: string, proposal: Proposal): ActiveState | undefined {
    const previous = this.#active.get(pool);
    if ((previous?.epoch ?? 0) !== proposal.expectedEpoch) return undefined;
    const state: ActiveState = {
      active: proposal.to,
      epoch: proposal.expectedEpoch + 1,
      since: this.#clock.now(),
      reason: proposal.reason,
      by: instance,
      id: randomUUID(),
      from: previous?.active ?? null,
      flips: proposal.flips ?? 0,
      pinned: proposal.pinned ?? false,
    };
    this.#active.set(pool, state);
    this.#broadcast({ type: 'active', pool, state, previous });
    return state;
  }

  /** Versioned like the Redis store's drains: the latest operation wins. */
  setDrain(instance: string, pool: string, node: string, draining: boolean): void {
    const key = `${pool}\u0000${node}`;
    const current = this.#drains.get(key);
    this.#drains.set(key, {
      draining,
      by: instance,
      version: Math.max(Math.round(this.#clock.now()), (current?.version ?? 0) + 1),
    });
    if ((current?.draining ?? false) === draining) return;
    this.#broadcast({ type: 'drain', pool, node, draining, by: instance });
  }

  drained(pool: string, node: string): boolean {
    return this.#drains.get(`${pool}\u0000${node}`)?.draining === true;
  }

  /** Everything a member caches, for a member in another process (src/workers/hub-host.ts). */
  snapshot(): HubSnapshot {
    const split = (key: string) => key.split('\u0000') as [string, string];
    return {
      health: [...this.#health].map(([key, health]) => [...split(key), health]),
      active: [...this.#active],
      drains: [...this.#drains].filter(([, record]) => record.draining).map(([key]) => split(key)),
    };
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
    const quorum = quorumSize(this.quorum, this.#members.size);
    const verdict = clusterVerdict(
      [...votes.values()].map((v) => v.verdict),
      quorum,
    );
    const previous = this.#health.get(key);
    const downVotes = [...votes]
      .filter(([, v]) => v.verdict === 'down')
      .map(([id]) => id)
      .sort();
    if (previous?.verdict === verdict && previous.downVotes.join() === downVotes.join()) return;
    const health: ClusterHealth =
      previous?.verdict === verdict
        ? { ...previous, downVotes }
        : { verdict, since: this.#clock.now(), reason, downVotes };
    this.#health.set(key, health);
    const [pool, node] = key.split('\u0000') as [string, string];
    // A change of who votes it down is announced too (previous = verdict), so /status stays current.
    this.#broadcast({ type: 'health', pool, node, health, previous: previous?.verdict ?? 'unknown' });
  }

  #broadcast(change: StoreChange, except?: string): void {
    for (const [id, member] of this.#members) if (id !== except) member.notify(change);
  }
}

/** The default store: one instance, state in memory. */
export class MemoryStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly quorum: number | 'majority';
  readonly instanceId: string;
  readonly #hub: MemoryHub;
  readonly #listeners = new Set<(change: StoreChange) => void>();
  /** Drains and enables made while not a member of the hub, sent when it joins (as Redis' are). */
  readonly #pendingDrains = new Map<string, { pool: string; node: string; draining: boolean }>();
  #joined = false;

  constructor(options: { instanceId: string; hub: MemoryHub }) {
    this.instanceId = options.instanceId;
    this.#hub = options.hub;
    this.quorum = options.hub.quorum;
  }

  async start(): Promise<void> {
    // Deliver asynchronously, as a remote store would: no listener runs inside a caller's write.
    this.#hub.join(this.instanceId, (change) => queueMicrotask(() => this.#emit(change)));
    this.#joined = true;
    for (const { pool, node, draining } of this.#pendingDrains.values())
      this.#hub.setDrain(this.instanceId, pool, node, draining);
    this.#pendingDrains.clear();
  }

  /** A member of its hub: started and not stopped. */
  get connected(): boolean {
    return this.#joined;
  }

  async stop(): Promise<void> {
    if (this.#joined) this.#hub.leave(this.instanceId);
    this.#joined = false;
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

  async propose(pool: string, proposal: Proposal): Promise<ActiveState | undefined> {
    return this.#hub.propose(this.instanceId, pool, proposal);
  }

  now(): number {
    return this.#hub.now();
  }

  instances(): readonly InstanceInfo[] {
    return this.#hub.instances(this.instanceId);
  }

  async setDrain(pool: string, node: string, draining: boolean): Promise<'cluster' | 'pending'> {
    if (!this.#joined) {
      this.#pendingDrains.set(`${pool}\u0000${node}`, { pool, node, draining });
      return 'pending';
    }
    this.#hub.setDrain(this.instanceId, pool, node, draining);
    return 'cluster';
  }

  drained(pool: string, node: string): boolean {
    if (this.#pendingDrains.size > 0) {
      const pending = this.#pendingDrains.get(`${pool}\u0000${node}`);
      if (pending) return pending.draining;
    }
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
