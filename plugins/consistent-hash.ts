import { definePolicy, eligibleNodes, z, type NodeView, type PickContext } from '../src/index.ts';

// The header or cookie name has its own key (`header: 'x-user'`, `cookie: 'sid'`): `name` is
// already the policy's name in the `{ name: 'consistent-hash', ... }` form.
const options = z
  .strictObject({
    key: z.enum(['header', 'cookie', 'ip', 'path'], { error: "key must be 'header', 'cookie', 'ip' or 'path'" }),
    header: z.string().min(1).optional(),
    cookie: z.string().min(1).optional(),
  })
  .superRefine(({ key, header, cookie }, ctx) => {
    if (key === 'header' && header === undefined)
      ctx.addIssue({ code: 'custom', path: ['header'], message: "key 'header' needs header: the header to hash on" });
    if (key === 'cookie' && cookie === undefined)
      ctx.addIssue({ code: 'custom', path: ['cookie'], message: "key 'cookie' needs cookie: the cookie to hash on" });
    if (key !== 'header' && header !== undefined)
      ctx.addIssue({ code: 'custom', path: ['header'], message: "header is only used with key 'header'" });
    if (key !== 'cookie' && cookie !== undefined)
      ctx.addIssue({ code: 'custom', path: ['cookie'], message: "cookie is only used with key 'cookie'" });
  });

/** Ring points per unit of weight: enough that each node's share is within a few % of fair. */
const POINTS_PER_WEIGHT = 160;
/** Caps a ring's size when weights are large; weights then share points proportionally. */
const MAX_POINTS = 1 << 20;
/** Points are sorted as hash × INDEX_SPAN + node index, which stays an exact double below 2^53. */
const INDEX_SPAN = 1 << 21;

/** FNV-1a, then murmur3's finaliser: FNV alone clusters similar keys ("n1#1", "n1#2") on the ring. */
// Stryker disable all: pinned bit for bit by the ring model in test/plugins/consistent-hash.test.ts; instrumented, it makes a million-point ring too slow for a mutation run
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
// Stryker restore all

interface Ring {
  readonly hashes: Uint32Array;
  readonly owners: readonly NodeView[];
}

/** One tier's ring. Point positions depend only on node ids, so every instance builds the same. */
function buildRing(nodes: readonly NodeView[]): Ring {
  const total = nodes.reduce((sum, node) => sum + node.weight * POINTS_PER_WEIGHT, 0);
  const scale = Math.min(1, MAX_POINTS / total);
  const packed: number[] = [];
  nodes.forEach((node, index) => {
    const count = Math.max(1, Math.round(node.weight * POINTS_PER_WEIGHT * scale));
    for (let i = 0; i < count; i++) packed.push(hash32(`${node.id}#${i}`) * INDEX_SPAN + index);
  });
  const sorted = Float64Array.from(packed).sort();
  const hashes = new Uint32Array(sorted.length);
  const owners = Array.from(sorted, (point, i) => {
    hashes[i] = Math.floor(point / INDEX_SPAN);
    return nodes[point % INDEX_SPAN]!;
  });
  return { hashes, owners };
}

/** A ring per tier over all its nodes, whatever their health: a node going down moves only its own keys. */
function buildRings(nodes: readonly NodeView[]): Map<number, Ring> {
  const tiers = new Map<number, NodeView[]>();
  for (const node of nodes) {
    const members = tiers.get(node.tier);
    if (members) members.push(node);
    else tiers.set(node.tier, [node]);
  }
  return new Map([...tiers].map(([tier, members]) => [tier, buildRing(members)]));
}

/** The first allowed owner clockwise from `point`: O(log n) to find the spot, then a walk over down nodes. */
function walk(ring: Ring, point: number, allowed: ReadonlySet<NodeView>): NodeView | undefined {
  const { hashes, owners } = ring;
  let lo = 0;
  let hi = hashes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hashes[mid]! < point) lo = mid + 1;
    else hi = mid;
  }
  // Stryker disable next-line EqualityOperator: one more step looks at the first owner again, already refused
  for (let step = 0; step < hashes.length; step++) {
    const owner = owners[(lo + step) % hashes.length]!;
    if (allowed.has(owner)) return owner;
  }
  return undefined;
}

function cookie(header: string | undefined, name: string): string | undefined {
  // Stryker disable next-line ArrayDeclaration: without a Cookie header, any list without `name=` finds nothing too
  for (const pair of header?.split(';') ?? []) {
    const eq = pair.indexOf('=');
    // Stryker disable next-line EqualityOperator: `eq >= 0` would only match an empty name, which the options refuse
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/** `name` is the cookie's name, or the header's in lower case (as Node gives headers). */
function keyOf(key: z.infer<typeof options>['key'], name: string, ctx: PickContext): string | undefined {
  if (key === 'ip') return ctx.clientIp;
  if (key === 'path') return ctx.path;
  if (key === 'cookie') return cookie(ctx.headers.cookie, name);
  const value = ctx.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Sticky picks: requests with the same key (a header, a cookie, the client IP or the path) go
 * to the same node while it is eligible, and a retry goes to the next node on the ring.
 * Requests without the key go to a random eligible node.
 */
export default definePolicy({
  name: 'consistent-hash',
  options,
  // Stryker disable next-line StringLiteral: the options require the name the key uses; the other default is never read
  create({ key: keyKind, header = '', cookie: cookieName = '' }) {
    const keyName = keyKind === 'header' ? header.toLowerCase() : cookieName;
    let rings: { nodes: readonly NodeView[]; byTier: Map<number, Ring> } | undefined;
    let allowed: { list: readonly NodeView[]; set: ReadonlySet<NodeView> } | undefined;
    return {
      pick(pool, ctx) {
        const candidates = eligibleNodes(pool, ctx);
        // Stryker disable next-line EqualityOperator: a fast path; the ring walk finds the only candidate too
        if (candidates.length <= 1) return candidates[0];
        const key = keyOf(keyKind, keyName, ctx);
        if (!key) return candidates[Math.floor(Math.random() * candidates.length)];
        // Rings depend on the node list only (ids, weights, tiers), not on health: kept while
        // pool.nodes is the same array. Sets of candidates are kept per cached candidate list.
        // Stryker disable next-line ConditionalExpression,EqualityOperator: caches decide speed only: rings and sets are reused only for the very arrays they were built from
        const cacheable = pool.version !== undefined;
        // Stryker disable next-line ConditionalExpression: never reusing the rings is only slower
        let byTier = cacheable && rings?.nodes === pool.nodes ? rings.byTier : undefined;
        // Stryker disable next-line ConditionalExpression: rebuilding the rings is only slower
        if (!byTier) {
          byTier = buildRings(pool.nodes);
          // Stryker disable next-line ConditionalExpression: caches decide speed only: rings and sets are reused only for the very arrays they were built from
          if (cacheable) rings = { nodes: pool.nodes, byTier };
        }
        // Stryker disable next-line ConditionalExpression: never reusing the set is only slower
        let set = allowed?.list === candidates ? allowed.set : undefined;
        // Stryker disable next-line ConditionalExpression: rebuilding the set is only slower
        if (!set) {
          set = new Set(candidates);
          // Only first-try lists come back (the same array) while pool.version holds.
          // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator,ObjectLiteral: caches decide speed only: rings and sets are reused only for the very arrays they were built from
          if (cacheable && ctx.tried.size === 0) allowed = { list: candidates, set };
        }
        return walk(byTier.get(candidates[0]!.tier)!, hash32(key), set);
      },
    };
  },
});
