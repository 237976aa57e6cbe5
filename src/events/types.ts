/**
 * Gateway events: every state transition an operator may want to see (the /events stream, the
 * dashboard's feed, logs and plugins all read the same objects).
 */
export type GatewayEventType =
  | 'health' // a node's local or cluster verdict changed
  | 'breaker' // a node's circuit breaker changed state
  | 'drain' // an operator drained or enabled a node
  | 'promotion' // the active node of an active-passive pool changed (epoch rose)
  | 'store' // the state store connected, disconnected or resynchronised
  | 'instance' // another gateway instance joined or left
  | 'reload' // the configuration was reloaded (or a reload was refused)
  | 'worker'; // a worker process (workers > 1) crashed or was replaced

/**
 * Whose view an event reports: 'local' is what this instance saw by itself (its heartbeats and
 * traffic, its breaker, its store connection, its reload, its workers); 'cluster' is what the
 * shared store decided or carried (the cluster verdict, the active node, a drain, membership).
 */
export type EventScope = 'local' | 'cluster';

export interface GatewayEvent {
  readonly type: GatewayEventType;
  readonly scope: EventScope;
  /** Epoch milliseconds. */
  readonly time: number;
  /** The instance that observed (or caused) the event. */
  readonly instance: string;
  readonly pool?: string;
  readonly node?: string;
  readonly from?: string;
  readonly to?: string;
  readonly epoch?: number;
  /** For a node going down: how long since it was last seen healthy (time to detect). */
  readonly detectedAfterMs?: number;
  /** A local health event going down: true when passive detection ejected the node (for a while). */
  readonly ejected?: boolean;
  readonly reason: string;
}
