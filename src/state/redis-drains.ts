import { split } from './cluster-cache.ts';
import { decodeDrain } from './redis-codec.ts';
import type { StoreParts } from './redis-parts.ts';
import type { DrainRecord } from './types.ts';

/**
 * Drains and enables over Redis. Each is a record versioned by the time of the operation, so
 * the latest one wins whatever order it arrives in. One made while Redis is unreachable (or
 * whose reply did not come) is applied here at once, kept, and sent again when Redis is back:
 * it applies then unless a later operation on the node was stored meanwhile.
 */
export class RedisDrains {
  readonly #parts: StoreParts;
  readonly #pending = new Map<string, DrainRecord>();
  readonly #inFlight = new Set<string>();

  constructor(parts: StoreParts) {
    this.#parts = parts;
  }

  /** An operation of this instance's not yet known to be stored ("<pool>/<node>"). */
  isOwn(key: string): boolean {
    return this.#pending.has(key) || this.#inFlight.has(key);
  }

  async set(pool: string, node: string, draining: boolean): Promise<'cluster' | 'pending'> {
    const parts = this.#parts;
    const key = `${pool}/${node}`;
    const record: DrainRecord = { draining, by: parts.options.instanceId, version: Math.round(parts.now()) };
    parts.emit(parts.cache.replaceDrain(pool, node, record));
    if (!parts.connected()) {
      this.#pending.set(key, record);
      return 'pending';
    }
    this.#inFlight.add(key);
    try {
      const reply = await parts.run('drain', [
        parts.keys.channel,
        parts.options.instanceId,
        'live',
        pool,
        node,
        draining ? '1' : '0',
        record.version,
        record.by,
      ]);
      const stored = decodeDrain(String(reply[2]));
      if (stored) parts.emit(parts.cache.replaceDrain(pool, node, stored));
      this.#pending.delete(key);
      return 'cluster';
    } catch {
      // Unknown whether it arrived: sent again with its version (so at most once) at the next beat.
      this.#pending.set(key, record);
      return 'pending';
    } finally {
      this.#inFlight.delete(key);
    }
  }

  /** Sends the operations made while Redis was unreachable. */
  async sendPending(): Promise<void> {
    if (this.#pending.size > 0) await this.replay([...this.#pending]);
  }

  /** Sends drain records Redis may lack; true if Redis took any (it had nothing as new). */
  async replay(entries: Array<[string, DrainRecord]>): Promise<boolean> {
    if (entries.length === 0) return false;
    const parts = this.#parts;
    const args: Array<string | number> = [parts.keys.channel, parts.options.instanceId, 'replay'];
    for (const [key, record] of entries)
      args.push(...split(key), record.draining ? '1' : '0', record.version, record.by);
    let reply: unknown[];
    try {
      reply = await parts.run('drain', args);
    } catch {
      return false;
    }
    let wrote = false;
    entries.forEach(([key, sent], i) => {
      if (Number(reply[1 + 2 * i]) === 1) wrote = true;
      const stored = decodeDrain(String(reply[2 + 2 * i]));
      if (stored) parts.emit(parts.cache.replaceDrain(...split(key), stored));
      if (this.#pending.get(key) === sent) this.#pending.delete(key);
    });
    return wrote;
  }
}
