import type { ClusterCache } from './cluster-cache.ts';
import type { NoticeChange } from './redis-codec.ts';
import type { StoreChange } from './types.ts';

/**
 * What one entry of a change notice does to this instance's cache, and the changes to announce.
 * (Instances joining and leaving are the store's own list, not the cache's.)
 */
export function applyNotice(cache: ClusterCache, change: Exclude<NoticeChange, { type: 'instance' }>, self: string): Array<StoreChange | undefined> {
  switch (change.type) {
    case 'health': {
      const applied = cache.applyHealth(change.pool, change.node, change.record);
      // The verdict turned down on other instances' word: check the node here too.
      const turnedDown = applied?.type === 'health' && applied.previous !== 'down' && change.record.verdict === 'down';
      if (!turnedDown || change.record.down.includes(self)) return [applied];
      return [applied, { type: 'suspect', pool: change.pool, node: change.node, by: change.record.down[0] ?? '' }];
    }
    case 'active':
      return [cache.applyActive(change.pool, change.state)];
    case 'drain':
      return [cache.applyDrain(change.pool, change.node, change.record)];
    case 'suspect':
      return change.by === self ? [] : [change];
  }
}
