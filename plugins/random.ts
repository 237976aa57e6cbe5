import { definePolicy, duration, eligibleNodes, slowStartWeight, z, type NodeView } from '../src/index.ts';

/** What one candidate list needs for O(1)/O(log n) picks; kept until the list changes. */
interface Table {
  readonly list: readonly NodeView[];
  /** Running totals of the full weights, for a binary search. */
  readonly cumulative: Float64Array;
  readonly uniform: boolean;
  /** Until then some node is still ramping up, and picks weigh the list afresh. */
  readonly rampEnd: number;
}

function buildTable(list: readonly NodeView[], slowStart: number): Table {
  const cumulative = new Float64Array(list.length);
  let total = 0;
  // Stryker disable next-line UnaryOperator: the ramped weights equal the full weights outside a ramp, so taking the ramped path more often is only slower
  let rampEnd = -Infinity;
  for (let i = 0; i < list.length; i++) {
    const node = list[i]!;
    total += node.weight;
    cumulative[i] = total;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: with slowStart 0, the ramped weights equal the full weights outside a ramp, so taking the ramped path more often is only slower
    if (slowStart > 0 && node.upSince !== undefined) rampEnd = Math.max(rampEnd, node.upSince + slowStart);
  }
  // Stryker disable next-line ArrowFunction,ConditionalExpression,EqualityOperator: a fast path; the weighted draw gives equal weights the same odds
  const uniform = list.every((node) => node.weight === list[0]!.weight);
  return { list, cumulative, uniform, rampEnd };
}

function rampedTotals(list: readonly NodeView[], now: number, slowStart: number): Float64Array {
  const cumulative = new Float64Array(list.length);
  let total = 0;
  for (let i = 0; i < list.length; i++) cumulative[i] = total += slowStartWeight(list[i]!, now, slowStart);
  return cumulative;
}

/** The first index whose running total exceeds a uniform draw below the grand total. */
function drawIndex(cumulative: Float64Array): number {
  const target = Math.random() * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    // Stryker disable next-line EqualityOperator: `>=` differs only when the draw equals a running total exactly
    if (cumulative[mid]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * A random eligible node, weighted by `weight`. With `slowStart`, a node that came up recently
 * gets a share of its weight that grows with its uptime, so a cold node is not flooded.
 */
export default definePolicy({
  name: 'random',
  options: z.strictObject({ slowStart: duration.default(0) }),
  create({ slowStart }) {
    let cached: Table | undefined;
    return {
      pick(pool, ctx) {
        const candidates = eligibleNodes(pool, ctx);
        // Stryker disable next-line ConditionalExpression,EqualityOperator: a fast path; the draw returns the only candidate (or none) too
        if (candidates.length <= 1) return candidates[0];
        // eligibleNodes hands back the same array until pool.version moves (first tries only),
        // so the array's identity is the cache key; other lists are one-offs and not kept.
        // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: caching decides speed only: a table is used only for the very array it was built from
        const cacheable = pool.version !== undefined && ctx.tried.size === 0;
        // Stryker disable next-line ConditionalExpression: never reusing the cached table is only slower
        let table = cached?.list === candidates ? cached : undefined;
        // Stryker disable next-line ConditionalExpression: rebuilding the table is only slower
        if (!table) {
          table = buildTable(candidates, slowStart);
          // Stryker disable next-line ConditionalExpression: caching decides speed only: a table is used only for the very array it was built from
          if (cacheable) cached = table;
        }
        // Stryker disable next-line ConditionalExpression,EqualityOperator: the ramped weights equal the full weights outside a ramp, so taking the ramped path more often is only slower
        if (ctx.now < table.rampEnd) return candidates[drawIndex(rampedTotals(candidates, ctx.now, slowStart))];
        // Stryker disable next-line ConditionalExpression: a fast path; the weighted draw gives equal weights the same odds
        if (table.uniform) return candidates[Math.floor(Math.random() * candidates.length)];
        return candidates[drawIndex(table.cumulative)];
      },
    };
  },
});
