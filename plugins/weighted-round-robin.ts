import { definePolicy, duration, eligibleNodes, slowStartWeight, z, type NodeView } from '../src/index.ts';

/**
 * Smooth weighted round-robin, as NGINX does it: every pick adds each candidate's weight to its
 * running score, takes the highest, and subtracts the total from it. Weights 5:1:1 give
 * a a b a c a a, spread out rather than in bursts. With `slowStart`, a node that came up
 * recently counts with a weight that grows with its uptime, so a cold node is not flooded.
 */
export default definePolicy({
  name: 'weighted-round-robin',
  options: z.strictObject({ slowStart: duration.default(0) }),
  create({ slowStart }) {
    // Scores live in an array aligned with the candidate list, which eligibleNodes hands back
    // unchanged while the pool's version holds: a pick is one pass over numbers, no lookups.
    // When the list changes, scores carry over by node id.
    // Stryker disable next-line ArrayDeclaration: any first list is replaced by the first pick's candidates
    let list: readonly NodeView[] = [];
    let scores = new Float64Array(0);
    const align = (candidates: readonly NodeView[]) => {
      // Stryker disable next-line ConditionalExpression: realigning the same list gives the same scores (only slower)
      if (candidates === list) return;
      const previous = new Map(list.map((node, i) => [node.id, scores[i]!]));
      scores = Float64Array.from(candidates, (node) => previous.get(node.id) ?? 0);
      list = candidates;
    };
    return {
      pick(pool, ctx) {
        const candidates = eligibleNodes(pool, ctx);
        align(candidates);
        let best = -1;
        let total = 0;
        for (let i = 0; i < candidates.length; i++) {
          // Stryker disable next-line ConditionalExpression,EqualityOperator: without slow start slowStartWeight is the full weight too
          const weight = slowStart > 0 ? slowStartWeight(candidates[i]!, ctx.now, slowStart) : candidates[i]!.weight;
          scores[i]! += weight;
          total += weight;
          if (best === -1 || scores[i]! > scores[best]!) best = i;
        }
        // Stryker disable next-line ConditionalExpression: with no candidate, the lines below return candidates[-1], undefined too
        if (best === -1) return undefined;
        scores[best]! -= total;
        return candidates[best];
      },
    };
  },
});
