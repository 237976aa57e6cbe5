import type { GatewayEvent } from '../events/types.ts';
import type { LocalTransition } from '../health/node-health.ts';
import type { BreakerState } from '../policy/types.ts';
import type { StoreChange } from '../state/types.ts';

/** An event before the bus stamps it with the time and this instance's id. */
export type EventBody = Omit<GatewayEvent, 'time' | 'instance'>;

type Change<T extends StoreChange['type']> = Extract<StoreChange, { type: T }>;

/**
 * The events pools and nodes announce, and their text, in one place. `scope` says whose view
 * each reports; the `reason` text is for people (logs, the dashboard) and is never parsed.
 */

export function localHealthEvent(pool: string, node: string, transition: LocalTransition): EventBody {
  return {
    type: 'health',
    scope: 'local',
    pool,
    node,
    from: transition.from,
    to: transition.to,
    detectedAfterMs: transition.detectedAfterMs === undefined ? undefined : Math.round(transition.detectedAfterMs),
    ejected: transition.to === 'down' ? transition.ejected : undefined,
    reason: `local: ${transition.reason}`,
  };
}

export function breakerEvent(pool: string, node: string, state: BreakerState): EventBody {
  return { type: 'breaker', scope: 'local', pool, node, to: state, reason: `circuit breaker ${state}` };
}

export function clusterHealthEvent(change: Change<'health'>): EventBody {
  return {
    type: 'health',
    scope: 'cluster',
    pool: change.pool,
    node: change.node,
    from: change.previous,
    to: change.health.verdict,
    reason: `cluster: ${change.health.reason}`,
  };
}

export function promotionEvent(change: Change<'active'>): EventBody {
  return {
    type: 'promotion',
    scope: 'cluster',
    pool: change.pool,
    from: change.previous?.active ?? undefined,
    to: change.state.active ?? undefined,
    epoch: change.state.epoch,
    reason: `${change.state.by}: ${change.state.reason}`,
  };
}

export function drainEvent(change: Change<'drain'>): EventBody {
  return {
    type: 'drain',
    scope: 'cluster',
    pool: change.pool,
    node: change.node,
    to: change.draining ? 'draining' : 'enabled',
    reason: `${change.draining ? 'drained' : 'enabled'} by an operator on ${change.by}`,
  };
}

/** This instance's connection to the store: its own view, whatever the others see. */
export function connectionEvent(change: Change<'connection'>): EventBody {
  return { type: 'store', scope: 'local', reason: change.reason, to: change.connected ? 'connected' : 'disconnected' };
}

export function instanceEvent(change: Change<'instance'>): EventBody {
  return {
    type: 'instance',
    scope: 'cluster',
    reason: `instance ${change.instance} ${change.joined ? 'joined' : 'left'}`,
    to: change.instance,
  };
}
