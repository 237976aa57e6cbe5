import { randomUUID } from 'node:crypto';
import type { Health } from '../policy/types.ts';
import type { Clock } from '../util/clock.ts';
import { BatonError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { ClusterCache } from './cluster-cache.ts';
import { RedisActive } from './redis-active.ts';
import {
  closeConnections,
  connectWithin,
  openConnections,
  type Connections,
  type ScriptName,
} from './redis-connection.ts';
import { RedisDrains } from './redis-drains.ts';
import { HistoryWatch } from './redis-history.ts';
import { clusterKeys, type ClusterKeys } from './redis-keys.ts';
import type { StoreParts } from './redis-parts.ts';
import { RedisSync } from './redis-sync.ts';
import { RedisVotes } from './redis-votes.ts';
import type { ActiveState, ClusterHealth, InstanceInfo, Proposal, StateStore, StoreChange } from './types.ts';

export interface RedisStoreOptions {
  readonly instanceId: string;
  /** Keys and the channel are prefixed with `baton:{<cluster>}:` (see redis-keys.ts). */
  readonly cluster: string;
  readonly redis: string | Record<string, unknown>;
  readonly quorum: number | 'majority';
  readonly resyncIntervalMs: number;
  readonly heartbeatIntervalMs: number;
  /** May this instance fail over alone while Redis is declared lost (default true)? */
  readonly localFailover?: boolean;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Missed heartbeats before Redis counts as lost (a paused Redis keeps its socket open). */
const STALE_AFTER_BEATS = 2.5;
/** An instance whose heartbeat is older than this many intervals no longer votes. */
const LIVE_WINDOW_BEATS = 3;
/** Where each script's reply carries this instance's mark (redis-history.ts). */
const MARK_AT: Partial<Record<ScriptName, number>> = { report: 1, propose: 2, seedActive: 2, drain: 0 };

/**
 * The shared store over Redis. The truth is in Redis, changed only by Lua scripts; pub/sub
 * notices are hints that make every instance update its cache within milliseconds, and a full
 * snapshot is re-read on every (re)subscribe, on a sequence gap and on a timer, so a lost
 * notice costs at most one resync interval. The request path reads only the cache.
 *
 * Losing Redis: detected by heartbeat age as well as socket errors. The instance then serves
 * on its own verdicts and the last known active nodes, may fail over on its own (a provisional
 * state, reconciled when Redis returns) and keeps drains made meanwhile for later. A Redis that
 * lost writes (restarted empty or from an older snapshot, a lagging replica promoted) is noticed
 * (redis-history.ts) and re-seeded with what the instances knew; its older state is never
 * adopted. A proposal whose outcome is unknown while Redis still counts as reachable is read
 * back, never decided locally.
 */
export class RedisStore implements StateStore {
  readonly kind = 'redis' as const;
  readonly instanceId: string;
  readonly quorum: number | 'majority';
  readonly #options: RedisStoreOptions;
  readonly #keys: ClusterKeys;
  readonly #cache = new ClusterCache();
  readonly #history = new HistoryWatch();
  readonly #listeners = new Set<(change: StoreChange) => void>();
  readonly #votes: RedisVotes;
  readonly #active: RedisActive;
  readonly #drains: RedisDrains;
  readonly #sync: RedisSync;
  #connections: Connections | undefined;
  #connected = false;
  /** Why the cluster refuses this instance (another live one holds its id). */
  #refused: string | undefined;
  #recovering: Promise<void> | undefined;
  #lastBeat = 0;
  /** A heartbeat went unanswered since the last one that was: its outcome is unknown. */
  #beatUnanswered = false;
  /** Redis time minus this host's clock, from the heartbeats. */
  #offset = 0;
  #stopped = false;
  readonly #startedAt: number;
  /** Tells this process apart from another one started with the same instance id. */
  readonly #token = randomUUID();
  readonly #cancels: Array<() => void> = [];

  constructor(options: RedisStoreOptions) {
    this.#options = options;
    this.instanceId = options.instanceId;
    this.quorum = options.quorum;
    this.#keys = clusterKeys(options.cluster);
    this.#startedAt = Math.round(options.clock.now());
    const parts: StoreParts = {
      options,
      keys: this.#keys,
      cache: this.#cache,
      connected: () => this.#connected && !this.#stopped,
      run: (name, args) => this.#run(name, args),
      hget: (key, field) => this.#connections!.cmd.hget(key, field),
      emit: (change) => this.#emit(change),
      now: () => this.now(),
      behind: (reason) => void this.#rewound(reason),
    };
    this.#active = new RedisActive(parts);
    this.#drains = new RedisDrains(parts);
    // Not a live instance (its heartbeat expired): the next beat re-registers it and replays every vote.
    this.#votes = new RedisVotes(parts, this.#liveWindow, () => void this.#beat());
    this.#sync = new RedisSync({
      parts,
      active: this.#active,
      drains: this.#drains,
      readSnapshot: () => this.#connections!.run('snapshot', []),
      seeHistory: (id) => {
        const changed = this.#history.seeHistory(id) === 'changed';
        if (changed) void this.#recover('another instance found Redis behind: re-seeding it', true);
        return changed;
      },
      recovering: () => this.#recovering !== undefined,
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  async start(): Promise<void> {
    const connections = openConnections(this.#options.redis, this.#options.heartbeatIntervalMs, this.#keys);
    this.#connections = connections;
    connections.sub.on('message', (_channel: string, text: string) => this.#sync.onNotice(text));
    // After every reconnect ioredis re-sends SUBSCRIBE once 'ready'; a PING queued behind it
    // answers when the subscription is back, and the snapshot read then misses nothing.
    connections.sub.on(
      'ready',
      () =>
        void connections.sub.ping().then(
          () => this.#resync('subscriber (re)connected'),
          () => {},
        ),
    );
    connections.cmd.on('close', () => this.#lost('connection to Redis closed'));
    try {
      await connectWithin(connections, Math.max(2000, this.#options.heartbeatIntervalMs * 4));
      await connections.sub.subscribe(this.#keys.channel);
      await this.#claimId();
    } catch (error) {
      if (error instanceof BatonError) {
        this.#stopped = true;
        await closeConnections(connections);
        throw error;
      }
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
      await connections
        .run('leave', [this.#keys.channel, this.instanceId, this.#token, this.#liveWindow, String(this.quorum)])
        .catch(() => {});
    }
    await closeConnections(connections);
  }

  reportHealth(pool: string, node: string, verdict: Health, reason: string): void {
    this.#votes.report({ pool, node, verdict, reason });
  }

  clusterHealth(pool: string, node: string): ClusterHealth | undefined {
    // Without Redis the cluster verdict may be stale: nodes fall back to local verdicts.
    return this.#connected ? this.#cache.health(pool, node) : undefined;
  }

  activeState(pool: string): ActiveState | undefined {
    return this.#cache.active(pool);
  }

  now(): number {
    return this.#options.clock.now() + this.#offset;
  }

  propose(pool: string, proposal: Proposal): Promise<ActiveState | undefined> {
    return this.#active.propose(pool, proposal);
  }

  instances(): readonly InstanceInfo[] {
    return this.#sync.instances(this.instanceId);
  }

  setDrain(pool: string, node: string, draining: boolean): Promise<'cluster' | 'pending'> {
    return this.#drains.set(pool, node, draining);
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

  get #liveWindow(): number {
    return Math.round(this.#options.heartbeatIntervalMs * LIVE_WINDOW_BEATS);
  }

  /** Runs `task` every `ms` after the previous run ended; one pending timer per loop. */
  #every(ms: number, task: () => Promise<unknown>): void {
    const slot = this.#cancels.length;
    const loop = () => {
      if (this.#stopped) return;
      void task().finally(() => {
        if (!this.#stopped) this.#cancels[slot] = this.#options.clock.schedule(ms, loop);
      });
    };
    this.#cancels[slot] = this.#options.clock.schedule(ms, loop);
  }

  /** A script, with this instance's mark checked on the way back. */
  async #run(name: ScriptName, args: ReadonlyArray<string | number>): Promise<unknown[]> {
    if (!this.#connections || this.#stopped) throw new Error('store stopped');
    const reply = (await this.#connections.run(name, args)) as unknown[];
    const at = MARK_AT[name];
    if (at !== undefined && !this.#history.seeMark(Number(reply[at])))
      void this.#rewound(`its count of this instance's writes went back (${name})`);
    return reply;
  }

  /** At start: the id must not be held by another live process (a crashed predecessor's expires). */
  async #claimId(): Promise<void> {
    const clock = this.#options.clock;
    const giveUpAt = clock.now() + this.#liveWindow + 2 * this.#options.heartbeatIntervalMs;
    while ((await this.#beat()) === 'duplicate') {
      if (clock.now() >= giveUpAt) throw new BatonError('DUPLICATE_INSTANCE', this.#refused);
      await clock.sleep(this.#options.heartbeatIntervalMs);
    }
  }

  /** The instance heartbeat: liveness both ways, its id, Redis' history, reaping of dead instances. */
  async #beat(): Promise<'ok' | 'duplicate' | 'failed'> {
    if (!this.#connections || this.#stopped) return 'failed';
    const clock = this.#options.clock;
    const sent = clock.now();
    let reply: unknown[];
    try {
      const args = [
        this.#keys.channel,
        this.instanceId,
        this.#token,
        this.#startedAt,
        this.#liveWindow,
        String(this.quorum),
        randomUUID(),
      ];
      reply = (await this.#connections.run('heartbeat', args)) as unknown[];
    } catch (error) {
      // The script may still run (Redis held it: CLIENT PAUSE, a slow command) and register this
      // instance anew after it was reaped; only this lost reply would have said so.
      this.#beatUnanswered = true;
      const age = clock.now() - this.#lastBeat;
      if (age > this.#options.heartbeatIntervalMs * STALE_AFTER_BEATS && !(await this.#answersNow())) {
        this.#lost(`no heartbeat reply for ${Math.round(age)}ms (${(error as Error).message})`);
      }
      return 'failed';
    }
    const received = clock.now();
    this.#lastBeat = received;
    const [status, history, serverNow, joined, mark, holderStarted] = reply;
    this.#offset = Number(serverNow) - (sent + received) / 2;
    if (status === 'duplicate') {
      this.#refuse(
        `'${this.instanceId}' is held by a live instance started ${new Date(Number(holderStarted)).toISOString()}; give each instance its own cluster.instanceId (the default <hostname>-<pid> repeats where every process is pid 1)`,
      );
      return 'duplicate';
    }
    this.#refused = undefined;
    const seen = this.#history.seeHistory(String(history));
    const keptOurWrites = this.#history.seeMark(Number(mark));
    if (seen === 'changed')
      await this.#recover('Redis lost state (restarted empty, or found behind by an instance): re-seeding it', true);
    else if (!keptOurWrites) await this.#rewound("its count of this instance's writes went back (heartbeat)");
    else if (!this.#connected) await this.#recover('Redis reachable', false);
    else {
      // Re-registered after its heartbeat expired, or maybe by a beat whose reply was lost.
      const replay = Number(joined) === 1 || this.#beatUnanswered;
      this.#beatUnanswered = false;
      await this.#sendPending(replay);
    }
    return 'ok';
  }

  /**
   * Before declaring Redis lost: does it answer a PING sent now? A process that was itself
   * stalled (a starved host, a long GC pause) sees its heartbeat time out although Redis
   * answered in time; the reply was waiting in the socket while the timeout ran first.
   */
  async #answersNow(): Promise<boolean> {
    try {
      await this.#connections!.cmd.ping();
      return true;
    } catch {
      return false;
    }
  }

  #refuse(detail: string): void {
    if (this.#refused === undefined)
      this.#options.log.error({ instance: this.instanceId }, `refused by the cluster: ${detail}`);
    this.#refused = detail;
    if (!this.#connected) return;
    this.#connected = false;
    this.#emit({ type: 'connection', connected: false, reason: `refused: ${detail}` });
  }

  #lost(reason: string): void {
    if (!this.#connected || this.#stopped) return;
    this.#connected = false;
    this.#emit({ type: 'connection', connected: false, reason });
  }

  /** Redis is behind what this instance knew: renew its history id, so every instance re-seeds it. */
  async #rewound(reason: string): Promise<void> {
    if (this.#recovering || !this.#connections || this.#stopped) return;
    this.#options.log.warn({ reason }, 'Redis lost writes: re-seeding it with what the instances know');
    try {
      this.#history.seeHistory(
        String(await this.#connections.run('renewHistory', [this.#history.history ?? '', randomUUID()])),
      );
    } catch {
      return; // the next beat or resync finds it again
    }
    await this.#recover(`Redis went back in time (${reason}): re-seeding it`, true);
  }

  /** Back in touch: re-read everything, then give Redis what it lacks (reconciled, never adopted lower). */
  #recover(reason: string, reset: boolean): Promise<void> {
    const run = async () => {
      const was = this.#connected;
      this.#connected = true;
      if (!was || reset) this.#emit({ type: 'connection', connected: true, reason });
      if (reset) this.#cache.markStale();
      await this.#resync(reason);
      await this.#sendPending(true);
      await this.#resync('after re-seeding');
    };
    const next: Promise<void> = (this.#recovering ?? Promise.resolve())
      .then(run)
      .catch((error: unknown) =>
        this.#options.log.warn({ err: error }, 'recovery from a Redis outage failed; retrying at the next heartbeat'),
      )
      .finally(() => {
        if (this.#recovering === next) this.#recovering = undefined;
      });
    this.#recovering = next;
    return next;
  }

  /** Drains made while Redis was unreachable, local failovers, and votes not yet stored. */
  async #sendPending(replayVotes: boolean): Promise<void> {
    await this.#drains.sendPending();
    await this.#active.reconcile();
    await this.#votes.flush(replayVotes);
  }

  #resync(reason: string): Promise<void> {
    if (!this.#connections || this.#stopped) return Promise.resolve();
    return this.#sync.resync(reason);
  }

  #emit(change: StoreChange | undefined): void {
    if (!change) return;
    // The cache has the change now; listeners hear it after the caller's write (as from the
    // memory store): none runs inside a setDrain or a propose.
    queueMicrotask(() => this.#deliver(change));
  }

  #deliver(change: StoreChange): void {
    for (const listener of this.#listeners) listener(change);
    // Two states of one epoch (Redis lost writes, or instances decided alone): this one ranked
    // first, but both were used. Seeding the other heals the tie with a new epoch for all.
    if (change.type !== 'active' || !change.previous?.active || change.previous.epoch !== change.state.epoch) return;
    if (this.#connected) void this.#active.seed(change.pool, change.previous);
  }
}
