import { definePolicy, eligibleNodes } from '../src/index.ts';

/**
 * Smooth weighted round-robin, as NGINX does it: every pick adds each candidate's weight to its
 * running score, takes the highest, and subtracts the total from it. Weights 5:1:1 give
 * a a b a c a a, spread out rather than in bursts.
 */
export default definePolicy({
  name: 'weighted-round-robin',
  create() {
    const score = new Map<string, number>();
    return {
      pick(pool, ctx) {
        const candidates = eligibleNodes(pool, ctx);
        let best;
        let bestScore = -Infinity;
        let total = 0;
        for (const node of candidates) {
          const current = (score.get(node.id) ?? 0) + node.weight;
          score.set(node.id, current);
          total += node.weight;
          if (current > bestScore) {
            best = node;
            bestScore = current;
          }
        }
        if (best) score.set(best.id, bestScore - total);
        return best;
      },
    };
  },
});
