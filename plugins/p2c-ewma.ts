import { definePolicy, duration, eligibleNodes, z, type NodeView } from '../src/index.ts';

/** A latency estimate (ms) and when it was last updated. */
interface Estimate {
  latency: number;
  at: number;
}

/** Time-decayed EWMA: a sample's weight grows with the time since the last one. */
function blend(estimate: Estimate, sample: number, now: number, decay: number): void {
  const keep = Math.exp(-Math.max(0, now - estimate.at) / decay);
  estimate.latency = estimate.latency * keep + sample * (1 - keep);
  estimate.at = Math.max(estimate.at, now);
}

/**
 * Power of two choices over a peak-sensitive EWMA of latency (as Finagle and Linkerd do it):
 * two distinct random eligible nodes, and the one with the lower latency × (in flight + 1).
 * O(1) per pick; two random choices avoid the herd that "always the fastest" would cause.
 */
export default definePolicy({
  name: 'p2c-ewma',
  options: z.strictObject({
    decay: duration.default(10_000).refine((ms) => ms > 0, 'decay must be more than 0'),
    penalty: duration.default(1000),
  }),
  create({ decay, penalty }) {
    const estimates = new Map<string, Estimate>();
    // The pool's typical latency, from successful attempts only (a penalty would inflate it):
    // the prior for a node without samples, so a new node looks average and gets tried.
    let typical: Estimate | undefined;
    const prior = () => typical?.latency ?? 1;

    /** Latency × load. An estimate fades toward the prior while a node gets no traffic, so a
     * penalised node is tried again some time later instead of being shunned for ever. */
    const cost = (node: NodeView, now: number): number => {
      const estimate = estimates.get(node.id);
      const base = prior();
      const latency = estimate
        ? base + (estimate.latency - base) * Math.exp(-Math.max(0, now - estimate.at) / decay)
        : base;
      return latency * (node.inflight + 1);
    };

    return {
      pick(pool, ctx) {
        const candidates = eligibleNodes(pool, ctx);
        if (candidates.length <= 1) return candidates[0];
        const first = Math.floor(Math.random() * candidates.length);
        let second = Math.floor(Math.random() * (candidates.length - 1));
        if (second >= first) second += 1;
        const a = candidates[first]!;
        const b = candidates[second]!;
        // Stryker disable next-line EqualityOperator: on a tie either side will do: both draws are uniform, so every node gets the same share
        return cost(b, ctx.now) < cost(a, ctx.now) ? b : a;
      },
      observe(node, outcome, now) {
        // A client abort says nothing about the node, and its latency is only a lower bound.
        if (outcome.kind === 'aborted') return;
        const sample = outcome.failed ? Math.max(outcome.latencyMs, penalty) : outcome.latencyMs;
        const estimate = estimates.get(node.id);
        // Peak-sensitive: a slower sample (or a failure) counts at once; recoveries decay in.
        // Stryker disable EqualityOperator: an equal sample leaves the estimate as it is either way (time only moves forward)
        if (!estimate) estimates.set(node.id, { latency: sample, at: now });
        else if (sample >= estimate.latency) Object.assign(estimate, { latency: sample, at: now });
        else blend(estimate, sample, now, decay);
        // Stryker restore EqualityOperator
        if (outcome.failed) return;
        if (!typical) typical = { latency: sample, at: now };
        else blend(typical, sample, now, decay);
      },
    };
  },
});
