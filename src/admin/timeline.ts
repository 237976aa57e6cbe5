import type { Health } from '../policy/types.ts';
import type { HistoryEvent } from './event-history.ts';

/** What a node's band shows: down by an ejection (passive health) is told apart from down. */
export type BandState = 'up' | 'down' | 'ejected' | 'draining' | 'unknown';

/** A node as it is now (the right edge of the timeline). */
export interface NodeNow {
  readonly id: string;
  readonly local: Health;
  /** The store's verdict; undefined when there is none (it then follows the local one). */
  readonly cluster: Health | undefined;
  readonly draining: boolean;
}

export interface TimelineInput {
  readonly nodes: readonly NodeNow[];
  /** Active-passive pools: the active node and epoch now; null for active-active pools. */
  readonly active: { readonly node: string | null; readonly epoch: number | null } | null;
  /** The pool's events, oldest first. */
  readonly events: readonly HistoryEvent[];
  /** Before this the history is incomplete (the gateway had not started, or events were dropped). */
  readonly completeFrom: number;
  readonly from: number;
  readonly now: number;
}

export interface Segment {
  from: number;
  to: number;
  state: BandState;
}

export interface ActiveSegment {
  from: number;
  to: number;
  node: string | null;
  epoch: number | null;
}

/** A node down (or ejected): when this instance's verdict came, and how long after the fault. */
export interface Outage {
  node: string;
  state: 'down' | 'ejected';
  downAt: number;
  /** null while it lasts. */
  upAt: number | null;
  /** Last healthy sign (verdict time − detectedAfterMs); null when another instance detected it. */
  faultAt: number | null;
  detectedAfterMs: number | null;
  reason: string;
  /** The event that started it. */
  seq: number;
}

export interface PoolTimeline {
  from: number;
  to: number;
  nodes: Array<{ id: string; segments: Segment[] }>;
  active: ActiveSegment[] | null;
  events: HistoryEvent[];
  outages: Outage[];
}

/**
 * A pool's failover timeline over [from, now] (pure). The state now is known for certain;
 * every health and drain event carries the state it left, so walking the events backwards
 * gives the state before them, and walking forwards again draws the bands. Nodes removed
 * from the pool are not drawn; their events stay in the list.
 */
export function poolTimeline(input: TimelineInput): PoolTimeline {
  const from = Math.min(input.now, Math.max(input.from, input.completeFrom));
  const outages: Outage[] = [];
  const nodes = input.nodes.map((node) => {
    const events = input.events.filter(
      (event) => event.node === node.id && (event.type === 'health' || event.type === 'drain'),
    );
    const band = nodeBand(node, events, from, input.now);
    outages.push(...band.outages);
    return { id: node.id, segments: band.segments };
  });
  return {
    from,
    to: input.now,
    nodes,
    active:
      input.active &&
      activeLane(
        input.active,
        input.events.filter((event) => event.type === 'promotion'),
        from,
        input.now,
      ),
    events: input.events.filter((event) => event.time >= from && event.time <= input.now),
    outages: outages.sort((a, b) => a.downAt - b.downAt),
  };
}

interface NodeState {
  local: Health;
  cluster: Health | undefined;
  draining: boolean;
  ejected: boolean;
}

const isCluster = (event: HistoryEvent) => event.scope === 'cluster';
const asHealth = (value: string | undefined): Health => (value === 'up' || value === 'down' ? value : 'unknown');

function bandOf(state: NodeState): BandState {
  const down = state.local === 'down' || state.cluster === 'down';
  if (down) return state.ejected && state.local === 'down' ? 'ejected' : 'down';
  if (state.draining) return 'draining';
  return state.local === 'up' || state.cluster === 'up' ? 'up' : 'unknown';
}

function apply(state: NodeState, event: HistoryEvent): void {
  if (event.type === 'drain') state.draining = event.to === 'draining';
  else if (isCluster(event)) state.cluster = asHealth(event.to);
  else {
    state.local = asHealth(event.to);
    state.ejected = state.local === 'down' && event.ejected === true;
  }
}

function nodeBand(
  node: NodeNow,
  events: readonly HistoryEvent[],
  from: number,
  now: number,
): { segments: Segment[]; outages: Outage[] } {
  // Backwards from now to the state before the first kept event.
  const state: NodeState = { local: node.local, cluster: node.cluster, draining: node.draining, ejected: false };
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.type === 'drain') state.draining = event.to !== 'draining';
    else if (isCluster(event)) state.cluster = asHealth(event.from);
    else state.local = asHealth(event.from);
  }
  const segments: Segment[] = [];
  const outages: Outage[] = [];
  let current: Segment = { from, to: now, state: bandOf(state) };
  let outage: Outage | undefined;
  for (const event of events) {
    apply(state, event);
    const band = bandOf(state);
    const down = band === 'down' || band === 'ejected';
    if (down && !outage) {
      outage = {
        node: node.id,
        state: band,
        downAt: event.time,
        upAt: null,
        faultAt: null,
        detectedAfterMs: null,
        reason: event.reason,
        seq: event.seq,
      };
      outages.push(outage);
    }
    if (outage && down && outage.detectedAfterMs === null && event.detectedAfterMs !== undefined) {
      outage.detectedAfterMs = event.detectedAfterMs;
      outage.faultAt = event.time - event.detectedAfterMs;
    }
    if (outage && !down) {
      outage.upAt = event.time;
      outage = undefined;
    }
    if (event.time <= from) current.state = band;
    else if (event.time <= now && band !== current.state) {
      segments.push({ ...current, to: event.time });
      current = { from: event.time, to: now, state: band };
    }
  }
  segments.push(current);
  return {
    segments: segments.filter((segment) => segment.to > segment.from || segments.length === 1),
    outages: outages.filter((o) => o.upAt === null || o.upAt > from),
  };
}

function activeLane(
  now: { node: string | null; epoch: number | null },
  promotions: readonly HistoryEvent[],
  from: number,
  to: number,
): ActiveSegment[] {
  // Before the first kept promotion: the node it replaced (with an epoch not known here).
  let current: ActiveSegment = {
    from,
    to,
    node: promotions[0] ? (promotions[0].from ?? null) : now.node,
    epoch: promotions[0] ? null : now.epoch,
  };
  const lane: ActiveSegment[] = [];
  for (const event of promotions) {
    const next = { node: event.to ?? null, epoch: event.epoch ?? null };
    if (event.time <= from) Object.assign(current, next);
    else if (event.time <= to) {
      lane.push({ ...current, to: event.time });
      current = { from: event.time, to, ...next };
    }
  }
  lane.push(current);
  return lane.filter((segment) => segment.to > segment.from || lane.length === 1);
}
