import test from 'ava';
import type { HistoryEvent } from '../../src/admin/event-history.ts';
import { poolTimeline, type NodeNow, type TimelineInput } from '../../src/admin/timeline.ts';
import type { GatewayEvent } from '../../src/events/types.ts';

// The failover timeline, as a pure function of the state now and the pool's events.

let seq = 0;
const at = (time: number, event: Omit<GatewayEvent, 'time' | 'instance'>): HistoryEvent => ({
  time,
  instance: 'gw',
  seq: ++seq,
  ...event,
});
const local = (
  time: number,
  node: string,
  from: string,
  to: string,
  reason: string,
  detectedAfterMs?: number,
  ejected?: boolean,
) =>
  at(time, {
    type: 'health',
    scope: 'local',
    pool: 'web',
    node,
    from,
    to,
    reason: `local: ${reason}`,
    detectedAfterMs,
    ejected,
  });
const cluster = (time: number, node: string, from: string, to: string) =>
  at(time, { type: 'health', scope: 'cluster', pool: 'web', node, from, to, reason: 'cluster: votes' });
const drain = (time: number, node: string, to: 'draining' | 'enabled') =>
  at(time, { type: 'drain', scope: 'cluster', pool: 'web', node, to, reason: 'by an operator' });
const promotion = (time: number, from: string | undefined, to: string, epoch: number) =>
  at(time, { type: 'promotion', scope: 'cluster', pool: 'web', from, to, epoch, reason: 'auto' });
const up = (id: string, over: Partial<NodeNow> = {}): NodeNow => ({
  id,
  local: 'up',
  cluster: 'up',
  draining: false,
  ...over,
});

function timeline(over: Partial<TimelineInput>) {
  return poolTimeline({ nodes: [up('a')], active: null, events: [], completeFrom: 0, from: 0, now: 1000, ...over });
}

test('a node that came up, was killed (detected after 12 ms), and came back: bands, and the outage with its detection time', (t) => {
  const events = [
    local(100, 'a', 'unknown', 'up', 'heartbeat passed'),
    cluster(100, 'a', 'unknown', 'up'),
    local(400, 'a', 'up', 'down', 'ejected for 5000ms: ECONNREFUSED', 12, true),
    cluster(401, 'a', 'up', 'down'),
    local(700, 'a', 'down', 'up', 'ejection over, heartbeats passing'),
    cluster(702, 'a', 'down', 'up'),
  ];
  const result = timeline({ events });
  t.deepEqual(result.nodes, [
    {
      id: 'a',
      segments: [
        { from: 0, to: 100, state: 'unknown' },
        { from: 100, to: 400, state: 'up' },
        { from: 400, to: 700, state: 'ejected' },
        { from: 700, to: 702, state: 'down' }, // locally back, the cluster verdict still down
        { from: 702, to: 1000, state: 'up' },
      ],
    },
  ]);
  t.deepEqual(result.outages, [
    {
      node: 'a',
      state: 'ejected',
      downAt: 400,
      upAt: 702,
      faultAt: 388,
      detectedAfterMs: 12,
      reason: 'local: ejected for 5000ms: ECONNREFUSED',
      seq: events[2]!.seq,
    },
  ]);
  t.is(result.events.length, 6);
  t.is(result.active, null, 'no active lane for an active-active pool');
});

test('the state before the first event comes from the events, walking back from the state now', (t) => {
  // Down now, by heartbeats, since 500; drained at 300; nothing else known.
  const events = [drain(300, 'a', 'draining'), local(500, 'a', 'up', 'down', '3 heartbeats failed', 2500)];
  const result = timeline({
    nodes: [up('a', { local: 'down', cluster: undefined, draining: true })],
    events,
    from: 200,
  });
  t.deepEqual(result.nodes[0]!.segments, [
    { from: 200, to: 300, state: 'up' },
    { from: 300, to: 500, state: 'draining' },
    { from: 500, to: 1000, state: 'down' },
  ]);
  t.like(result.outages[0], { state: 'down', downAt: 500, upAt: null, faultAt: -2000, detectedAfterMs: 2500 });
});

test('a window that starts later: earlier events set the starting state, later ones cut the band', (t) => {
  const events = [
    local(100, 'a', 'up', 'down', 'ejected for 1000ms: reset', undefined, true),
    local(900, 'a', 'down', 'up', 'ejection over'),
  ];
  const result = timeline({ nodes: [up('a', { cluster: undefined })], events, from: 500 });
  t.is(result.from, 500);
  t.deepEqual(result.nodes[0]!.segments, [
    { from: 500, to: 900, state: 'ejected' },
    { from: 900, to: 1000, state: 'up' },
  ]);
  t.deepEqual(
    result.events.map((e) => e.time),
    [900],
    'only the events inside the window are listed',
  );
  t.is(result.outages.length, 1, 'the outage overlapping the window is listed');
  const over = timeline({ nodes: [up('a', { cluster: undefined })], events, from: 950 });
  t.is(over.outages.length, 0, 'an outage over before the window is not');
});

test('down seen only through the cluster verdict (another instance detected it): no local detection time', (t) => {
  const events = [cluster(300, 'a', 'up', 'down'), cluster(600, 'a', 'down', 'up')];
  const result = timeline({ events });
  t.deepEqual(
    result.nodes[0]!.segments.map((s) => s.state),
    ['up', 'down', 'up'],
  );
  t.like(result.outages[0], { state: 'down', downAt: 300, upAt: 600, detectedAfterMs: null, faultAt: null });
});

test('the history starts when it is complete: before the gateway started (or events were dropped) nothing is drawn', (t) => {
  const result = timeline({ completeFrom: 400, from: 0 });
  t.is(result.from, 400);
  t.deepEqual(result.nodes[0]!.segments, [{ from: 400, to: 1000, state: 'up' }]);
});

test('hot standby: the active lane with its epochs, from the promotions', (t) => {
  const events = [
    promotion(50, undefined, 'primary', 1),
    promotion(400, 'primary', 'standby', 2),
    promotion(800, 'standby', 'primary', 3),
  ];
  const result = timeline({ nodes: [up('primary'), up('standby')], active: { node: 'primary', epoch: 3 }, events });
  t.deepEqual(result.active, [
    { from: 0, to: 50, node: null, epoch: null },
    { from: 50, to: 400, node: 'primary', epoch: 1 },
    { from: 400, to: 800, node: 'standby', epoch: 2 },
    { from: 800, to: 1000, node: 'primary', epoch: 3 },
  ]);
  const later = timeline({ nodes: [up('primary')], active: { node: 'primary', epoch: 3 }, events, from: 500 });
  t.deepEqual(later.active, [
    { from: 500, to: 800, node: 'standby', epoch: 2 },
    { from: 800, to: 1000, node: 'primary', epoch: 3 },
  ]);
  const quiet = timeline({ nodes: [up('primary')], active: { node: 'primary', epoch: 7 }, events: [] });
  t.deepEqual(quiet.active, [{ from: 0, to: 1000, node: 'primary', epoch: 7 }], 'no promotion kept: the state now');
});
