import { randomUUID } from 'node:crypto';
import type { Health } from '../policy/types.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { ClusterCache } from './cluster-cache.ts';
import { closeConnections, connectWithin, openConnections, type Connections } from './redis-connection.ts';
import { decodeActive, decodeHealth, decodeNotice, type HealthRecord } from './redis-codec.ts';
import type { ActiveState, ClusterHealth, InstanceInfo, StateStore, StoreChange } from './types.ts';

export interface RedisStoreOptions {
  readonly instanceId: string;
  /** Keys and the channel are prefixed with `baton:<cluster>:`. */
  readonly cluster: string;
  readonly redis: string | Record<string, unknown>;
  readonly quorum: number | 'majority';
  readonly resyncIntervalMs: number;
  readonly heartbeatIntervalMs: number;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Missed heartbeats before Redis counts as lost (a paused Redis keeps its socket open). */
const STALE_AFTER_BEATS = 2.5;
/** An instance whose heartbeat is older than this many intervals no longer votes. */
const LIVE_WINDOW_BEATS = 3;

/**
 * The shared store over Redis. The truth is in Redis hashes changed only by Lua scripts;
 * pub/sub notices are hints that make every instance update its cache within milliseconds,
 * and a full snapshot is re-read on every (re)subscribe, on a sequence gap and on a timer, so
 * a lost notice costs at most one resync interval. The request path reads only the cache.
 *
 * Losing Redis: detected by heartbeat age as well as socket errors. The instance then serves
 * on its own verdicts and the last known active nodes, and may fail over on its own (a
 * provisional epoch, reconciled when Redis returns). A Redis that restarted empty is noticed by
 * its boot id; the instances then re-seed their votes and the last known active nodes.
 */
export class RedisStore implements StateStore {
  readonly kind = 'redis' as const;
  readonly instanceId: string;
  readonly #options: RedisStoreOptions;
  readonly #prefix: string;
  readonly #cache = new ClusterCache();
  readonly #listeners = new Set<(change: StoreChange) => void>();
  /** This instance's latest verdict per node: re-reported after reconnects and resets. */
  readonly #votes = new Map<string, { pool: string; node: string; verdict: Health; reason: string }>();
  /** Failovers decided while Redis was unreachable, to reconcile when it is back. */
  readonly #provisional = new Map<string, ActiveState>();
  #instances = new Map<string, InstanceInfo>();
  #connections: Connections | undefined;
  #connected = false;
  #lastBeat = 0;
  #boot: string | undefined;
  #lastSeq = 0;
  #resyncing: Promise<void> | undefined;
  #stopped = false;
  readonly #startedAt: number;
  readonly #cancels: Array<() => void> = [];

  constructor(options: RedisStoreOptions) {
    this.#options = options;
    this.instanceId = options.instanceId;
    this.#prefix = `baton:${options.cluster}:`;
    this.#startedAt = options.clock.now();
  }

  get connected(): boolean {
    return this.#connected;
  }

  async start(): Promise<void> {
    const connections = openConnections(this.#options.redis, this.#options.heartbeatIntervalMs);
    this.#connections = connections;
    connections.sub.on('message', (_channel: string, text: string) => this.#onNotice(text));
    // After every reconnect ioredis re-sends SUBSCRIBE before 'ready': a snapshot read on
    // the same connection now is ordered after the subscription, so nothing falls in between.
    connections.sub.on('ready', () => void this.#resync('subscriber (re)connected', true));
    connections.cmd.on('close', () => this.#lost('connection to Redis closed'));
    try {
      await connectWithin(connections, Math.max(2000, this.#options.heartbeatIntervalMs * 4));
      await connections.sub.subscribe(this.#channel);
      await this.#beat();
    } catch (error) {
      this.#options.log.warn({ err: error }, 'Redis not reachable at start: serving on local state until it is');
    }
    this.#every(this.#options.heartbeatIntervalMs, () => this.#beat());
    this.#every(this.#options.resyncIntervalMs, () => this.#resync('periodic resync'));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const cancel of this.#cancels) cancel();
    const connections = this.#connections;
    if (!connections) return;
    if (this.#connected) {
      await connections.scripts.leave(this.#prefix, this.instanceId, this.#liveWindow, String(this.#options.quorum)).catch(() => {});
    }
    await closeConnections(connections);
  }

  reportHealth(pool: string, node: string, verdict: Health, reason: string): void {
    this.#votes.set(`${pool}/${node}`, { pool, node, verdict, reason });
    if (this.#connected) void this.#sendVote(pool, node, verdict, reason);
  }

  clusterHealth(pool: string, node: string): ClusterHealth | undefined {
    // Without Redis the cluster verdict may be stale: nodes fall back to local verdicts.
    return this.#connected ? this.#cache.health(pool, node) : undefined;
  }

  activeState(pool: string): ActiveState | undefined {
    return this.#cache.active(pool);
  }

  async propose(pool: string, expectedEpoch: number, to: string, reason: string): Promise<ActiveState | undefined> {
    const connections = this.#connections;
    if (this.#connected && connections) {
      try {
        const [won, raw] = await connections.scripts.propose(this.#prefix, pool, expectedEpoch, to, reason, this.instanceId);
        const state = raw ? decodeActive(raw) : undefined;
        if (state) this.#emit(this.#cache.applyActive(pool, state));
        return won === 1 ? state : undefined;
      } catch (error) {
        this.#options.log.warn({ err: error, pool }, 'proposal to Redis failed; deciding locally');
      }
    }
    return this.#proposeLocally(pool, expectedEpoch, to, reason);
  }

  instances(): readonly InstanceInfo[] {
    return [...this.#instances.values()].map((info) => ({ ...info, self: info.id === this.instanceId }));
  }

  async setDrain(pool: string, node: string, draining: boolean): Promise<void> {
    this.#emit(this.#cache.applyDrain(pool, node, draining, this.instanceId));
    if (!this.#connected || !this.#connections) throw new Error('Redis unreachable: drained on this instance only');
    await this.#connections.scripts.drain(this.#prefix, pool, node, draining ? '1' : '0', this.instanceId);
  }

  drained(pool: string, node: string): boolean {
    return this.#cache.drained(pool, node);
  }

  setTopology(): void {
    // Records of nodes this instance no longer has stay in Redis: other instances may still
    // run a config with them (a reload is not atomic across a cluster), and nothing reads
    // records of nodes that are not configured.
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get #channel(): string {
    return `${this.#prefix}events`;
  }

  get #liveWindow(): number {
    return Math.round(this.#options.heartbeatIntervalMs * LIVE_WINDOW_BEATS);
  }

  /** Runs `task` every `ms` after the previous run ended; one pending timer per loop. */
  #every(ms: number, task: () => Promise<void>): void {
    const slot = this.#cancels.length;
    const loop = () => {
      if (this.#stopped) return;
      void task().finally(() => {
        if (!this.#stopped) this.#cancels[slot] = this.#options.clock.schedule(ms, loop);
      });
    };
    this.#cancels[slot] = this.#options.clock.schedule(ms, loop);
  }

  async #sendVote(pool: string, node: string, verdict: Health, reason: string): Promise<void> {
    try {
      const raw = await this.#connections!.scripts.report(
        this.#prefix, this.instanceId, pool, node, verdict, reason, String(this.#options.quorum), this.#liveWindow,
      );
      const record = raw ? decodeHealth(raw) : undefined;
      if (record) this.#emit(this.#cache.applyHealth(pool, node, record));
    } catch {
      // The heartbeat decides whether Redis is lost; the vote is re-sent when it is back.
    }
  }

  /** The instance heartbeat: liveness both ways, boot id check, reaping of dead instances. */
  async #beat(): Promise<void> {
    const connections = this.#connections;
    if (!connections || this.#stopped) return;
    try {
      const [boot] = await connections.scripts.heartbeat(
        // A fresh candidate each time: after an empty restart the new boot id must differ.
        this.#prefix, this.instanceId, this.#startedAt, this.#liveWindow, String(this.#options.quorum), randomUUID(),
      );
      this.#lastBeat = this.#options.clock.now();
      const reset = this.#boot !== undefined && boot !== this.#boot;
      this.#boot = boot;
      if (reset) await this.#recover('Redis restarted empty', true);
      else if (!this.#connected) await this.#recover('Redis reachable', false);
    } catch (error) {
      const age = this.#options.clock.now() - this.#lastBeat;
      if (age > this.#options.heartbeatIntervalMs * STALE_AFTER_BEATS) this.#lost(`no heartbeat reply for ${Math.round(age)}ms (${(error as Error).message})`);
    }
  }

  /** Back in touch: re-read everything, re-send our votes, reconcile or re-seed active nodes. */
  async #recover(reason: string, reset: boolean): Promise<void> {
    this.#connected = true;
    this.#emit({ type: 'connection', connected: true, reason });
    await this.#resync(reason, false, reset);
    const scripts = this.#connections!.scripts;
    // A local decision stands only if nobody changed the pool meanwhile (its epoch is new to
    // Redis); otherwise Redis' state is taken, even at the same epoch.
    const decidedLocally = new Set(this.#provisional.keys());
    for (const [pool, state] of reset ? this.#cache.allActive() : this.#provisional) {
      const stored = await scripts.seedActive(this.#prefix, pool, JSON.stringify(state)).catch(() => undefined);
      const winner = stored ? decodeActive(stored) : undefined;
      if (winner && decidedLocally.has(pool)) this.#emit(this.#cache.replaceActive(pool, winner));
    }
    this.#provisional.clear();
    if (reset) {
      for (const [pool, node, by] of this.#cache.drainedNodes()) await scripts.drain(this.#prefix, pool, node, '1', by).catch(() => {});
    }
    for (const vote of this.#votes.values()) await this.#sendVote(vote.pool, vote.node, vote.verdict, vote.reason);
    await this.#resync('after re-seeding');
  }

  #lost(reason: string): void {
    if (!this.#connected || this.#stopped) return;
    this.#connected = false;
    this.#emit({ type: 'connection', connected: false, reason });
  }

  #proposeLocally(pool: string, expectedEpoch: number, to: string, reason: string): ActiveState | undefined {
    const current = this.#cache.active(pool);
    if ((current?.epoch ?? 0) !== expectedEpoch) return undefined;
    const state: ActiveState = { active: to, epoch: expectedEpoch + 1, since: this.#options.clock.now(), reason: `${reason} (decided locally: Redis unreachable)`, by: this.instanceId };
    this.#provisional.set(pool, state);
    this.#emit(this.#cache.applyActive(pool, state));
    return state;
  }

  #onNotice(text: string): void {
    const notice = decodeNotice(text);
    if (!notice) return;
    switch (notice.type) {
      case 'drain':
        this.#lastSeq = Math.max(this.#lastSeq, notice.seq);
        return this.#emit(this.#cache.applyDrain(notice.pool, notice.node, notice.draining, notice.by));
      case 'health':
      case 'active':
        if (this.#lastSeq > 0 && notice.seq > this.#lastSeq + 1) void this.#resync(`missed notices ${this.#lastSeq + 1}–${notice.seq - 1}`);
        this.#lastSeq = Math.max(this.#lastSeq, notice.seq);
        return this.#emit(notice.type === 'health' ? this.#cache.applyHealth(notice.pool, notice.node, notice.record) : this.#cache.applyActive(notice.pool, notice.state));
      case 'suspect':
        if (notice.by !== this.instanceId) this.#emit(notice);
        return;
      case 'instance':
        if (notice.joined) this.#instances.set(notice.instance, { id: notice.instance, startedAt: 0, lastSeen: this.#options.clock.now(), self: false });
        else this.#instances.delete(notice.instance);
        if (notice.instance !== this.instanceId) this.#emit({ type: 'instance', instance: notice.instance, joined: notice.joined });
        return;
    }
  }

  /** Re-reads the whole state; concurrent calls share one read. */
  #resync(reason: string, viaSubscriber = false, reset = false): Promise<void> {
    if (this.#resyncing && !reset) return this.#resyncing;
    const run = this.#readSnapshot(viaSubscriber, reset).catch((error: unknown) => {
      this.#options.log.debug({ err: error, reason }, 'resync failed');
    });
    this.#resyncing = run.finally(() => (this.#resyncing = undefined));
    return this.#resyncing;
  }

  async #readSnapshot(viaSubscriber: boolean, reset: boolean): Promise<void> {
    const connections = this.#connections;
    if (!connections || this.#stopped) return;
    const client = viaSubscriber ? connections.sub : connections.cmd;
    const P = this.#prefix;
    const [health, active, instances, started, seq, drained] = await Promise.all([
      client.hgetall(`${P}health`),
      client.hgetall(`${P}active`),
      client.zrange(`${P}instances`, '0', '-1', 'WITHSCORES'),
      client.hgetall(`${P}started`),
      client.get(`${P}seq`),
      client.hgetall(`${P}drain`),
    ]);
    const records = new Map<string, HealthRecord>();
    for (const [key, raw] of Object.entries(health)) {
      const record = decodeHealth(raw);
      if (record) records.set(key, record);
    }
    const states = new Map<string, ActiveState>();
    for (const [pool, raw] of Object.entries(active)) {
      const state = decodeActive(raw);
      if (state) states.set(pool, state);
    }
    this.#lastSeq = Number(seq ?? 0);
    this.#instances = new Map();
    for (let i = 0; i < instances.length; i += 2) {
      const id = instances[i]!;
      this.#instances.set(id, { id, startedAt: Number(started[id] ?? 0), lastSeen: Number(instances[i + 1]), self: false });
    }
    for (const change of this.#cache.applySnapshot(records, states, reset)) this.#emit(change);
    // After an empty restart the drains are re-seeded from the cache instead (see #recover).
    if (!reset) for (const change of this.#cache.applyDrainSnapshot(new Map(Object.entries(drained)))) this.#emit(change);
  }

  #emit(change: StoreChange | undefined): void {
    if (!change) return;
    for (const listener of this.#listeners) listener(change);
  }
}
