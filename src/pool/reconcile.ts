import type { PoolSettings } from '../config/types.ts';

/** What a reload did to the pools, by name. */
export interface ReloadSummary {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
  readonly unchanged: string[];
}

/**
 * A reload's plan (pure): which pools are new, gone, changed or untouched, by comparing the
 * settings in force with the next ones. Names keep the order of the settings they come from.
 */
export function planReload(
  current: ReadonlyMap<string, PoolSettings>,
  next: ReadonlyMap<string, PoolSettings>,
): ReloadSummary {
  const summary: ReloadSummary = { added: [], removed: [], changed: [], unchanged: [] };
  for (const [name, settings] of next) {
    const before = current.get(name);
    if (!before) summary.added.push(name);
    else if (samePool(before, settings)) summary.unchanged.push(name);
    else summary.changed.push(name);
  }
  for (const name of current.keys()) if (!next.has(name)) summary.removed.push(name);
  return summary;
}

/** Equal settings (the policy compared by name and options): the pool stays untouched. */
export function samePool(a: PoolSettings, b: PoolSettings): boolean {
  const key = (s: PoolSettings) =>
    JSON.stringify({
      ...s,
      policy: { name: s.policy.name, options: s.policy.ref.options },
      nodes: s.nodes.map((n) => ({ ...n, url: n.url.href })),
    });
  return key(a) === key(b);
}
