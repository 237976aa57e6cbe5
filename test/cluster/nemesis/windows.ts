import type { FaultRecord } from './history.ts';
import { spec } from './faults.ts';

/** Time spans derived from the fault records: when Redis, a gateway or a whole pool was out. */

export interface Span {
  readonly from: number;
  readonly until: number;
}

export function overlaps(a: Span, b: Span): boolean {
  return a.from <= b.until && b.from <= a.until;
}

export function within(at: number, spans: readonly Span[]): boolean {
  return spans.some((s) => s.from <= at && at <= s.until);
}

/** The outages of faults whose target matches, each extended by `graceMs` (open ones: forever). */
export function outages(
  faults: readonly FaultRecord[],
  matches: (fault: FaultRecord) => boolean,
  graceMs: number,
): Span[] {
  return faults
    .filter(matches)
    .flatMap((fault) => fault.outages.map((o) => ({ from: o.from, until: (o.until ?? Infinity) + graceMs })));
}

export const isRedisFault = (fault: FaultRecord) => spec(fault.kind).target === 'redis';

/** Faults that take one node of `pool` out of service (killed, hung, drained). */
const isNodeFault = (pool: string) => (fault: FaultRecord) => {
  const target = spec(fault.kind).target;
  return (target === 'upstream' || target === 'drain') && fault.target.startsWith(`${pool}/`);
};

/**
 * When every node of `pool` was out at once: the intersection of the nodes' outages, each
 * extended by `recoveryMs` (a node that is back must pass its heartbeats before it serves).
 */
export function poolOutages(
  faults: readonly FaultRecord[],
  pool: string,
  nodes: readonly string[],
  recoveryMs: number,
): Span[] {
  let common: Span[] | undefined;
  for (const node of nodes) {
    const spans = merge(outages(faults.filter(isNodeFault(pool)), (f) => f.target === `${pool}/${node}`, recoveryMs));
    common = common === undefined ? spans : intersect(common, spans);
    if (common.length === 0) return [];
  }
  return common ?? [];
}

/** Sorted, overlapping spans joined. */
export function merge(spans: readonly Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a.from - b.from);
  const out: Span[] = [];
  for (const span of sorted) {
    const last = out.at(-1);
    if (last && span.from <= last.until)
      out[out.length - 1] = { from: last.from, until: Math.max(last.until, span.until) };
    else out.push(span);
  }
  return out;
}

function intersect(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: Span[] = [];
  for (const x of a) {
    for (const y of b) {
      const from = Math.max(x.from, y.from);
      const until = Math.min(x.until, y.until);
      if (from <= until) out.push({ from, until });
    }
  }
  return merge(out);
}
