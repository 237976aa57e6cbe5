import { checkConvergence } from './convergence.ts';
import type { Delivery, History, InstanceEvent, OperatorAction, RequestRecord } from './history.ts';
import { checkOperatorControl } from './operators.ts';
import type { Topology } from './plan.ts';
import { isRedisFault, outages, overlaps, poolOutages, within, type Span } from './windows.ts';

/**
 * The invariants of issue 10, checked on a history (pure: made-up histories test it).
 *
 * - epoch-unique: no epoch of the hot-standby pool is ever received by two different nodes (nor
 *   answered to operators as the epoch of two different nodes), except an epoch some instance
 *   minted alone while Redis was out for it (local failover's documented limit).
 * - epoch-monotonic: the epochs a node receives never decrease, except while Redis is out (and
 *   `staleGraceMs` after), for requests sent meanwhile (whenever they arrive), and for requests
 *   that went through an instance while it was paused.
 * - convergence: after the last fault healed and every instance is back on Redis, instances
 *   disagree (active node, epoch, cluster verdicts, drains) for no longer than `convergenceMs`,
 *   agree at the end, and the drains are the ones the operators asked for last.
 * - operator-control: a forced failover refused as a lost race had a winner (some change within
 *   `staleGraceMs` before it); after the run, forced failovers through two instances answer 200
 *   and every instance follows within `convergenceMs`.
 * - failback-hold-down: an automatic failback comes at least `failbackDelayMs` after the change
 *   before it (README: the current node has been active that long), whatever an instance's clock says.
 * - failover-evidence: with a quorum above 1, an automatic failover because the active node is
 *   down happens only once `quorum` instances found it down (unless Redis was declared lost).
 * - failed-get: no GET fails, except through an instance that was being faulted, or while
 *   every node of its pool was out (and `recoveryMs` after).
 * - duplicate-post: no POST reaches an upstream twice.
 * - history-integrity: every answer an upstream gave is in its record (else the checker is blind).
 */

export type Invariant =
  | 'epoch-unique'
  | 'epoch-monotonic'
  | 'convergence'
  | 'operator-control'
  | 'failback-hold-down'
  | 'failover-evidence'
  | 'failed-get'
  | 'duplicate-post'
  | 'history-integrity';

export const INVARIANTS: readonly Invariant[] = [
  'epoch-unique',
  'epoch-monotonic',
  'convergence',
  'operator-control',
  'failback-hold-down',
  'failover-evidence',
  'failed-get',
  'duplicate-post',
  'history-integrity',
];

export interface Violation {
  readonly invariant: Invariant;
  /** When it happened (history time), for the timeline excerpt. */
  readonly at: number;
  readonly message: string;
  /** A timing rule broken while the machine starved the run of CPU (stalls.ts): set aside, not counted. */
  readonly stalled?: boolean;
}

/** The rules about time (answers, agreement, evidence in time); the others hold however slow the machine. */
const TIMING: ReadonlySet<Invariant> = new Set([
  'convergence',
  'operator-control',
  'failback-hold-down',
  'failover-evidence',
  'failed-get',
]);

export interface CheckOptions {
  readonly topology: Topology;
  /** When the last fault healed (history time). */
  readonly healedAt: number;
  readonly convergenceMs?: number;
  readonly staleGraceMs?: number;
  readonly recoveryMs?: number;
  /** The hot-standby pool's failbackDelay. */
  readonly failbackDelayMs: number;
  /** The gateways' cluster.quorum (default 1: every failover has evidence enough). */
  readonly quorum?: number | 'majority';
}

export function check(history: History, options: CheckOptions): Violation[] {
  const convergenceMs = options.convergenceMs ?? 1000;
  const graceMs = options.staleGraceMs ?? 2000;
  const recoveryMs = options.recoveryMs ?? 3000;
  const pool = options.topology.activePassive;
  // A stall starves the gateways too: their heartbeats time out and they recover after it.
  const stalls = history.stalls.map((s) => ({ from: s.from - 1000, until: s.until + recoveryMs }));
  const mark = (v: Violation): Violation =>
    TIMING.has(v.invariant) && within(v.at, stalls) ? { ...v, stalled: true } : v;
  return [
    ...epochUnique(history.deliveries, history.operator, pool, history.events),
    ...epochMonotonic(history, pool, graceMs),
    ...checkConvergence(history, options.healedAt, convergenceMs),
    ...checkOperatorControl(history, pool, convergenceMs, graceMs),
    ...failbackHoldDown(history.events, pool, options.failbackDelayMs),
    ...failoverEvidence(history.events, pool, options.quorum ?? 1, options.topology.gateways),
    ...failedGets(history, options.topology, recoveryMs),
    ...duplicatePosts(history.deliveries),
    ...integrity(history),
  ]
    .map(mark)
    .sort((a, b) => a.at - b.at);
}

export function epochUnique(
  deliveries: readonly Delivery[],
  operator: readonly OperatorAction[],
  pool: string,
  events: readonly InstanceEvent[] = [],
): Violation[] {
  // An instance that lost Redis may fail over alone (cluster.localFailover, on by default) and
  // mint the next epoch itself while others mint the same one through Redis: the documented limit
  // of local failover (docs/fencing.md), healed with a higher epoch once Redis is back. Such an
  // epoch is excused; any other epoch held by two nodes is a violation.
  const mintedAlone = new Set<number>();
  for (const e of events) {
    if (e.type === 'promotion' && e.pool === pool && e.epoch !== undefined && e.reason.includes('decided locally'))
      mintedAlone.add(e.epoch);
  }
  const byEpoch = new Map<number, Map<string, { first: number; count: number }>>();
  const add = (epoch: number, node: string, at: number) => {
    const nodes = byEpoch.get(epoch) ?? new Map<string, { first: number; count: number }>();
    byEpoch.set(epoch, nodes);
    const seen = nodes.get(node) ?? { first: at, count: 0 };
    seen.count += 1;
    nodes.set(node, seen);
  };
  for (const d of deliveries) if (d.pool === pool && d.epoch !== null) add(d.epoch, d.node, d.at);
  // What the admin API answered counts too: two operators told the same epoch for two nodes.
  for (const a of operator) {
    if (a.pool !== pool || a.status !== 200 || (a.action !== 'failover' && a.action !== 'failback')) continue;
    const { active, epoch } = JSON.parse(a.body ?? '{}') as { active?: string; epoch?: number };
    if (active && epoch !== undefined) add(epoch, active, a.endedAt ?? a.at);
  }
  const out: Violation[] = [];
  for (const [epoch, nodes] of byEpoch) {
    if (nodes.size < 2 || mintedAlone.has(epoch)) continue;
    const list = [...nodes].sort((a, b) => a[1].first - b[1].first);
    out.push({
      invariant: 'epoch-unique',
      at: list[1]![1].first,
      message: `epoch ${epoch} given to ${list.map(([node, s]) => `${node} (${s.count}× in requests and admin answers, first ${clock(s.first)})`).join(' and ')}`,
    });
  }
  return out;
}

export function epochMonotonic(
  history: Pick<History, 'deliveries' | 'faults' | 'requests' | 'events'>,
  pool: string,
  graceMs: number,
): Violation[] {
  // Redis is out from the fault until every instance is back on it: an instance that the machine
  // starves reconnects seconds after Redis returns, and decides locally until then.
  const redisOut = [...outages(history.faults, isRedisFault, graceMs), ...storeOutages(history.events, graceMs)];
  const paused = new Map<number, Span[]>();
  for (const fault of history.faults) {
    if (fault.kind !== 'gateway-pause') continue;
    const index = Number(fault.target.slice('gw-'.length));
    paused.set(index, [...(paused.get(index) ?? []), ...outages([fault], () => true, graceMs)]);
  }
  const gatewayOf = new Map(history.requests.map((r) => [r.id, r.gateway]));
  const sentAt = new Map(history.requests.map((r) => [r.id, r.sentAt]));
  const highest = new Map<string, { epoch: number; at: number }>();
  const episodes = new Map<
    string,
    { first: number; last: number; count: number; epochs: Set<number>; after: number }
  >();
  for (const d of [...history.deliveries].sort((a, b) => a.at - b.at)) {
    if (d.pool !== pool || d.epoch === null) continue;
    const top = highest.get(d.node);
    if (!top || d.epoch > top.epoch) {
      highest.set(d.node, { epoch: d.epoch, at: d.at });
      continue;
    }
    if (d.epoch === top.epoch) continue;
    const through = gatewayOf.get(d.id);
    // Its epoch was given when it was sent: one sent while Redis was out may arrive much later
    // (held in a hung node's socket until it woke).
    const sent = sentAt.get(d.id);
    if (within(d.at, redisOut) || (sent !== undefined && within(sent, redisOut))) continue;
    if (through !== undefined && within(d.at, paused.get(through) ?? [])) continue;
    const key = `${d.node} after ${top.epoch}`;
    const episode = episodes.get(key) ?? {
      first: d.at,
      last: d.at,
      count: 0,
      epochs: new Set<number>(),
      after: top.epoch,
    };
    episode.last = d.at;
    episode.count += 1;
    episode.epochs.add(d.epoch);
    episodes.set(key, episode);
  }
  return [...episodes].map(([key, e]) => ({
    invariant: 'epoch-monotonic' as const,
    at: e.first,
    message: `${key.split(' ')[0]} received epoch ${[...e.epochs].join(', ')} after epoch ${e.after}: ${e.count}× from ${clock(e.first)} to ${clock(e.last)}, Redis reachable by every instance`,
  }));
}

/** When some instance said its store was disconnected (until it said connected), each extended by `graceMs`. */
export function storeOutages(events: readonly InstanceEvent[], graceMs: number): Span[] {
  const since = new Map<string, number>();
  const out: Span[] = [];
  for (const e of [...events].sort((a, b) => a.at - b.at)) {
    if (e.type === 'process' && e.reason.startsWith('exited')) since.delete(e.instance); // a new process starts connected-or-not afresh
    if (e.type !== 'store') continue;
    if (e.to === 'disconnected' && !since.has(e.instance)) since.set(e.instance, e.at);
    if (e.to === 'connected' && since.has(e.instance)) {
      out.push({ from: since.get(e.instance)!, until: e.at + graceMs });
      since.delete(e.instance);
    }
  }
  for (const from of since.values()) out.push({ from, until: Infinity });
  return out;
}

export function failbackHoldDown(events: readonly InstanceEvent[], pool: string, delayMs: number): Violation[] {
  // When each epoch was first announced, by any instance (the harness' clock, not theirs).
  const first = new Map<number, InstanceEvent>();
  for (const e of events)
    if (e.type === 'promotion' && e.pool === pool && e.epoch !== undefined && !first.has(e.epoch))
      first.set(e.epoch, e);
  const epochs = [...first.keys()].sort((a, b) => a - b);
  const out: Violation[] = [];
  for (let i = 1; i < epochs.length; i++) {
    const change = first.get(epochs[i]!)!;
    const before = first.get(epochs[i - 1]!)!;
    // Automatic failbacks only ("<instance>: failback: …"); an operator's is "failback requested by operator".
    if (!/: failback: /.test(change.reason)) continue;
    // 10 % slack: the announcements are seen through pipes and event loops, not at the source.
    if (change.at - before.at >= delayMs * 0.9) continue;
    out.push({
      invariant: 'failback-hold-down',
      at: change.at,
      message: `epoch ${change.epoch} (${change.reason}) came ${Math.round(change.at - before.at)} ms after epoch ${before.epoch} (${before.to}), within the ${delayMs} ms hold-down`,
    });
  }
  return out;
}

export function failoverEvidence(
  events: readonly InstanceEvent[],
  pool: string,
  quorum: number | 'majority',
  instances: number,
): Violation[] {
  const needed = quorum === 'majority' ? Math.floor(instances / 2) + 1 : quorum;
  if (needed <= 1) return [];
  const announced = new Set<number>();
  const out: Violation[] = [];
  const sorted = [...events].sort((a, b) => a.at - b.at);
  for (const e of sorted) {
    if (e.type !== 'promotion' || e.pool !== pool || e.epoch === undefined || announced.has(e.epoch)) continue;
    announced.add(e.epoch);
    const down = / (\S+) is down$/.exec(e.reason);
    if (!down || e.reason.includes('decided locally')) continue;
    // The votes reach Redis before the promotion; their log lines may reach us a little after.
    const voters = new Set(
      sorted
        .filter(
          (v) =>
            v.type === 'health' &&
            v.pool === pool &&
            v.node === down[1] &&
            v.reason.startsWith('local:') &&
            v.at <= e.at + 200,
        )
        .map((v) => v.instance),
    );
    const downNow = [...voters].filter((instance) => {
      const last = sorted
        .filter(
          (v) =>
            v.type === 'health' &&
            v.instance === instance &&
            v.node === down[1] &&
            v.reason.startsWith('local:') &&
            v.at <= e.at + 200,
        )
        .at(-1);
      return last?.to === 'down';
    });
    if (downNow.length >= needed) continue;
    out.push({
      invariant: 'failover-evidence',
      at: e.at,
      message: `epoch ${e.epoch}: ${e.reason}, with ${downNow.length ? downNow.join(', ') : 'no instance'} finding ${down[1]} down (quorum ${quorum}: ${needed} needed)`,
    });
  }
  return out;
}

export function failedGets(
  history: Pick<History, 'requests' | 'faults'>,
  topology: Topology,
  recoveryMs: number,
): Violation[] {
  const poolDown = new Map(
    Object.entries(topology.pools).map(([pool, nodes]) => [pool, poolOutages(history.faults, pool, nodes, recoveryMs)]),
  );
  // An instance being faulted fails what goes through it; one cut off a node of a pool may fail
  // that pool's requests (with quorum above 1 the others rightly keep the node).
  const gatewayOut = new Map<string, Span[]>();
  for (const fault of history.faults) {
    if (!fault.target.startsWith('gw-')) continue;
    const [gateway, node] = fault.target.split('→');
    const key = node ? `${gateway} ${node.split('/')[0]}` : gateway!;
    gatewayOut.set(key, [...(gatewayOut.get(key) ?? []), ...outages([fault], () => true, node ? recoveryMs : 0)]);
  }
  const out: Violation[] = [];
  for (const r of history.requests) {
    if (r.method !== 'GET' || !failed(r)) continue;
    const span = { from: r.sentAt, until: r.endedAt ?? Infinity };
    const excused = [
      ...(gatewayOut.get(`gw-${r.gateway}`) ?? []),
      ...(gatewayOut.get(`gw-${r.gateway} ${r.pool}`) ?? []),
      ...(poolDown.get(r.pool) ?? []),
    ];
    if (excused.some((s) => overlaps(s, span))) continue;
    const took = r.endedAt === undefined ? 'never answered' : `after ${Math.round(r.endedAt - r.sentAt)} ms`;
    out.push({
      invariant: 'failed-get',
      at: r.sentAt,
      message:
        `GET ${r.id} to ${r.pool} via gw-${r.gateway} at ${clock(r.sentAt)}: ${r.status || 'no answer'} ${r.error ?? ''} ${took}`.replace(
          /\s+/g,
          ' ',
        ),
    });
  }
  return out;
}

export function failed(r: RequestRecord): boolean {
  return r.status === undefined || r.status === 0 || r.status >= 500;
}

export function duplicatePosts(deliveries: readonly Delivery[]): Violation[] {
  const byId = new Map<string, Delivery[]>();
  for (const d of deliveries) if (d.method === 'POST') byId.set(d.id, [...(byId.get(d.id) ?? []), d]);
  return [...byId]
    .filter(([, list]) => list.length > 1)
    .map(([id, list]) => ({
      invariant: 'duplicate-post' as const,
      at: list[1]!.at,
      message: `POST ${id} delivered ${list.length}×: ${list.map((d) => `${d.node} at ${clock(d.at)}`).join(', ')}`,
    }));
}

export function integrity(history: Pick<History, 'requests' | 'deliveries'>): Violation[] {
  const delivered = new Set(history.deliveries.map((d) => `${d.node} ${d.id}`));
  const out: Violation[] = [];
  for (const r of history.requests) {
    if (r.endedAt === undefined)
      out.push({ invariant: 'history-integrity', at: r.sentAt, message: `${r.method} ${r.id} never ended` });
    else if (r.status! >= 200 && r.status! < 300 && !delivered.has(`${r.node} ${r.id}`)) {
      out.push({
        invariant: 'history-integrity',
        at: r.endedAt,
        message: `${r.method} ${r.id} was answered by ${r.node}, which has no record of it`,
      });
    }
  }
  return out;
}

/** History time as `+12.345s`. */
export function clock(at: number): string {
  return `+${(at / 1000).toFixed(3)}s`;
}
