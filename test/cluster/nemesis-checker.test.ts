import test from 'ava';
import { check, type Invariant } from './nemesis/checker.ts';
import type { FaultKind } from './nemesis/faults.ts';
import {
  History,
  type Delivery,
  type InstanceEvent,
  type InstanceView,
  type OperatorAction,
  type RequestRecord,
  type StatusSample,
} from './nemesis/history.ts';
import type { Topology } from './nemesis/plan.ts';

// The checker on made-up histories: each invariant must fire on the history that breaks it and
// stay quiet on the ones the issue allows (Redis out, a paused instance, a whole pool down).
// A checker that cannot fail would make the nemesis worthless.

const topology: Topology = {
  gateways: 3,
  pools: { hs: ['hs-a', 'hs-b', 'hs-c'], rr: ['rr-a', 'rr-b'] },
  activePassive: 'hs',
};

interface Made {
  deliveries?: Array<[at: number, node: string, epoch: number | null, id?: string, method?: string]>;
  requests?: Array<Partial<RequestRecord> & { id: string; sentAt: number }>;
  faults?: Array<{ kind: FaultKind; target: string; out: Array<[number, number?]> }>;
  samples?: Array<[at: number, views: Array<InstanceView | { error: string }>]>;
  operator?: OperatorAction[];
  events?: InstanceEvent[];
  healedAt?: number;
  quorum?: number | 'majority';
  stalls?: Array<[from: number, until: number]>;
  /** Add a delivery for every answered request (default), as the upstreams would record it. */
  deliverAnswers?: boolean;
}

function history(made: Made): History {
  const h = new History();
  h.deliveries.push(
    ...(made.deliveries ?? []).map(
      ([at, node, epoch, id, method]): Delivery => ({
        at,
        pool: node.slice(0, 2),
        node,
        epoch,
        id: id ?? `d${at}`,
        method: method ?? 'GET',
      }),
    ),
  );
  h.requests.push(
    ...(made.requests ?? []).map((r) => ({
      pool: 'hs',
      method: 'GET' as const,
      gateway: 0,
      endedAt: r.sentAt + 5,
      status: 200,
      node: 'hs-a',
      ...r,
    })),
  );
  h.faults.push(
    ...(made.faults ?? []).map((f, i) => ({
      n: i + 1,
      kind: f.kind,
      target: f.target,
      startedAt: f.out[0]![0],
      outages: f.out.map(([from, until]) => ({ from, until })),
      notes: [],
    })),
  );
  h.samples.push(...(made.samples ?? []).map(([at, views]) => ({ at, views }) satisfies StatusSample));
  h.operator.push(...(made.operator ?? []));
  h.events.push(...(made.events ?? []));
  h.stalls.push(...(made.stalls ?? []).map(([from, until]) => ({ from, until, lagMs: until - from })));
  return h;
}

/** Delivers every answered request of `made` (so history-integrity holds unless a case breaks it). */
function withDeliveries(made: Made): Made {
  if (made.deliverAnswers === false) return made;
  const delivered = (made.requests ?? [])
    .filter((r) => (r.status ?? 200) < 300)
    .map((r): [number, string, null, string, string] => [
      r.sentAt + 1,
      r.node ?? 'hs-a',
      null,
      r.id,
      r.method ?? 'GET',
    ]);
  return { ...made, deliveries: [...(made.deliveries ?? []), ...delivered] };
}

const view = (
  active: string,
  epoch: number,
  options: { connected?: boolean; drained?: string; down?: string; unknown?: string } = {},
): InstanceView => ({
  connected: options.connected ?? true,
  pools: {
    hs: {
      active,
      epoch,
      nodes: Object.fromEntries(
        topology.pools.hs!.map((id) => [
          id,
          {
            cluster: id === options.down ? 'down' : id === options.unknown ? 'unknown' : 'up',
            local: id === options.down ? 'down' : 'up',
            draining: id === options.drained,
            usable: true,
          },
        ]),
      ),
    },
  },
});
const agreed = (at: number, active = 'hs-a', epoch = 1, options = {}): [number, InstanceView[]] => [
  at,
  [view(active, epoch, options), view(active, epoch, options), view(active, epoch, options)],
];
const promotion = (at: number, epoch: number, to: string, reason: string): InstanceEvent => ({
  at,
  instance: 'gw-0',
  type: 'promotion',
  pool: 'hs',
  to,
  epoch,
  reason,
});
const localHealth = (at: number, instance: string, node: string, to: string): InstanceEvent => ({
  at,
  instance,
  type: 'health',
  pool: 'hs',
  node,
  to,
  reason: `local: ${to}`,
});
const store = (at: number, instance: string, to: 'connected' | 'disconnected'): InstanceEvent => ({
  at,
  instance,
  type: 'store',
  to,
  reason: '',
});
const steady: Made['samples'] = [agreed(10_000), agreed(11_000), agreed(12_000)];

function violated(made: Made): Invariant[] {
  const h = history(withDeliveries({ samples: steady, ...made }));
  return check(h, { topology, healedAt: made.healedAt ?? 10_000, failbackDelayMs: 10_000, quorum: made.quorum })
    .filter((v) => !v.stalled)
    .map((v) => v.invariant);
}

const cases: Array<[title: string, made: Made, expected: Invariant[]]> = [
  ['a quiet run', {}, []],
  [
    'epochs: each to one node',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-b', 2],
        [3, 'hs-a', 3],
      ],
    },
    [],
  ],
  [
    'epochs: one epoch at two nodes',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-b', 2],
        [3, 'hs-c', 2],
      ],
    },
    ['epoch-unique'],
  ],
  [
    'epochs: one epoch at two nodes, minted alone by an instance that lost Redis (local failover): excused',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-b', 2],
        [3, 'hs-c', 2],
      ],
      events: [
        promotion(2, 2, 'hs-b', 'active node down (cluster verdict)'),
        promotion(3, 2, 'hs-c', 'active node down (decided locally: Redis unreachable)'),
      ],
    },
    [],
  ],
  [
    'epochs: one epoch at two nodes, both through Redis: a violation',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-b', 2],
        [3, 'hs-c', 2],
      ],
      events: [promotion(2, 2, 'hs-b', 'active node down'), promotion(3, 2, 'hs-c', 'active node down')],
    },
    ['epoch-unique'],
  ],
  [
    'epochs: a local mint excuses only its own epoch',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-b', 2],
        [3, 'hs-c', 2],
        [4, 'hs-a', 3],
        [5, 'hs-b', 3],
      ],
      events: [promotion(3, 2, 'hs-c', 'active node down (decided locally: Redis unreachable)')],
    },
    ['epoch-unique'],
  ],
  [
    'epochs: a node sees a lower epoch after a higher one',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-a', 3],
        [3, 'hs-a', 1],
      ],
    },
    ['epoch-monotonic'],
  ],
  [
    'epochs: lower while Redis is out',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-a', 3],
        [1500, 'hs-a', 1],
      ],
      faults: [{ kind: 'redis-kill', target: 'redis', out: [[1000, 2000]] }],
    },
    [],
  ],
  [
    'epochs: lower within the grace after Redis is back',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-a', 3],
        [3500, 'hs-a', 1],
      ],
      faults: [{ kind: 'redis-pause', target: 'redis', out: [[1000, 2000]] }],
    },
    [],
  ],
  [
    'epochs: lower long after Redis is back',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-a', 3],
        [6000, 'hs-a', 1],
      ],
      faults: [{ kind: 'redis-kill', target: 'redis', out: [[1000, 2000]] }],
    },
    ['epoch-monotonic'],
  ],
  [
    'epochs: lower long after Redis is back, while one instance is not back on it yet',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-a', 3],
        [6000, 'hs-a', 1],
      ],
      faults: [{ kind: 'redis-kill', target: 'redis', out: [[1000, 2000]] }],
      events: [store(1100, 'gw-1', 'disconnected'), store(5900, 'gw-1', 'connected')],
    },
    [],
  ],
  [
    'epochs: lower long after every instance is back on Redis',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-a', 3],
        [9000, 'hs-a', 1],
      ],
      faults: [{ kind: 'redis-kill', target: 'redis', out: [[1000, 2000]] }],
      events: [store(1100, 'gw-1', 'disconnected'), store(5900, 'gw-1', 'connected')],
    },
    ['epoch-monotonic'],
  ],
  [
    // Seed 20261201: gw-2 decided locally (its store had lost Redis) and sent epoch 19 to hs-a
    // as hs-a hung; hs-a read it on waking, 3 s later, after epoch 20 and after gw-2 was back.
    'epochs: a stale one sent while an instance had lost Redis, received long after (held by a hung node)',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-a', 3],
        [9000, 'hs-a', 2, 'q1'],
      ],
      requests: [{ id: 'q1', sentAt: 1500, gateway: 2, method: 'POST', node: 'hs-a', status: 504 }],
      events: [store(1100, 'gw-2', 'disconnected'), store(2000, 'gw-2', 'connected')],
    },
    [],
  ],
  [
    'epochs: a stale one sent after every instance was back on Redis',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-a', 3],
        [9000, 'hs-a', 2, 'q1'],
      ],
      requests: [{ id: 'q1', sentAt: 8500, gateway: 2, node: 'hs-a', status: 200 }],
      events: [store(1100, 'gw-2', 'disconnected'), store(2000, 'gw-2', 'connected')],
    },
    ['epoch-monotonic'],
  ],
  [
    'epochs: a stale one from an instance that was paused',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-a', 3],
        [1500, 'hs-a', 1, 'p1'],
      ],
      requests: [{ id: 'p1', sentAt: 1100, gateway: 2, node: 'rr-x', status: 500 }],
      faults: [{ kind: 'gateway-pause', target: 'gw-2', out: [[1000, 2000]] }],
    },
    [],
  ],
  [
    'epochs: a stale one from another instance while one was paused',
    {
      deliveries: [
        [1, 'hs-a', 1],
        [2, 'hs-a', 3],
        [1500, 'hs-a', 1, 'p1'],
      ],
      requests: [{ id: 'p1', sentAt: 1100, gateway: 0, node: 'rr-x', status: 500 }],
      faults: [{ kind: 'gateway-pause', target: 'gw-2', out: [[1000, 2000]] }],
    },
    ['epoch-monotonic', 'failed-get'],
  ],
  ['GET: failed for no reason', { requests: [{ id: 'g1', sentAt: 500, status: 503 }] }, ['failed-get']],
  [
    'GET: no answer at all',
    { requests: [{ id: 'g1', sentAt: 500, status: 0, error: 'socket hang up' }] },
    ['failed-get'],
  ],
  [
    'GET: failed through an instance being killed',
    {
      requests: [{ id: 'g1', sentAt: 500, endedAt: 1001, status: 0, gateway: 1 }],
      faults: [{ kind: 'gateway-kill', target: 'gw-1', out: [[1000, 4000]] }],
    },
    [],
  ],
  [
    'GET: failed through an instance while another was killed',
    {
      requests: [{ id: 'g1', sentAt: 500, endedAt: 1001, status: 0, gateway: 0 }],
      faults: [{ kind: 'gateway-kill', target: 'gw-1', out: [[1000, 4000]] }],
    },
    ['failed-get'],
  ],
  [
    'GET: failed while every node of its pool was out',
    {
      requests: [{ id: 'g1', sentAt: 2500, status: 503 }],
      faults: [
        { kind: 'upstream-kill', target: 'hs/hs-a', out: [[1000, 3000]] },
        { kind: 'upstream-hang', target: 'hs/hs-b', out: [[2000, 4000]] },
        { kind: 'operator-drain', target: 'hs/hs-c', out: [[1500, 2600]] },
      ],
    },
    [],
  ],
  [
    'GET: failed while two of three nodes were out',
    {
      requests: [{ id: 'g1', sentAt: 2500, status: 503 }],
      faults: [
        { kind: 'upstream-kill', target: 'hs/hs-a', out: [[1000, 3000]] },
        { kind: 'upstream-hang', target: 'hs/hs-b', out: [[2000, 4000]] },
      ],
    },
    ['failed-get'],
  ],
  [
    'GET: failed while every node of the other pool was out',
    {
      requests: [{ id: 'g1', sentAt: 2500, status: 503 }],
      faults: [
        { kind: 'upstream-kill', target: 'rr/rr-a', out: [[1000, 3000]] },
        { kind: 'upstream-kill', target: 'rr/rr-b', out: [[1000, 3000]] },
      ],
    },
    ['failed-get'],
  ],
  [
    'GET: failed while the machine stalled (set aside)',
    { requests: [{ id: 'g1', sentAt: 2500, status: 503 }], stalls: [[2000, 2900]] },
    [],
  ],
  [
    'GET: failed long after the machine stalled',
    { requests: [{ id: 'g1', sentAt: 9000, status: 503 }], stalls: [[2000, 2900]] },
    ['failed-get'],
  ],
  [
    'POST: delivered twice while the machine stalled (never set aside)',
    {
      deliveries: [
        [2500, 'hs-a', 1, 'p1', 'POST'],
        [2600, 'hs-b', 2, 'p1', 'POST'],
      ],
      stalls: [[2000, 2900]],
    },
    ['duplicate-post'],
  ],
  ['POST: a failure is allowed', { requests: [{ id: 'p1', sentAt: 500, method: 'POST', status: 504 }] }, []],
  [
    'POST: delivered twice',
    {
      deliveries: [
        [1, 'hs-a', 1, 'p1', 'POST'],
        [2, 'hs-b', 2, 'p1', 'POST'],
      ],
    },
    ['duplicate-post'],
  ],
  [
    'GET: delivered twice (a retry) is fine',
    {
      deliveries: [
        [1, 'hs-a', 1, 'g1', 'GET'],
        [2, 'hs-a', 1, 'g1', 'GET'],
      ],
    },
    [],
  ],
  [
    'an answer the upstream has no record of',
    {
      requests: [{ id: 'g1', sentAt: 500, node: 'hs-b' }],
      deliveries: [[501, 'hs-a', 1, 'g1']],
      deliverAnswers: false,
    },
    ['history-integrity'],
  ],
  [
    'convergence: a short disagreement',
    {
      samples: [
        agreed(10_000),
        [10_100, [view('hs-a', 1), view('hs-b', 2), view('hs-b', 2)]],
        agreed(10_600),
        agreed(12_000),
      ],
    },
    [],
  ],
  [
    'convergence: a long disagreement',
    {
      samples: [
        agreed(10_000),
        [10_100, [view('hs-a', 1), view('hs-b', 2), view('hs-b', 2)]],
        [11_000, [view('hs-a', 1), view('hs-b', 2), view('hs-b', 2)]],
        agreed(11_300),
        agreed(12_000),
      ],
    },
    ['convergence'],
  ],
  [
    'convergence: never agreed',
    {
      samples: [
        agreed(10_000),
        [10_100, [view('hs-a', 1), view('hs-a', 1, { down: 'hs-c' }), view('hs-a', 1)]],
        [10_300, [view('hs-a', 1), view('hs-a', 1, { down: 'hs-c' }), view('hs-a', 1)]],
      ],
    },
    ['convergence'],
  ],
  [
    'convergence: reconnecting first is not disagreeing',
    {
      samples: [
        [10_000, [view('hs-a', 1), view('hs-b', 2, { connected: false }), { error: 'timeout' }]],
        [12_000, [view('hs-a', 1), view('hs-a', 1), view('hs-a', 1)]],
        agreed(13_000),
      ],
    },
    [],
  ],
  [
    'convergence: an instance never back on Redis',
    { samples: [[10_000, [view('hs-a', 1), view('hs-a', 1, { connected: false }), view('hs-a', 1)]]] },
    ['convergence'],
  ],
  [
    'convergence: a drain the operator undid',
    {
      samples: [agreed(10_000, 'hs-a', 1, { drained: 'hs-b' })],
      operator: [
        { at: 500, instance: 'gw-0', action: 'drain', pool: 'hs', node: 'hs-b', step: 1, status: 200 },
        { at: 900, instance: 'gw-1', action: 'enable', pool: 'hs', node: 'hs-b', step: 1, status: 200 },
      ],
    },
    ['convergence'],
  ],
  [
    'convergence: every instance finds a node up but its cluster verdict is unknown',
    { samples: [agreed(10_000, 'hs-a', 1, { unknown: 'hs-c' })] },
    ['convergence'],
  ],
  [
    'convergence: a drain that stays',
    {
      samples: [agreed(10_000, 'hs-a', 1, { drained: 'hs-b' })],
      operator: [{ at: 500, instance: 'gw-0', action: 'drain', pool: 'hs', node: 'hs-b', step: 1, status: 200 }],
    },
    [],
  ],
  [
    'control: a forced failover that everyone follows',
    {
      samples: [agreed(10_000), agreed(11_000), agreed(11_500, 'hs-b', 2)],
      operator: [
        {
          at: 11_000,
          endedAt: 11_010,
          instance: 'gw-0',
          action: 'failover',
          pool: 'hs',
          node: 'hs-b',
          step: 0,
          status: 200,
          body: '{"pool":"hs","active":"hs-b","epoch":2}',
        },
      ],
    },
    [],
  ],
  [
    'epochs: two operators answered the same epoch for two nodes',
    {
      operator: [
        {
          at: 500,
          endedAt: 510,
          instance: 'gw-1',
          action: 'failover',
          pool: 'hs',
          node: 'hs-b',
          step: 1,
          status: 200,
          body: '{"pool":"hs","active":"hs-b","epoch":2}',
        },
        {
          at: 500,
          endedAt: 520,
          instance: 'gw-2',
          action: 'failover',
          pool: 'hs',
          node: 'hs-c',
          step: 1,
          status: 200,
          body: '{"pool":"hs","active":"hs-c","epoch":2}',
        },
      ],
    },
    ['epoch-unique'],
  ],
  [
    'control: a failover refused as a lost race that another one won',
    {
      operator: [
        {
          at: 500,
          endedAt: 520,
          instance: 'gw-2',
          action: 'failover',
          pool: 'hs',
          step: 1,
          status: 409,
          body: '{"error":{"detail":"another change won the race; read /status and retry"}}',
        },
      ],
      events: [{ at: 515, instance: 'gw-1', type: 'promotion', pool: 'hs', to: 'hs-b', epoch: 2, reason: '' }],
    },
    [],
  ],
  [
    'control: a failover refused as a lost race nobody won',
    {
      operator: [
        {
          at: 5000,
          endedAt: 5020,
          instance: 'gw-2',
          action: 'failover',
          pool: 'hs',
          step: 1,
          status: 409,
          body: '{"error":{"detail":"another change won the race; read /status and retry"}}',
        },
      ],
    },
    ['operator-control'],
  ],
  [
    'control: a failover refused as a lost race while Redis was out',
    {
      operator: [
        {
          at: 5000,
          endedAt: 5020,
          instance: 'gw-2',
          action: 'failover',
          pool: 'hs',
          step: 1,
          status: 409,
          body: '{"error":{"detail":"another change won the race; read /status and retry"}}',
        },
      ],
      faults: [{ kind: 'redis-kill', target: 'redis', out: [[4000, 4500]] }],
    },
    [],
  ],
  [
    'control: a failover refused because no node can take over',
    {
      operator: [
        {
          at: 5000,
          endedAt: 5020,
          instance: 'gw-2',
          action: 'failover',
          pool: 'hs',
          step: 1,
          status: 409,
          body: '{"error":{"detail":"no usable node to failover to"}}',
        },
      ],
    },
    [],
  ],
  [
    'hold-down: an automatic failback after the delay',
    {
      events: [
        promotion(1000, 2, 'hs-b', 'gw-0: failover requested by operator'),
        promotion(11_500, 3, 'hs-a', 'gw-1: failback: hs-a up for 30s'),
      ],
    },
    [],
  ],
  [
    'hold-down: an automatic failback right after a forced failover',
    {
      events: [
        promotion(1000, 2, 'hs-b', 'gw-0: failover requested by operator'),
        promotion(1017, 3, 'hs-a', 'gw-2: failback: hs-a up for 50s'),
      ],
    },
    ['failback-hold-down'],
  ],
  [
    "hold-down: an operator's failback may come at once",
    {
      events: [
        promotion(1000, 2, 'hs-b', 'gw-0: failover requested by operator'),
        promotion(1500, 3, 'hs-a', 'gw-1: failback requested by operator: failback to hs-a'),
      ],
    },
    [],
  ],
  [
    'evidence: a failover with one instance of three finding the node down, quorum majority',
    {
      quorum: 'majority',
      events: [localHealth(1000, 'gw-0', 'hs-a', 'down'), promotion(1050, 2, 'hs-b', 'gw-0: hs-a is down')],
    },
    ['failover-evidence'],
  ],
  [
    'evidence: a failover with two instances of three finding the node down, quorum majority',
    {
      quorum: 'majority',
      events: [
        localHealth(1000, 'gw-0', 'hs-a', 'down'),
        localHealth(1040, 'gw-2', 'hs-a', 'down'),
        promotion(1050, 2, 'hs-b', 'gw-0: hs-a is down'),
      ],
    },
    [],
  ],
  [
    'evidence: a second vote that came and went before the failover does not count',
    {
      quorum: 'majority',
      events: [
        localHealth(500, 'gw-2', 'hs-a', 'down'),
        localHealth(800, 'gw-2', 'hs-a', 'up'),
        localHealth(1000, 'gw-0', 'hs-a', 'down'),
        promotion(1050, 2, 'hs-b', 'gw-0: hs-a is down'),
      ],
    },
    ['failover-evidence'],
  ],
  [
    'evidence: quorum 1, one instance is enough',
    { events: [localHealth(1000, 'gw-0', 'hs-a', 'down'), promotion(1050, 2, 'hs-b', 'gw-0: hs-a is down')] },
    [],
  ],
  [
    'evidence: decided locally while Redis is lost',
    {
      quorum: 'majority',
      events: [
        localHealth(1000, 'gw-0', 'hs-a', 'down'),
        promotion(1050, 2, 'hs-b', 'gw-0: hs-a is down (decided locally: Redis unreachable)'),
      ],
    },
    [],
  ],
  [
    'GET: failed through an instance cut off its pool’s node',
    {
      requests: [{ id: 'g1', sentAt: 2500, status: 503, gateway: 1 }],
      faults: [{ kind: 'gateway-partition', target: 'gw-1→hs/hs-a', out: [[1000, 3000]] }],
    },
    [],
  ],
  [
    'GET: failed through another instance than the one cut off',
    {
      requests: [{ id: 'g1', sentAt: 2500, status: 503, gateway: 0 }],
      faults: [{ kind: 'gateway-partition', target: 'gw-1→hs/hs-a', out: [[1000, 3000]] }],
    },
    ['failed-get'],
  ],
  [
    'control: a forced failover refused',
    {
      operator: [
        {
          at: 13_000,
          instance: 'gw-0',
          action: 'failover',
          pool: 'hs',
          step: 0,
          status: 409,
          body: '{"error":{"code":"FAILOVER_REFUSED"}}',
        },
      ],
    },
    ['operator-control'],
  ],
  [
    'control: a forced failover one instance never follows',
    {
      samples: [
        agreed(10_000),
        [11_500, [view('hs-b', 2), view('hs-b', 2), view('hs-a', 1)]],
        [12_500, [view('hs-b', 2), view('hs-b', 2), view('hs-a', 1)]],
      ],
      operator: [
        {
          at: 11_000,
          endedAt: 11_010,
          instance: 'gw-0',
          action: 'failover',
          pool: 'hs',
          node: 'hs-b',
          step: 0,
          status: 200,
          body: '{"pool":"hs","active":"hs-b","epoch":2}',
        },
      ],
    },
    ['operator-control'],
  ],
];

for (const [title, made, expected] of cases) {
  test(`checker: ${title}`, (t) => {
    t.deepEqual([...new Set(violated(made))].sort(), [...expected].sort());
  });
}
