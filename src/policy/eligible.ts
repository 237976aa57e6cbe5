import type { NodeView, PickContext, PoolView } from './types.ts';

/**
 * The nodes a pick may choose from: usable, not yet tried for this request, and in the lowest
 * tier that has any such node (tier 0 is served while it can be; tier 1 only when it cannot).
 */
export function eligibleNodes(pool: PoolView, ctx: PickContext): NodeView[] {
  let tier = Infinity;
  for (const node of pool.nodes) {
    if (node.tier < tier && node.usable && !ctx.tried.has(node.id)) tier = node.tier;
  }
  const out: NodeView[] = [];
  if (tier === Infinity) return out;
  for (const node of pool.nodes) {
    if (node.tier === tier && node.usable && !ctx.tried.has(node.id)) out.push(node);
  }
  return out;
}
