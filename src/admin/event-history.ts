import type { GatewayEvent, GatewayEventType } from '../events/types.ts';

/** A gateway event with its sequence number on this instance's bus (the SSE event id). */
export interface HistoryEvent extends GatewayEvent {
  readonly seq: number;
}

/** How long events are kept: the failover timeline's longest window. */
export const HISTORY_MS = 15 * 60_000;
/** Per pool. A flapping node can emit many events; the oldest go first. */
const DEFAULT_CAPACITY = 2000;
/** The events the timeline draws: every change of a node's state or of the active node. */
const kept = new Set<GatewayEventType>(['health', 'breaker', 'drain', 'promotion']);

/**
 * The last 15 minutes of each pool's events, bounded in count, for the failover timeline (the
 * event bus itself keeps only the last 200 events of all kinds, for the live feed).
 */
export class EventHistory {
  readonly #pools = new Map<string, HistoryEvent[]>();
  /** Per pool: events at or before this time were dropped for room, not age. */
  readonly #lostUntil = new Map<string, number>();
  readonly #capacity: number;
  readonly startedAt: number;

  constructor(startedAt: number, capacity = DEFAULT_CAPACITY) {
    this.startedAt = startedAt;
    this.#capacity = capacity;
  }

  add(event: GatewayEvent, seq: number): void {
    if (event.pool === undefined || !kept.has(event.type)) return;
    let events = this.#pools.get(event.pool);
    if (!events) {
      this.#forgetIdlePools(event.time);
      events = [];
      this.#pools.set(event.pool, events);
    }
    events.push({ ...event, seq });
    const oldest = event.time - HISTORY_MS;
    let drop = 0;
    while (drop < events.length && events[drop]!.time < oldest) drop += 1;
    const over = events.length - drop - this.#capacity;
    if (over > 0) {
      drop += over;
      this.#lostUntil.set(event.pool, events[drop - 1]!.time);
    }
    if (drop > 0) events.splice(0, drop);
  }

  /** The pool's kept events, oldest first. */
  events(pool: string): readonly HistoryEvent[] {
    return this.#pools.get(pool) ?? [];
  }

  /** Pools whose last event is older than the history (removed pools, say) are dropped. */
  #forgetIdlePools(now: number): void {
    for (const [pool, events] of this.#pools) {
      if ((events.at(-1)?.time ?? 0) < now - HISTORY_MS) {
        this.#pools.delete(pool);
        this.#lostUntil.delete(pool);
      }
    }
  }

  /** From when on the pool's history is complete: since start, unless events were dropped for room. */
  completeFrom(pool: string): number {
    return Math.max(this.startedAt, this.#lostUntil.get(pool) ?? 0);
  }
}
