import { clock, failed, INVARIANTS, type Violation } from './checker.ts';
import type { History } from './history.ts';
import type { FaultStep } from './plan.ts';

/** The history as a timeline, a summary, and the verdict with an excerpt of the timeline around each violation. */

export interface Line {
  readonly at: number;
  readonly who: string;
  readonly text: string;
}

export function timeline(history: History): Line[] {
  const lines: Line[] = [];
  for (const note of history.notes) lines.push({ at: note.at, who: 'harness', text: note.text });
  for (const stall of history.stalls)
    lines.push({ at: stall.from, who: 'machine', text: `stalled ${stall.lagMs} ms (no CPU for this process)` });
  for (const f of history.faults) {
    lines.push({ at: f.startedAt, who: 'nemesis', text: `▶ #${f.n} ${f.kind} ${f.target}` });
    if (f.healingAt !== undefined)
      lines.push({ at: f.healingAt, who: 'nemesis', text: `… #${f.n} ${f.kind} ${f.target} healing` });
    if (f.healedAt !== undefined)
      lines.push({
        at: f.healedAt,
        who: 'nemesis',
        text: `◀ #${f.n} ${f.kind} ${f.target} healed${f.notes.length ? ` (${f.notes.join('; ')})` : ''}`,
      });
  }
  for (const a of history.operator) {
    lines.push({
      at: a.endedAt ?? a.at,
      who: 'operator',
      text: `${a.action} ${a.pool}${a.node ? `/${a.node}` : ''} via ${a.instance} → ${a.status} ${a.body ?? ''}`,
    });
  }
  for (const e of history.events) {
    const subject = [e.pool, e.node].filter(Boolean).join('/');
    if (e.type === 'instance' || e.type === 'process' || e.type === 'log' || e.type === 'diagnostic') {
      lines.push({ at: e.at, who: e.instance, text: `${e.type}: ${e.reason}` });
      continue;
    }
    const change = e.to === undefined ? '' : e.from === undefined ? ` → ${e.to}` : ` ${e.from} → ${e.to}`;
    lines.push({
      at: e.at,
      who: e.instance,
      text: `${e.type}${subject ? ` ${subject}` : ''}${change}${e.epoch !== undefined ? ` epoch ${e.epoch}` : ''} (${e.reason})`,
    });
  }
  const seen = new Set<string>();
  for (const d of history.deliveries) {
    if (d.epoch === null || seen.has(`${d.node} ${d.epoch}`)) continue;
    seen.add(`${d.node} ${d.epoch}`);
    lines.push({ at: d.at, who: d.node, text: `first request with epoch ${d.epoch} (${d.method} ${d.id})` });
  }
  for (const r of history.requests) {
    if (!failed(r)) continue;
    lines.push({
      at: r.endedAt ?? r.sentAt,
      who: 'client',
      text: `${r.method} ${r.id} ${r.pool} via gw-${r.gateway} failed: ${r.status || 'no answer'} ${r.error ?? ''} (${Math.round((r.endedAt ?? r.sentAt) - r.sentAt)} ms)`,
    });
  }
  return lines.sort((a, b) => a.at - b.at);
}

export function formatLines(lines: readonly Line[]): string {
  return lines.map((l) => `${clock(l.at).padStart(10)}  ${l.who.padEnd(8)}  ${l.text}`).join('\n');
}

export function formatPlan(plan: readonly FaultStep[]): string {
  return plan
    .map(
      (s) =>
        `  #${s.n} ${clock(s.at)} ${s.kind} ${s.target} hold ${s.holdMs} ms${s.via.length ? ` via ${s.via.map((i) => `gw-${i}`).join(',')}` : ''}${s.offsetMs ? ` clock ${s.offsetMs} ms` : ''}`,
    )
    .join('\n');
}

export function summary(history: History): string {
  const count = (method: string, pool: string, ok: boolean) =>
    history.requests.filter((r) => r.method === method && r.pool === pool && failed(r) !== ok).length;
  const pools = [...new Set(history.requests.map((r) => r.pool))].sort();
  const requestLines = pools.map(
    (pool) =>
      `  ${pool}: GET ${count('GET', pool, true)} ok / ${count('GET', pool, false)} failed, POST ${count('POST', pool, true)} ok / ${count('POST', pool, false)} failed`,
  );
  const epochs = new Map<string, Set<number>>();
  for (const d of history.deliveries)
    if (d.epoch !== null) epochs.set(d.node, (epochs.get(d.node) ?? new Set()).add(d.epoch));
  const epochLine = [...epochs]
    .sort()
    .map(([node, set]) => `${node} ${[...set].sort((a, b) => a - b).join(',')}`)
    .join('; ');
  const kinds = new Map<string, number>();
  for (const f of history.faults) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  return [
    `faults: ${history.faults.length} (${[...kinds].map(([k, n]) => `${k} ×${n}`).join(', ')})`,
    `requests: ${history.requests.length}, delivered to upstreams: ${history.deliveries.length}`,
    ...requestLines,
    `epochs seen by each node: ${epochLine || 'none'}`,
    `machine stalls (this process' timers ≥ 400 ms late): ${history.stalls.length}${history.stalls.length ? `, longest ${Math.max(...history.stalls.map((s) => s.lagMs))} ms` : ''}`,
  ].join('\n');
}

export function verdict(
  violations: readonly Violation[],
  history: History,
  options: { excerpts?: number; perInvariant?: number; setAside?: readonly Violation[] } = {},
): string {
  const harness = history.harnessErrors.map(
    (e) => `  [harness] ${clock(e.at)} ${e.message.split('\n').slice(0, 3).join(' / ')}`,
  );
  const setAside = options.setAside ?? [];
  const stalls = setAside.length
    ? `\n(set aside: ${setAside.length} timing violation(s) during ${history.stalls.length} machine stall(s), longest ${Math.max(...history.stalls.map((s) => s.lagMs))} ms: ${[...new Set(setAside.map((v) => v.invariant))].join(', ')})`
    : '';
  if (violations.length === 0 && harness.length === 0)
    return `VERDICT: PASS — no violation of ${INVARIANTS.join(', ')}${stalls}`;
  const lines = timeline(history);
  const out = violations.length
    ? [
        `VERDICT: FAIL — ${violations.length} violation(s): ${INVARIANTS.filter((i) =>
          violations.some((v) => v.invariant === i),
        )
          .map((i) => `${i} ×${violations.filter((v) => v.invariant === i).length}`)
          .join(', ')}`,
      ]
    : [];
  if (harness.length) out.unshift('VERDICT: INCONCLUSIVE — the harness failed (the run proves nothing):', ...harness);
  for (const invariant of INVARIANTS) {
    const list = violations.filter((v) => v.invariant === invariant);
    const shown = list.slice(0, options.perInvariant ?? 5);
    for (const v of shown) out.push(`  [${v.invariant}] ${clock(v.at)} ${v.message}`);
    if (list.length > shown.length) out.push(`  [${invariant}] … and ${list.length - shown.length} more`);
  }
  const firsts = INVARIANTS.map((i) => violations.find((v) => v.invariant === i)).filter(
    (v): v is Violation => v !== undefined,
  );
  if (stalls) out.push(stalls.trim());
  for (const v of firsts.slice(0, options.excerpts ?? 4)) {
    const around = lines.filter((l) => l.at >= v.at - 4000 && l.at <= v.at + 1500).slice(-60);
    out.push('', `history around ${clock(v.at)} (${v.invariant}):`, formatLines(around));
  }
  return out.join('\n');
}
