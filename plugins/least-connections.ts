import { definePolicy, eligibleNodes, type NodeView } from '../src/index.ts';

/**
 * The eligible node with the fewest requests in flight per unit of weight. Ties are broken at
 * random: taking the first would send every request of an idle pool to the same node, and
 * a burst of simultaneous requests would all land there before its count rises.
 */
export default definePolicy({
  name: 'least-connections',
  create() {
    // Reused between picks so a scan allocates nothing.
    // Stryker disable next-line ArrayDeclaration: emptied at the start of every pick
    const ties: NodeView[] = [];
    return {
      pick(pool, ctx) {
        // A full scan, O(n) per pick, on purpose: in-flight counts change on every request and
        // response, so nothing derived from them (a heap, a sorted list) would outlive a pick.
        const candidates = eligibleNodes(pool, ctx);
        let bestLoad = Infinity;
        ties.length = 0;
        for (const node of candidates) {
          const load = node.inflight / node.weight;
          if (load > bestLoad) continue;
          if (load < bestLoad) {
            bestLoad = load;
            ties.length = 0;
          }
          ties.push(node);
        }
        // Stryker disable next-line ConditionalExpression,EqualityOperator: a fast path; the draw picks the only tie (or none) too
        const chosen = ties.length <= 1 ? ties[0] : ties[Math.floor(Math.random() * ties.length)];
        ties.length = 0;
        return chosen;
      },
    };
  },
});
