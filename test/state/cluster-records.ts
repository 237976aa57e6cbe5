import type { Snapshot } from '../../src/state/cluster-cache.ts';
import type { HealthRecord } from '../../src/state/redis-codec.ts';
import type { ActiveState, DrainRecord } from '../../src/state/types.ts';

// The shared-state records the cluster-cache tests feed in (not a test file: ava runs *.test.ts).

export const drain = (draining: boolean, version: number, by = 'a'): DrainRecord => ({ draining, by, version });

export const health = (
  verdict: 'up' | 'down',
  version: number,
  down: string[] = [],
  since = 0,
  reason = '',
): HealthRecord => ({ verdict, since, reason, version, down });

export const active = (node: string, epoch: number, id = 'm'): ActiveState => ({
  active: node,
  epoch,
  since: 0,
  reason: '',
  by: 'a',
  id,
  from: null,
  flips: 0,
  pinned: false,
});

export const snapshot = (
  over: Partial<{
    health: Array<[string, HealthRecord]>;
    active: Array<[string, ActiveState]>;
    drains: Array<[string, DrainRecord]>;
  }>,
): Snapshot => ({
  health: new Map(over.health ?? []),
  active: new Map(over.active ?? []),
  drains: new Map(over.drains ?? []),
});
