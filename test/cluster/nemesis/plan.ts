import { spec, type FaultKind } from './faults.ts';
import { Random } from './random.ts';

/**
 * The fault schedule, drawn from the seed alone (pure: no clock, no processes), so a seed names
 * one schedule on every machine and a failing run can be replayed with `--seed`.
 */

export interface Topology {
  readonly gateways: number;
  /** pool → node ids, in config order. */
  readonly pools: Readonly<Record<string, readonly string[]>>;
  /** The hot-standby pool (operator failovers, epochs). */
  readonly activePassive: string;
}

export interface FaultStep {
  /** 1-based, in schedule order. */
  readonly n: number;
  /** When it starts, in ms after the faults begin. */
  readonly at: number;
  readonly kind: FaultKind;
  /** `redis`, `gw-<i>`, `<pool>/<node>`, `gw-<i>→<pool>/<node>` for a partition, or `<pool>` for a failover. */
  readonly target: string;
  readonly holdMs: number;
  /** Gateways (by index) whose admin API the step uses, in order of use. */
  readonly via: readonly number[];
  /** gateway-clock-skew: how far the instance's clock is off. */
  readonly offsetMs?: number;
}

export interface PlanOptions {
  readonly seed: number;
  /** Faults start and heal within this span. */
  readonly durationMs: number;
  readonly faults: readonly FaultKind[];
  readonly topology: Topology;
  /** Faults in progress at once (operator failovers, being instantaneous, do not count). Default 2. */
  readonly maxConcurrent?: number;
  /** Let every node of a pool be down or drained at once (default: at most all but one). */
  readonly allowPoolOutage?: boolean;
  /** Pause between one fault's start and the next, drawn in this range. Default 300–2500 ms. */
  readonly gapMs?: readonly [number, number];
}

interface Reservation {
  readonly resource: string;
  readonly from: number;
  readonly until: number;
  readonly counts: boolean;
}

export function planFaults(options: PlanOptions): FaultStep[] {
  if (options.faults.length === 0) return [];
  const rng = new Random(options.seed);
  const { topology } = options;
  const maxConcurrent = options.maxConcurrent ?? 2;
  const [gapMin, gapMax] = options.gapMs ?? [300, 2500];
  const reservations: Reservation[] = [];
  const steps: FaultStep[] = [];
  const overlapping = (from: number, until: number) => reservations.filter((r) => r.from < until && from < r.until);
  const free = (resource: string, from: number, until: number) =>
    !overlapping(from, until).some((r) => r.resource === resource);
  const nodes = Object.entries(topology.pools).flatMap(([pool, ids]) => ids.map((id) => `${pool}/${id}`));
  const gateways = Array.from({ length: topology.gateways }, (_, i) => i);

  for (let at = 0; ; ) {
    at += rng.int(gapMin, gapMax);
    if (at >= options.durationMs) break;
    const kind = rng.pick(options.faults);
    const fault = spec(kind);
    const holdMs = rng.int(fault.holdMs[0], fault.holdMs[1]);
    const until = at + holdMs + fault.overheadMs;
    if (until > options.durationMs) continue;
    const busy = overlapping(at, until);
    if (fault.target !== 'failover' && busy.filter((r) => r.counts).length >= maxConcurrent) continue;
    // Operators act through instances that are not being faulted meanwhile.
    const reachable = gateways.filter((i) => free(`gw-${i}`, at, until));
    const reserve = (resource: string, counts = fault.target !== 'failover') =>
      reservations.push({ resource, from: at, until, counts });
    let target: string | undefined;
    let via: number[] = [];
    switch (fault.target) {
      case 'upstream':
      case 'drain': {
        const candidates = nodes.filter(
          (node) => free(node, at, until) && (options.allowPoolOutage || withinOutageCap(node, busy, topology)),
        );
        if (candidates.length === 0) continue;
        target = rng.pick(candidates);
        if (fault.target === 'drain') {
          if (reachable.length === 0) continue;
          via = [rng.pick(reachable), rng.pick(reachable)];
        }
        reserve(target);
        break;
      }
      case 'redis': {
        const needs =
          kind === 'redis-client-pause' ? 2 : kind === 'redis-rollback' || kind === 'redis-lagging-failover' ? 1 : 0;
        if (!free('redis', at, until) || reachable.length < needs) continue;
        via = pickDistinct(rng, reachable, needs);
        target = 'redis';
        reserve('redis');
        break;
      }
      case 'partition': {
        const pool = topology.activePassive;
        const candidates = topology.pools[pool]!.map((id) => `${pool}/${id}`).filter(
          (node) => free(node, at, until) && (options.allowPoolOutage || withinOutageCap(node, busy, topology)),
        );
        if (candidates.length === 0 || reachable.length === 0) continue;
        const node = rng.pick(candidates);
        const index = rng.pick(reachable);
        target = `gw-${index}→${node}`;
        reserve(node);
        reserve(`gw-${index}`, false);
        break;
      }
      case 'gateway': {
        // One gateway at a time: the load keeps two to go through.
        if (!free('gateway', at, until) || reachable.length === 0) continue;
        const index = rng.pick(reachable);
        target = `gw-${index}`;
        reserve('gateway');
        reserve(target, false);
        break;
      }
      case 'failover': {
        if (reachable.length === 0) continue;
        via = [rng.pick(reachable)];
        target = topology.activePassive;
        break;
      }
    }
    // The instances operators use stay up meanwhile.
    for (const index of new Set(via)) reserve(`gw-${index}`, false);
    const offsetMs = kind === 'gateway-clock-skew' ? (rng.chance(0.5) ? 1 : -1) * rng.int(20_000, 60_000) : undefined;
    steps.push({
      n: steps.length + 1,
      at,
      kind,
      target: target!,
      holdMs,
      via,
      ...(offsetMs === undefined ? {} : { offsetMs }),
    });
  }
  return steps;
}

/** Would faulting `node` leave its pool with at least one node not faulted or drained? */
function withinOutageCap(node: string, busy: readonly Reservation[], topology: Topology): boolean {
  const pool = node.slice(0, node.indexOf('/'));
  const down = new Set(busy.filter((r) => r.resource.startsWith(`${pool}/`)).map((r) => r.resource));
  down.add(node);
  return down.size < topology.pools[pool]!.length;
}

function pickDistinct(rng: Random, items: readonly number[], count: number): number[] {
  const left = [...items];
  const out: number[] = [];
  while (out.length < count) out.push(left.splice(rng.int(0, left.length - 1), 1)[0]!);
  return out;
}
