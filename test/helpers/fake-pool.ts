import type { NodeView, PickContext, PoolView, Policy, PolicyDefinition } from '../../src/policy/types.ts';

export type FakeNode = { -readonly [K in keyof NodeView]: NodeView[K] };

/** A node view with healthy defaults; tests flip fields to simulate health, breakers, load. */
export function fakeNode(id: string, over: Partial<FakeNode> = {}): FakeNode {
  return {
    id,
    url: new URL(`http://${id}.test:80`),
    weight: 1,
    tier: 0,
    standby: undefined,
    health: 'up',
    local: 'up',
    cluster: 'up',
    upSince: 0,
    breaker: 'closed',
    inflight: 0,
    draining: false,
    usable: true,
    ...over,
  };
}

export type FakePool = PoolView & {
  nodes: FakeNode[];
  active: string | null;
  epoch: number | null;
  activeSince: number | null;
  version?: number;
  node(id: string): FakeNode;
};

export function fakePool(nodes: FakeNode[], over: Partial<Pick<PoolView, 'active' | 'epoch' | 'name' | 'activeSince'>> = {}): FakePool {
  return {
    name: over.name ?? 'pool',
    nodes,
    active: over.active ?? null,
    epoch: over.epoch ?? null,
    activeSince: over.activeSince ?? null,
    node(id: string) {
      const found = nodes.find((n) => n.id === id);
      if (!found) throw new Error(`no node ${id}`);
      return found;
    },
  };
}

export function pickContext(over: Partial<PickContext> = {}): PickContext {
  return { method: 'GET', path: '/', headers: {}, clientIp: '127.0.0.1', attempt: 1, tried: new Set(), now: 0, ...over };
}

/** Creates a policy from a definition with validated options (as the gateway would). */
export function instantiate(definition: PolicyDefinition, options: unknown, pool: PoolView): Policy {
  const parsed = definition.options ? definition.options.parse(options ?? {}) : options;
  return definition.create(parsed as never, { name: pool.name, nodes: pool.nodes });
}

/** `count` picks; returns how often each node id was chosen. */
export function tally(policy: Policy, pool: PoolView, count: number, ctx: (i: number) => PickContext = () => pickContext()): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const node = policy.pick(pool, ctx(i));
    const key = node?.id ?? '(none)';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The fraction of the tallied picks that went to `id`. */
export function share(counts: Map<string, number>, id: string): number {
  let total = 0;
  for (const n of counts.values()) total += n;
  return (counts.get(id) ?? 0) / total;
}
