import test from 'ava';
import { activeFailed } from '../../src/pool/active-controller.ts';
import type { UpstreamNode } from '../../src/pool/upstream-node.ts';

// Whether the active node must be replaced: by the evidence every instance applies alike.

const node = (over: Partial<Pick<UpstreamNode, 'draining' | 'cluster' | 'health' | 'breaker'>>) =>
  ({ draining: false, cluster: 'up', health: 'up', breaker: 'closed', ...over }) as UpstreamNode;

const table: Array<
  [
    string,
    Partial<Pick<UpstreamNode, 'draining' | 'cluster' | 'health' | 'breaker'>>,
    { quorum: number | 'majority'; connected: boolean },
    boolean,
  ]
> = [
  ['healthy', {}, { quorum: 1, connected: true }, false],
  ['drained, quorum 1', { draining: true }, { quorum: 1, connected: true }, true],
  ['drained, majority', { draining: true }, { quorum: 'majority', connected: true }, true],
  [
    'down here, quorum 1: this instance speaks for the cluster',
    { health: 'down' },
    { quorum: 1, connected: true },
    true,
  ],
  ['breaker open here, quorum 1', { breaker: 'open' }, { quorum: 1, connected: true }, true],
  ['down here only, quorum 2: not enough', { health: 'down', cluster: 'up' }, { quorum: 2, connected: true }, false],
  ['breaker open here only, majority: not enough', { breaker: 'open' }, { quorum: 'majority', connected: true }, false],
  [
    'down for the cluster, majority',
    { health: 'down', cluster: 'down' },
    { quorum: 'majority', connected: true },
    true,
  ],
  [
    'quorum 2 without the store: this instance’s own view',
    { health: 'down', cluster: 'down' },
    { quorum: 2, connected: false },
    true,
  ],
  ['quorum 2 without the store, breaker open', { breaker: 'open' }, { quorum: 2, connected: false }, true],
];

for (const [name, over, store, failed] of table) {
  test(name, (t) => {
    t.is(activeFailed(node(over), store), failed);
  });
}
