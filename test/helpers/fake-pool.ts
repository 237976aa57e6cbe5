import type { NodeView, PoolView, Policy, PolicyDefinition } from '../../src/policy/types.ts';
import { instantiate as instantiateChecked } from '../../src/testing/index.ts';

/**
 * The policy tests' helpers from before `baton/testing` (src/testing/), kept for the tests
 * written with them: here `usable` and `health` are plain fields a test sets by hand, and a
 * pool has no version unless the test gives it one. New tests use src/testing, whose nodes
 * derive `usable` as the gateway does; the pick context and tallies are shared.
 */
export { pickContext, share, tally } from '../../src/testing/index.ts';

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

export function fakePool(
  nodes: FakeNode[],
  over: Partial<Pick<PoolView, 'active' | 'epoch' | 'name' | 'activeSince'>> = {},
): FakePool {
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

/** Creates a policy from a definition with validated options (as the gateway would); options unchecked by tsc. */
export function instantiate(definition: PolicyDefinition, options: unknown, pool: PoolView): Policy {
  return instantiateChecked(definition, options as never, pool);
}
