import type { Behind, ClusterCache, Snapshot } from './cluster-cache.ts';
import type { ActiveState, DrainRecord } from './types.ts';

export interface RestoreDeps {
  readonly cache: ClusterCache;
  /** A drain of this instance's own on its way to Redis (not evidence of anything). */
  readonly pending: (key: string) => boolean;
  /** A failover this instance decided alone while Redis was unreachable. */
  readonly provisional: (pool: string) => boolean;
  /** The seed script's outcome: 'kept', 'restored' (Redis was behind) or 'healed'. */
  readonly seed: (pool: string, state: ActiveState) => Promise<string | undefined>;
  /** True if Redis took any of the records (it had nothing as new). */
  readonly replayDrains: (entries: Array<[string, DrainRecord]>) => Promise<boolean>;
  /** Health records the previous snapshot had older than this instance: key → our version then. */
  readonly suspects: ReadonlyMap<string, number>;
}

/**
 * After a snapshot: gives Redis what this instance knows and Redis does not (active states,
 * drains), through scripts that keep whichever is newer, so the older state is never adopted.
 * Returns why Redis must have lost writes, if it did. A snapshot can be older than a notice
 * that arrived first, so it is the scripts (which run after that notice's write) that tell:
 * Redis taking a state or drain this instance learned from Redis proves Redis lost it; a
 * health record still older than ours one snapshot later proves the same.
 */
export async function restoreWhatRedisLacks(
  snapshot: Snapshot,
  behind: Behind,
  deps: RestoreDeps,
): Promise<string | undefined> {
  let lost: string | undefined;
  for (const pool of behind.active) {
    const state = deps.cache.active(pool);
    if (!state?.active) continue;
    const provisional = deps.provisional(pool);
    const outcome = await deps.seed(pool, state);
    if (outcome === 'restored' && !provisional)
      lost ??= `it had an older active state for pool ${pool} than epoch ${state.epoch}`;
  }
  const drains: Array<[string, DrainRecord]> = [];
  for (const key of behind.drains) {
    const record = deps.cache.drainRecord(key);
    if (record && !deps.pending(key)) drains.push([key, record]);
  }
  if (await deps.replayDrains(drains)) lost ??= 'it lacked a drain record it had published';
  for (const [key, version] of deps.suspects) {
    if ((snapshot.health.get(key)?.version ?? 0) < version)
      lost ??= `its record of ${key} went back to an older version`;
  }
  return lost;
}
