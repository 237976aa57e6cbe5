import { decodeNotice } from './redis-codec.ts';
import type { RedisActive } from './redis-active.ts';
import type { RedisDrains } from './redis-drains.ts';
import { applyNotice, withSuspicions } from './redis-notices.ts';
import type { StoreParts } from './redis-parts.ts';
import { restoreWhatRedisLacks } from './redis-restore.ts';
import { decodeSnapshot, type StoreSnapshot } from './redis-snapshot.ts';
import type { InstanceInfo } from './types.ts';

export interface SyncDeps {
  readonly parts: StoreParts;
  readonly active: RedisActive;
  readonly drains: RedisDrains;
  /** The snapshot script's reply. */
  readonly readSnapshot: () => Promise<unknown>;
  /** A history id read from Redis; true if it changed (Redis lost state: the store re-seeds it). */
  readonly seeHistory: (id: string) => boolean;
  /** A recovery is under way: Redis being behind is expected, not news. */
  readonly recovering: () => boolean;
}

/**
 * Keeping the cache in step with Redis: change notices as they come (a gap in their sequence
 * numbers triggers a resync), and full snapshots on (re)subscribe, on a timer and on request,
 * after each of which Redis is given what it lacks (redis-restore.ts).
 */
export class RedisSync {
  readonly #deps: SyncDeps;
  #instances = new Map<string, InstanceInfo>();
  #lastSeq = 0;
  #resyncing: Promise<void> | undefined;
  /** Health records a snapshot had older than ours (key → our version then), to look at again. */
  #suspects = new Map<string, number>();

  constructor(deps: SyncDeps) {
    this.#deps = deps;
  }

  instances(self: string): InstanceInfo[] {
    return [...this.#instances.values()].map((info) => ({ ...info, self: info.id === self }));
  }

  onNotice(text: string): void {
    const { parts } = this.#deps;
    const notice = decodeNotice(text);
    if (!notice) return;
    if (this.#lastSeq > 0 && notice.seq > this.#lastSeq + 1)
      void this.resync(`missed notices ${this.#lastSeq + 1}–${notice.seq - 1}`);
    this.#lastSeq = Math.max(this.#lastSeq, notice.seq);
    const self = parts.options.instanceId;
    for (const change of notice.changes) {
      if (change.type !== 'instance') {
        for (const announced of applyNotice(parts.cache, change, self)) parts.emit(announced);
        continue;
      }
      if (change.joined)
        this.#instances.set(change.instance, { id: change.instance, startedAt: 0, lastSeen: parts.now(), self: false });
      else this.#instances.delete(change.instance);
      if (change.instance !== self) parts.emit({ type: 'instance', instance: change.instance, joined: change.joined });
    }
  }

  /** Re-reads the whole state and restores what Redis lacks; concurrent calls share one read. */
  resync(reason: string): Promise<void> {
    this.#resyncing ??= this.#read()
      .catch((error: unknown) => this.#deps.parts.options.log.debug({ err: error, reason }, 'resync failed'))
      .finally(() => (this.#resyncing = undefined));
    return this.#resyncing;
  }

  async #read(): Promise<void> {
    const { parts } = this.#deps;
    const snapshot = decodeSnapshot(await this.#deps.readSnapshot());
    this.#deps.seeHistory(snapshot.history);
    this.#lastSeq = snapshot.seq;
    this.#instances = new Map(snapshot.instances.map((info) => [info.id, info]));
    const { changes, behind } = parts.cache.applySnapshot(snapshot);
    for (const change of withSuspicions(changes, parts.options.instanceId)) parts.emit(change);
    // Only an instance that is part of the cluster writes; the recovery restores the rest.
    if (!parts.connected()) return;
    // Outside a recovery, Redis being behind is news.
    const watching = !this.#deps.recovering();
    const lost = await this.#restore(snapshot, behind);
    // Looked at again at the next resync: any later read must have them at least as new. (Not
    // sooner: during a burst of votes most snapshots race some notice.)
    this.#suspects = watching ? behind.health : new Map();
    if (lost && watching) parts.behind(lost);
  }

  #restore(snapshot: StoreSnapshot, behind: Parameters<typeof restoreWhatRedisLacks>[1]): Promise<string | undefined> {
    const { parts, active, drains } = this.#deps;
    return restoreWhatRedisLacks(snapshot, behind, {
      cache: parts.cache,
      pending: (key) => drains.isOwn(key),
      provisional: (pool) => active.isProvisional(pool),
      seed: (pool, state) => active.seed(pool, state),
      replayDrains: (entries) => drains.replay(entries),
      suspects: this.#suspects,
    });
  }
}
