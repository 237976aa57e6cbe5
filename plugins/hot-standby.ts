import {
  definePolicy,
  duration,
  z,
  type Election,
  type ElectionIntent,
  type NodeView,
  type PoolView,
} from '../src/index.ts';

/**
 * Active-passive: exactly one active node per pool, shared by every gateway instance through
 * the state store (the gateway applies `elect`'s answer by compare-and-set on the epoch).
 * Nodes rank by tier, then config order. When the active node becomes unusable (down, breaker
 * open, drained), the best usable standby takes over. Failback to a better-ranked node is
 * automatic once it has been up for `failbackDelay` and the current node has been active as
 * long (a hold-down: no flapping), or manual (`POST /pools/:pool/failback`). A pair that keeps
 * failing over and back waits twice as long for each round trip (up to `maxFailbackDelay`; a
 * state that lasted twice that long starts the count again); the count is stored with the active
 * state, so every instance backs off alike. Cold standbys (`standby: 'cold'`) are chosen only
 * when no hot node can serve; the gateway activates them through plugins' `activate` hook.
 * (The gateway itself suspends automatic failback after an operator's forced failover.)
 */
const options = z.strictObject({
  failback: z.enum(['auto', 'manual']).default('auto'),
  failbackDelay: duration.default(30_000),
  maxFailbackDelay: duration.default(600_000),
});

export default definePolicy({
  name: 'hot-standby',
  options,
  // A dead active node must be noticed in well under a second, and requests wait for the
  // takeover rather than fail. No hedging: only the active node may take requests, and a
  // copy sent to the standby would reach a node the epoch fences off.
  poolDefaults: {
    health: { interval: '250ms', timeout: '200ms', fall: 2, rise: 2 },
    retry: { waitForNode: '2s' },
    hedge: false,
  },
  create({ failback, failbackDelay, maxFailbackDelay }) {
    const ranked = new WeakMap<readonly NodeView[], NodeView[]>();
    const rank = (pool: PoolView): NodeView[] => {
      let list = ranked.get(pool.nodes);
      // Stryker disable next-line ConditionalExpression: a cache: ranking again gives the same list
      if (!list) {
        list = [...pool.nodes].sort((a, b) => a.tier - b.tier); // stable: config order within a tier
        ranked.set(pool.nodes, list);
      }
      return list;
    };
    // No node has the id null: no active node before the first election.
    const activeNode = (pool: PoolView) => pool.nodes.find((n) => n.id === pool.active);

    return {
      pick(pool, ctx) {
        const active = activeNode(pool);
        return active?.usable && !ctx.tried.has(active.id) ? active : undefined;
      },

      elect(pool, now, intent) {
        const answer = decide(pool, now, intent);
        if (!answer || !('to' in answer)) return answer;
        // Stable: longer than the longest failback wait, which a flapping pair's standby state lasts.
        return { ...answer, flips: flipsAfter(pool, answer.to, now, 2 * Math.max(maxFailbackDelay, failbackDelay)) };
      },
    };

    function decide(pool: PoolView, now: number, intent: ElectionIntent): Election | { recheckAt: number } | undefined {
      const nodes = rank(pool);
      const current = activeNode(pool);
      const hot = nodes.filter((n) => n.usable && n.standby !== 'cold');
      const best = hot[0] ?? nodes.find((n) => n.standby === 'cold' && !n.draining);
      if (intent === 'failover') {
        const next =
          hot.find((n) => n !== current) ?? nodes.find((n) => n.standby === 'cold' && !n.draining && n !== current);
        return next && { to: next.id, reason: `forced failover from ${current?.id ?? 'none'}` };
      }
      if (intent === 'failback') {
        return best && best !== current ? { to: best.id, reason: `failback to ${best.id}` } : undefined;
      }
      if (!current)
        return (
          best && {
            to: best.id,
            reason: pool.active === null ? `initial active node` : `${pool.active} is no longer configured`,
          }
        );
      if (!current.usable && !(current.standby === 'cold' && !current.draining && !hot.length)) {
        // `best` is never `current` here: it is a usable hot node or, with none, the first cold
        // one not draining, and a current node that is cold and not draining has stayed (above).
        return best && { to: best.id, reason: `${current.id} is ${why(current)}` };
      }
      if (failback === 'manual' || !best || !ranksBefore(nodes, best, current)) return undefined;
      return failbackAfter(best, pool.activeSince, backoff(failbackDelay, maxFailbackDelay, pool.flips ?? 0), now);
    }
  },
});

/**
 * A change back to the node that was active before counts one more flip, unless the state it
 * ends lasted `stable` (then the count starts again).
 */
function flipsAfter(pool: PoolView, to: string, now: number, stable: number): number {
  // Stryker disable next-line ConditionalExpression: activeSince is null only before the first election, when there is no activeFrom to go back to
  const lasted = pool.activeSince === null ? Infinity : now - pool.activeSince;
  return to === pool.activeFrom && lasted < stable ? (pool.flips ?? 0) + 1 : 0;
}

/** The failback delay doubles with every round trip (two flips), up to the cap. */
function backoff(delay: number, cap: number, flips: number): number {
  return Math.min(delay * 2 ** Math.floor(flips / 2), Math.max(cap, delay));
}

function why(node: NodeView): string {
  if (node.draining) return 'drained';
  if (node.breaker === 'open') return 'failing (breaker open)';
  return node.health === 'down' ? 'down' : 'not usable';
}

function ranksBefore(ranked: NodeView[], a: NodeView, b: NodeView): boolean {
  return ranked.indexOf(a) < ranked.indexOf(b);
}

/** Fail back once the better node has been up, and the current one active, for the whole delay. */
function failbackAfter(
  best: NodeView,
  activeSince: number | null,
  delay: number,
  now: number,
): Election | { recheckAt: number } | undefined {
  if (best.upSince === undefined) return undefined;
  const at = Math.max(best.upSince, activeSince ?? 0) + delay;
  if (now >= at)
    return { to: best.id, reason: `failback: ${best.id} up for ${Math.round((now - best.upSince) / 1000)}s` };
  return { recheckAt: at };
}
