import { definePolicy, eligibleNodes, z, type NodeView } from 'baton';

/**
 * Canary split: a share of clients goes to the canary nodes, everyone else to the stable ones.
 * The share is decided per client address (stable: a client stays on its side), and a header
 * pins a request to one side (`x-canary: always` / `never`) for testers and for rollbacks.
 * When one side has no usable node, traffic goes to the other: a canary rollout must never
 * turn a healthy stable fleet into errors.
 *
 *   plugins: ['./examples/plugins/canary.ts'],
 *   pools: { api: { policy: { name: 'canary', canary: ['api-v2'], percent: 10 }, nodes: [...] } }
 */
export default definePolicy({
  name: 'canary',
  options: z.strictObject({
    /** Node ids that run the canary build. */
    canary: z.array(z.string().min(1)).min(1),
    /** Percent of clients sent to the canary. */
    percent: z.number().min(0).max(100).default(5),
    /** Request header that pins a request: `always` → canary, `never` → stable. */
    header: z.string().min(1).default('x-canary'),
  }),
  create({ canary, percent, header }) {
    const canaryIds = new Set(canary);
    const name = header.toLowerCase();
    let turn = 0;
    return {
      pick(pool, ctx) {
        const pin = ctx.headers[name];
        const toCanary = pin === 'always' ? true : pin === 'never' ? false : bucket(ctx.clientIp) < percent;
        const candidates = eligibleNodes(pool, ctx);
        const side = candidates.filter((node: NodeView) => canaryIds.has(node.id) === toCanary);
        const list = side.length > 0 ? side : candidates;
        if (list.length === 0) return undefined;
        turn = (turn + 1) % 0x7fffffff;
        return list[turn % list.length];
      },
    };
  },
});

/** 0–99, the same for the same client on every instance (FNV-1a of the address). */
export function bucket(client: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < client.length; i++) {
    hash ^= client.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % 100;
}
