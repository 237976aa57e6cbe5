import type { StateStore } from '../state/types.ts';
import type { Logger } from '../util/logger.ts';
import type { EventBus } from './bus.ts';
import type { GatewayEvent } from './types.ts';

/**
 * Writes every gateway event to the log, each transition once. An instance alone in its
 * cluster (the memory store's usual case) hears its own local verdicts come back as the
 * cluster's: the same transition, which the local event already logged. It stays on the bus
 * (metrics, the timeline and /events count both scopes); only the log line is not repeated.
 */
export function logEvents(bus: EventBus, log: Logger, store: Pick<StateStore, 'instances'>): () => void {
  /** The last local transition logged per node ("pool\0node" → "from>to"), until its echo comes. */
  const localTransitions = new Map<string, string>();
  return bus.subscribe((event) => {
    if (event.type === 'health' && echoes(event)) return;
    log.info({ event }, `${event.type}: ${event.reason}`);
  });

  function echoes(event: GatewayEvent): boolean {
    const key = `${event.pool}\u0000${event.node}`;
    const transition = `${event.from}>${event.to}`;
    if (event.scope === 'local') {
      localTransitions.set(key, transition);
      return false;
    }
    if (localTransitions.get(key) !== transition || store.instances().length > 1) return false;
    localTransitions.delete(key);
    return true;
  }
}
