import test from 'ava';
import { latencyBucket } from '../../src/admin/latency-buckets.ts';
import { describeWindow } from '../../src/admin/series-view.ts';
import {
  addHistograms,
  emptySeries,
  mergeWindows,
  type RawSeries,
  type RawWindow,
} from '../../src/admin/series-window.ts';
import { TrafficSeries } from '../../src/admin/traffic-series.ts';
import type { PoolSet } from '../../src/pool/pool-set.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

// Windows of several worker processes merge into one by adding counters and histograms.

function series(values: Partial<Record<keyof RawSeries, unknown[]>>, points: number): RawSeries {
  return { ...emptySeries(points), ...values } as RawSeries;
}

const win = (from: number, points: number, pools: RawWindow['pools']): RawWindow => ({
  from,
  points,
  latencyBuckets: 40,
  pools,
});

test('merging adds counters point by point over the union of the windows, and keeps every pool and node', (t) => {
  const worker1 = win(100, 3, {
    web: {
      pool: series(
        {
          requests: [1, 2, 3],
          inflight: [1, 1, 0],
          latency: [
            [5, 1],
            [5, 2],
            [6, 3],
          ],
        },
        3,
      ),
      nodes: { a: series({ attempts: [1, 2, 3] }, 3) },
    },
  });
  const worker2 = win(101, 3, {
    web: {
      pool: series({ requests: [10, 20, 30], inflight: [2, 2, 2], latency: [[6, 10], [], [7, 30]] }, 3),
      nodes: { b: series({ attempts: [10, 20, 30], failedAttempts: [0, 1, 0] }, 3) },
    },
    api: { pool: series({ requests: [7, 7, 7] }, 3), nodes: {} },
  });
  const merged = mergeWindows([worker1, worker2]);
  t.is(merged.from, 100);
  t.is(merged.points, 4);
  const web = merged.pools.web!;
  t.deepEqual(web.pool.requests, [1, 12, 23, 30]);
  t.deepEqual(web.pool.inflight, [1, 3, 2, 2]);
  t.deepEqual(web.pool.latency, [
    [5, 1],
    [5, 2, 6, 10],
    [6, 3],
    [7, 30],
  ]);
  t.deepEqual(web.nodes.a!.attempts, [1, 2, 3, 0]);
  t.deepEqual(web.nodes.b!.attempts, [0, 10, 20, 30]);
  t.deepEqual(web.nodes.b!.failedAttempts, [0, 0, 1, 0]);
  t.deepEqual(merged.pools.api!.pool.requests, [0, 7, 7, 7]);
  t.deepEqual(worker1.pools.web!.pool.requests, [1, 2, 3], 'the inputs are not changed');
});

test('merging is order-independent; one window merges to itself; none to an empty window', (t) => {
  const a = win(10, 2, { p: { pool: series({ requests: [1, 2], latency: [[3, 1], []] }, 2), nodes: {} } });
  const b = win(11, 2, {
    p: {
      pool: series(
        {
          requests: [5, 5],
          latency: [
            [1, 2],
            [3, 4],
          ],
        },
        2,
      ),
      nodes: {},
    },
  });
  t.deepEqual(mergeWindows([a, b]), mergeWindows([b, a]));
  t.deepEqual(mergeWindows([a]), a);
  t.deepEqual(mergeWindows([]), { from: 0, points: 0, latencyBuckets: 40, pools: {} });
});

test('windows with another histogram layout are refused', (t) => {
  t.throws(() => mergeWindows([{ from: 0, points: 0, latencyBuckets: 20, pools: {} }]), { message: /20 buckets/ });
});

test('sparse histograms add bucket by bucket, in bucket order', (t) => {
  t.deepEqual(addHistograms([1, 2, 9, 1], [0, 5, 9, 4, 12, 1]), [0, 5, 1, 2, 9, 5, 12, 1]);
  t.deepEqual(addHistograms([], []), []);
});

function fakePools(): () => PoolSet {
  const set = {
    all: () => [
      {
        name: 'web',
        nodes: [
          { id: 'a', inflight: 0 },
          { id: 'b', inflight: 0 },
        ],
      },
    ],
    get: () => undefined,
  };
  return () => set as unknown as PoolSet;
}

test('two workers that each saw half of the traffic merge into what one process seeing all of it records', (t) => {
  const clocks = [new FakeClock(5_000_000), new FakeClock(5_000_000), new FakeClock(5_000_000)];
  const [worker1, worker2, whole] = clocks.map((clock) => new TrafficSeries(fakePools(), clock));
  const ok = (latencyMs: number) => ({ kind: 'ok' as const, status: 200, latencyMs, failed: false });
  for (let second = 0; second < 5; second++) {
    for (let i = 0; i < 40; i++) {
      const worker = i % 2 === 0 ? worker1! : worker2!;
      const ms = 1 + ((i * 37 + second * 11) % 200);
      const node = i % 3 === 0 ? 'a' : 'b';
      const failed = i % 7 === 0;
      for (const target of [worker, whole!]) {
        target.onAttempt('web', node, failed ? { kind: 'reset', latencyMs: ms, failed: true } : ok(ms), false);
        target.onRequest({
          requestId: '',
          method: 'GET',
          path: '/',
          client: '',
          route: 'r',
          pool: 'web',
          node,
          attempts: 1,
          status: failed ? 502 : 200,
          error: undefined,
          aborted: false,
          durationMs: ms,
        });
      }
    }
    for (const clock of clocks) clock.advance(1000);
  }
  const merged = mergeWindows([worker1!.window(5), worker2!.window(5)]);
  t.deepEqual(merged, whole!.window(5));
  const view = describeWindow(merged, 'gw');
  t.is(view.points, 5);
  t.true(view.pools.web!.pool.p99Ms.every((ms) => ms !== null && ms > 100 && ms <= 250));
  t.true(view.pools.web!.pool.responses5xxPct.every((pct) => pct !== null && pct > 0 && pct < 30));
  for (const worker of [worker1!, worker2!, whole!]) worker.stop();
});

test('the served view: rates as counts per second, shares in %, quantiles in ms, null where there is nothing to measure', (t) => {
  const tenMs = latencyBucket(10);
  const raw = win(1000, 2, {
    web: {
      pool: series(
        {
          requests: [0, 4],
          responses5xx: [0, 1],
          attempts: [0, 5],
          failedAttempts: [0, 1],
          retries: [0, 1],
          inflight: [0, 2],
          latency: [[], [tenMs, 4]],
        },
        2,
      ),
      nodes: {},
    },
  });
  const view = describeWindow(raw, 'gw-1');
  t.like(view, { instance: 'gw-1', from: 1_000_000, step: 1000, points: 2 });
  const pool = view.pools.web!.pool;
  t.deepEqual(pool.requests, [0, 4]);
  t.deepEqual(pool.responses5xxPct, [null, 25]);
  t.deepEqual(pool.failedAttemptsPct, [null, 20]);
  t.deepEqual(pool.retries, [0, 1]);
  t.deepEqual(pool.inflight, [0, 2]);
  t.is(pool.p50Ms[0], null);
  t.true(pool.p50Ms[1]! > 7 && pool.p50Ms[1]! <= 11.32, `p50 ${pool.p50Ms[1]} within the 10 ms bucket`);
  t.false('latency' in pool, 'histograms are not served');
});
