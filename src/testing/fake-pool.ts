import type { PoolView } from '../policy/types.ts';
import type { FakeNode } from './fake-node.ts';

export interface FakePoolOptions {
  readonly name?: string;
  /** Active-passive pools: the active node's id. */
  readonly active?: string | null;
  readonly epoch?: number | null;
  readonly activeSince?: number | null;
  /**
   * The gateway always gives pools a version; `false` leaves it undefined, the contract's
   * other case (a policy must then derive nothing it keeps across picks).
   */
  readonly versioned?: boolean;
}

/**
 * A pool view for policy tests. `version` rises when a node's health, breaker, drain,
 * probation or tier changes, as the gateway's does, so policies that cache on it (and
 * `eligibleNodes`) see changes.
 */
export class FakePool implements PoolView {
  readonly name: string;
  readonly nodes: readonly FakeNode[];
  active: string | null;
  epoch: number | null;
  activeSince: number | null;
  version: number | undefined;

  constructor(nodes: readonly FakeNode[], options: FakePoolOptions = {}) {
    this.name = options.name ?? 'pool';
    this.nodes = nodes;
    this.active = options.active ?? null;
    this.epoch = options.epoch ?? null;
    this.activeSince = options.activeSince ?? null;
    this.version = options.versioned === false ? undefined : 1;
    for (const node of nodes) {
      node.onAnnouncedChange(() => {
        if (this.version !== undefined) this.version += 1;
      });
    }
  }

  node(id: string): FakeNode {
    const found = this.nodes.find((node) => node.id === id);
    if (!found) throw new Error(`no node '${id}' in pool '${this.name}'`);
    return found;
  }
}

export function fakePool(nodes: readonly FakeNode[], options?: FakePoolOptions): FakePool {
  return new FakePool(nodes, options);
}
