import type { Health } from '../policy/types.ts';
import type { ActiveState, ClusterHealth, InstanceInfo, Proposal, StateStore, StoreChange } from '../state/types.ts';
import { systemClock, type Clock } from '../util/clock.ts';
import { BatonError, type ErrorCode } from '../util/errors.ts';
import type { Channel } from './channel.ts';
import type { JoinAnswer, StoreNotice, StoreRequest } from './ipc-protocol.ts';

/** A supervisor that does not answer within this long is treated as gone. */
const ANSWER_TIMEOUT_MS = 10_000;

const key = (pool: string, node: string) => `${pool}\u0000${node}`;

/**
 * A worker's StateStore: a member of the MemoryHub the supervisor hosts (hub-host.ts). The
 * request path reads the synchronous getters, served from a cache that the join's snapshot
 * fills and the hub's change notices keep current; writes are IPC messages. Drains apply to
 * the cache at once, as the contract asks.
 */
export class IpcStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly instanceId: string;
  quorum: number | 'majority' = 1;
  readonly #channel: Channel<StoreRequest, unknown>;
  readonly #clock: Clock;
  readonly #health = new Map<string, ClusterHealth>();
  readonly #active = new Map<string, ActiveState>();
  readonly #drains = new Set<string>();
  readonly #members = new Map<string, number>();
  readonly #listeners = new Set<(change: StoreChange) => void>();
  readonly #pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  // Random start: several stores in one process (tests) share a channel's reply stream.
  #nextRid = Math.floor(Math.random() * 1e9);
  #offset = 0;
  #joined = false;
  /** Drains and enables made before joining the hub, sent when it joins. */
  readonly #pendingDrains = new Map<string, { pool: string; node: string; draining: boolean }>();
  #unsubscribe: (() => void) | undefined;

  constructor(options: { instanceId: string; channel: Channel<StoreRequest, unknown>; clock?: Clock }) {
    this.instanceId = options.instanceId;
    this.#channel = options.channel;
    this.#clock = options.clock ?? systemClock();
  }

  async start(): Promise<void> {
    this.#unsubscribe = this.#channel.onMessage((message) => this.#receive(message as StoreNotice));
    let answer: JoinAnswer;
    try {
      answer = (await this.#request((rid) => ({ kind: 'store.join', id: this.instanceId, rid }))) as JoinAnswer;
    } catch (error) {
      this.#unsubscribe();
      throw error;
    }
    this.#joined = true;
    this.quorum = answer.quorum;
    this.#offset = answer.now - this.#clock.now();
    for (const [pool, node, health] of answer.snapshot.health) this.#health.set(key(pool, node), health);
    for (const [pool, state] of answer.snapshot.active) this.#active.set(pool, state);
    for (const [pool, node] of answer.snapshot.drains) this.#drains.add(key(pool, node));
    for (const member of answer.members) this.#members.set(member.id, member.startedAt);
    for (const { pool, node, draining } of this.#pendingDrains.values()) {
      if (draining) this.#drains.add(key(pool, node));
      else this.#drains.delete(key(pool, node));
      void this.setDrain(pool, node, draining).catch(() => {});
    }
    this.#pendingDrains.clear();
  }

  /** A member of the supervisor's hub: started and not stopped. */
  get connected(): boolean {
    return this.#joined;
  }

  async stop(): Promise<void> {
    if (this.#joined) this.#channel.send({ kind: 'store.leave', id: this.instanceId });
    this.#joined = false;
    this.#unsubscribe?.();
    for (const [rid, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new BatonError('STORE_UNAVAILABLE', 'the store was stopped'));
      this.#pending.delete(rid);
    }
  }

  reportHealth(pool: string, node: string, verdict: Health, reason: string): void {
    if (this.#joined) this.#channel.send({ kind: 'store.vote', id: this.instanceId, pool, node, verdict, reason });
  }

  clusterHealth(pool: string, node: string): ClusterHealth | undefined {
    return this.#health.get(key(pool, node));
  }

  activeState(pool: string): ActiveState | undefined {
    return this.#active.get(pool);
  }

  async propose(pool: string, proposal: Proposal): Promise<ActiveState | undefined> {
    const state = (await this.#request(
      (rid) => ({ kind: 'store.propose', id: this.instanceId, rid, pool, proposal }),
      'STORE_UNCONFIRMED',
    )) as ActiveState | null;
    // The hub announced the change before it answered: the cache has it already.
    return state ?? undefined;
  }

  instances(): readonly InstanceInfo[] {
    const now = this.now();
    return [...this.#members].map(([id, startedAt]) => ({
      id,
      startedAt,
      lastSeen: now,
      self: id === this.instanceId,
    }));
  }

  async setDrain(pool: string, node: string, draining: boolean): Promise<'cluster' | 'pending'> {
    if (draining) this.#drains.add(key(pool, node));
    else this.#drains.delete(key(pool, node));
    if (!this.#joined) {
      this.#pendingDrains.set(key(pool, node), { pool, node, draining });
      return 'pending';
    }
    await this.#request((rid) => ({ kind: 'store.drain', id: this.instanceId, rid, pool, node, draining }));
    return 'cluster';
  }

  drained(pool: string, node: string): boolean {
    return this.#drains.has(key(pool, node));
  }

  now(): number {
    return this.#clock.now() + this.#offset;
  }

  setTopology(pools: ReadonlyMap<string, readonly string[]>): void {
    // The hub forgets verdicts of nodes that are no longer configured without a notice: so do we.
    for (const cached of [...this.#health.keys()]) {
      const [pool, node] = cached.split('\u0000') as [string, string];
      if (!pools.get(pool)?.includes(node)) this.#health.delete(cached);
    }
    if (this.#joined)
      this.#channel.send({
        kind: 'store.retain',
        id: this.instanceId,
        pools: [...pools].map(([pool, nodes]) => [pool, [...nodes]] as const),
      });
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #request(message: (rid: number) => StoreRequest, timeoutCode: ErrorCode = 'STORE_UNAVAILABLE'): Promise<unknown> {
    const rid = this.#nextRid++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(rid);
        reject(new BatonError(timeoutCode, `the supervisor did not answer within ${ANSWER_TIMEOUT_MS}ms`));
      }, ANSWER_TIMEOUT_MS);
      timer.unref();
      this.#pending.set(rid, { resolve, reject, timer });
      this.#channel.send(message(rid));
    });
  }

  #receive(message: StoreNotice): void {
    if (message.kind === 'store.reply') {
      const pending = this.#pending.get(message.rid);
      if (!pending) return;
      this.#pending.delete(message.rid);
      clearTimeout(pending.timer);
      if (message.error) pending.reject(new BatonError(message.error.code as ErrorCode, message.error.detail));
      else pending.resolve(message.value);
      return;
    }
    if (message.kind !== 'store.change' || message.to !== this.instanceId || !this.#joined) return;
    const change = message.change;
    switch (change.type) {
      case 'health':
        this.#health.set(key(change.pool, change.node), change.health);
        break;
      case 'active':
        this.#active.set(change.pool, change.state);
        break;
      case 'drain':
        if (change.draining) this.#drains.add(key(change.pool, change.node));
        else this.#drains.delete(key(change.pool, change.node));
        break;
      case 'instance':
        if (change.joined) this.#members.set(change.instance, this.now());
        else this.#members.delete(change.instance);
        break;
      default:
        break;
    }
    for (const listener of this.#listeners) listener(change);
  }
}
