import type { ClusterCache } from './cluster-cache.ts';
import type { NoticeChange } from './redis-codec.ts';
import type { StoreChange } from './types.ts';

/**
 * What one entry of a change notice does to this instance's cache, and the changes to announce.
 * (Instances joining and leaving are the store's own list, not the cache's.)
 */
export function applyNotice(
  cache: ClusterCache,
  change: Exclude<NoticeChange, { type: 'instance' }>,
  self: string,
): Array<StoreChange | undefined> {
  switch (change.type) {
    case 'health':
      return withSuspicions([cache.applyHealth(change.pool, change.node, change.record)], self);
    case 'active':
      return [cache.applyActive(change.pool, change.state)];
    case 'drain':
      return [cache.applyDrain(change.pool, change.node, change.record)];
    case 'suspect':
      return change.by === self ? [] : [change];
  }
}

/**
 * The changes to announce, each verdict that turned down on other instances' word followed by a
 * suspicion, so this instance checks the node too. Whichever way the change arrived (a notice or
 * a snapshot read, which can win the race against the notice), the probe follows.
 */
export function withSuspicions(changes: ReadonlyArray<StoreChange | undefined>, self: string): StoreChange[] {
  const announced: StoreChange[] = [];
  for (const change of changes) {
    if (!change) continue;
    announced.push(change);
    if (change.type !== 'health' || change.previous === 'down' || change.health.verdict !== 'down') continue;
    if (change.health.downVotes.includes(self)) continue;
    announced.push({ type: 'suspect', pool: change.pool, node: change.node, by: change.health.downVotes[0] ?? '' });
  }
  return announced;
}
