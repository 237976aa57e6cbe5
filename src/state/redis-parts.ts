import type { ClusterCache } from './cluster-cache.ts';
import type { ScriptName } from './redis-connection.ts';
import type { ClusterKeys } from './redis-keys.ts';
import type { RedisStoreOptions } from './redis-store.ts';
import type { StoreChange } from './types.ts';

/** What the parts of the Redis store (redis-active.ts, redis-drains.ts) share with it. */
export interface StoreParts {
  readonly options: RedisStoreOptions;
  readonly keys: ClusterKeys;
  readonly cache: ClusterCache;
  /** Redis is reachable and this instance is part of the cluster. */
  connected(): boolean;
  /** A script (its reply's mark checked); rejects when Redis does not answer. */
  run(name: ScriptName, args: ReadonlyArray<string | number>): Promise<unknown[]>;
  /** A plain HGET on the command connection (so after every script sent before it). */
  hget(key: string, field: string): Promise<string | null>;
  emit(change: StoreChange | undefined): void;
  /** Store time. */
  now(): number;
  /** Redis took a state or record this instance learned from Redis: it lost writes. */
  behind(reason: string): void;
}
