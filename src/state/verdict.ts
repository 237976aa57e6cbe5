import type { Health } from '../vocabulary.ts';

/**
 * The cluster verdict from the live instances' votes: down while at least `quorum` of them
 * report the node down; otherwise up if any reports it up; unknown when nobody has checked.
 */
export function clusterVerdict(votes: Iterable<Health>, quorum: number): Health {
  let down = 0;
  let up = 0;
  for (const vote of votes) {
    if (vote === 'down') down += 1;
    else if (vote === 'up') up += 1;
  }
  if (down >= quorum) return 'down';
  return up > 0 ? 'up' : 'unknown';
}

/** `'majority'` means more than half of the live instances. */
export function quorumSize(quorum: number | 'majority', liveInstances: number): number {
  return quorum === 'majority' ? Math.floor(Math.max(1, liveInstances) / 2) + 1 : quorum;
}
