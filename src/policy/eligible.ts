import type { NodeView, PickContext, PoolView } from './types.ts';

/**
 * The nodes a pick may choose from: usable, not yet tried for this request, and in the lowest
 * tier that has any such node (tier 0 is served while it can be; tier 1 only when it cannot).
 *
 * First tries (nothing tried yet) are the common case: their answer is cached per pool until
 * `pool.version` moves, so it costs nothing per request. Do not modify the returned array.
 */
export function eligibleNodes(pool: PoolView, ctx: PickContext): readonly NodeView[] {
  if (ctx.tried.size > 0 || pool.version === undefined) return compute(pool, ctx.tried);
  const cached = cache.get(pool);
  if (cached && cached.version === pool.version && cached.nodes === pool.nodes) return cached.list;
  const list = compute(pool, ctx.tried);
  cache.set(pool, { version: pool.version, nodes: pool.nodes, list });
  return list;
}

const cache = new WeakMap<PoolView, { version: number; nodes: readonly NodeView[]; list: readonly NodeView[] }>();

function compute(pool: PoolView, tried: ReadonlySet<string>): NodeView[] {
  let tier = Infinity;
  for (const node of pool.nodes) {
    // Stryker disable next-line EqualityOperator: `<=` finds the same lowest tier
    if (node.tier < tier && node.usable && !tried.has(node.id)) tier = node.tier;
  }
  const out: NodeView[] = [];
  // Stryker disable next-line ConditionalExpression: a fast path; the loop below finds no node of tier Infinity either
  if (tier === Infinity) return out;
  for (const node of pool.nodes) {
    if (node.tier === tier && node.usable && !tried.has(node.id)) out.push(node);
  }
  return out;
}
