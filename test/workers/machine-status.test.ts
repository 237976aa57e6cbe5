import test from 'ava';
import type { NodeStatus, StatusDocument } from '../../src/admin/status.ts';
import { machineStatus, type WorkerStatus } from '../../src/workers/machine-status.ts';

const node = (id: string, patch: Partial<NodeStatus> = {}): NodeStatus => ({
  id,
  url: `http://${id}/`,
  tier: 0,
  weight: 1,
  standby: null,
  health: 'up',
  local: 'up',
  cluster: 'up',
  breaker: 'closed',
  inflight: 0,
  draining: false,
  usable: true,
  suspected: false,
  upSince: 1,
  ejectedUntil: null,
  downVotes: [],
  ...patch,
});

const report = (worker: number, nodes: NodeStatus[], active = 'a', epoch = 1): WorkerStatus => {
  const status: StatusDocument = {
    instance: `m-w${worker}`,
    store: 'memory',
    storeConnected: true,
    instances: [],
    certificates: [],
    pools: {
      api: {
        policy: 'hot-standby',
        active,
        epoch,
        activeSince: 1,
        pinned: false,
        flips: 0,
        failbackAt: null,
        hedge: null,
        nodes,
      },
    },
  };
  return { worker, pid: 100 + worker, inflight: nodes.reduce((sum, n) => sum + n.inflight, 0), status };
};

test('workers that agree: the lead worker’s document, in-flight summed, a row per worker', (t) => {
  const machine = machineStatus([
    report(2, [node('a', { inflight: 3 }), node('b')]),
    report(1, [node('a', { inflight: 2 }), node('b', { inflight: 1 })]),
  ]);
  t.is(machine.instance, 'm-w1');
  t.deepEqual(machine.workers, [
    { worker: 1, pid: 101, instance: 'm-w1', inflight: 3 },
    { worker: 2, pid: 102, instance: 'm-w2', inflight: 3 },
  ]);
  t.deepEqual(
    machine.pools.api!.nodes.map((n) => [n.id, n.inflight, n.workers]),
    [
      ['a', 5, undefined],
      ['b', 1, undefined],
    ],
  );
  t.is(machine.pools.api!.workers, undefined);
});

const disagreements: Array<{ name: string; second: Partial<NodeStatus> }> = [
  {
    name: 'a local verdict (passive ejection in one worker)',
    second: { local: 'down', health: 'down', usable: false },
  },
  { name: 'a breaker (it is per process)', second: { breaker: 'open', usable: false } },
];
for (const { name, second } of disagreements) {
  test(`workers that disagree on ${name}: per-worker rows for that node only`, (t) => {
    const machine = machineStatus([report(1, [node('a'), node('b')]), report(2, [node('a', second), node('b')])]);
    const [a, b] = machine.pools.api!.nodes;
    t.deepEqual(
      a!.workers?.map((row) => row.worker),
      [1, 2],
    );
    t.like(a!.workers?.[1], second as object);
    t.is(b!.workers, undefined);
  });
}

test('workers that have not all seen a promotion yet: per-worker active rows', (t) => {
  const machine = machineStatus([report(1, [node('a')], 'b', 2), report(2, [node('a')], 'a', 1)]);
  t.deepEqual(machine.pools.api!.workers, [
    { worker: 1, active: 'b', epoch: 2 },
    { worker: 2, active: 'a', epoch: 1 },
  ]);
});
