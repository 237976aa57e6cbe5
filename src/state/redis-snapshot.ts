import type { Snapshot } from './cluster-cache.ts';
import { decodeActive, decodeDrain, decodeHealth, type HealthRecord } from './redis-codec.ts';
import type { ActiveState, DrainRecord, InstanceInfo } from './types.ts';

/** The snapshot script's reply, decoded (malformed entries are skipped). */
export interface StoreSnapshot extends Snapshot {
  readonly history: string;
  readonly seq: number;
  readonly instances: InstanceInfo[];
  /** Redis time when it was read. */
  readonly now: number;
}

type Reply = [string, string, string[], string[], string[], string[], string[], number];

function pairs(flat: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

function decodeAll<T>(flat: readonly string[], decode: (text: string) => T | undefined): Map<string, T> {
  const out = new Map<string, T>();
  for (const [key, raw] of pairs(flat)) {
    const value = decode(raw);
    if (value !== undefined) out.set(key, value);
  }
  return out;
}

export function decodeSnapshot(reply: unknown): StoreSnapshot {
  const [history, seq, health, active, instances, started, drain, now] = reply as Reply;
  const startedAt = new Map(pairs(started));
  return {
    history,
    seq: Number(seq),
    health: decodeAll<HealthRecord>(health, decodeHealth),
    active: decodeAll<ActiveState>(active, decodeActive),
    drains: decodeAll<DrainRecord>(drain, decodeDrain),
    instances: pairs(instances).map(([id, seen]) => ({
      id,
      startedAt: Number(startedAt.get(id) ?? 0),
      lastSeen: Number(seen),
      self: false,
    })),
    now: Number(now),
  };
}
