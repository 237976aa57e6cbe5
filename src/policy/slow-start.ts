import type { NodeView } from './types.ts';

/** Slow start's floor, as Envoy's min_weight_percent: a node that just came up still gets some traffic. */
const MIN_SHARE = 0.1;

/**
 * A node's weight during slow start: from 10 % when it came up to its full weight `windowMs`
 * later, linearly. Outside a window (or without one) it is just `node.weight`. A node whose
 * health is not known (`upSince` undefined) is not ramped.
 */
export function slowStartWeight(node: NodeView, now: number, windowMs: number): number {
  const since = node.upSince;
  if (windowMs <= 0 || since === undefined) return node.weight;
  // Stryker disable next-line EqualityOperator: at exactly windowMs the ramp below gives the full weight too
  if (now - since >= windowMs) return node.weight;
  return node.weight * Math.max(MIN_SHARE, (now - since) / windowMs);
}
