import type { GatewaySettings } from '../config/types.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { MemoryHub, MemoryStore } from './memory-store.ts';
import { RedisStore } from './redis-store.ts';
import type { StateStore } from './types.ts';

/** The store the cluster settings ask for: in memory without `redis`, shared through Redis with it. */
export function createStore(cluster: GatewaySettings['cluster'], deps: { clock: Clock; log: Logger }): StateStore {
  if (cluster.redis !== undefined) {
    return new RedisStore({
      instanceId: cluster.instanceId,
      cluster: cluster.name,
      redis: cluster.redis,
      quorum: cluster.quorum,
      resyncIntervalMs: cluster.resyncIntervalMs,
      heartbeatIntervalMs: cluster.heartbeatIntervalMs,
      localFailover: cluster.localFailover,
      clock: deps.clock,
      log: deps.log,
    });
  }
  return new MemoryStore({ instanceId: cluster.instanceId, hub: new MemoryHub(deps.clock, cluster.quorum) });
}
