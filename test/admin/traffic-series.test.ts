import test from 'ava';
import { TrafficSeries } from '../../src/admin/traffic-series.ts';
import type { RequestRecord } from '../../src/pipeline/record-request.ts';
import type { AttemptOutcome } from '../../src/policy/types.ts';
import type { PoolSet } from '../../src/pool/pool-set.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

// The per-second rings behind GET /series, driven by a fake clock.

interface LiveNode {
  id: string;
  inflight: number;
}
type LivePools = Record<string, LiveNode[]>;

/** The two things TrafficSeries reads from the pool set: the pools and their nodes' in-flight counts. */
function poolSet(live: LivePools): () => PoolSet {
  const view = (name: string) => (live[name] ? { name, nodes: live[name] } : undefined);
  const set = { all: () => Object.keys(live).map(view), get: view };
  return () => set as unknown as PoolSet;
}

const START = 1_800_000_000_000; // on a second boundary

function setup(
  live: LivePools = {
    web: [
      { id: 'a', inflight: 0 },
      { id: 'b', inflight: 0 },
    ],
  },
) {
  const clock = new FakeClock(START);
  const series = new TrafficSeries(poolSet(live), clock);
  return { clock, series, live };
}

const record = (pool: string | undefined, status: number, durationMs: number, node?: string): RequestRecord => ({
  requestId: 'r',
  method: 'GET',
  path: '/',
  client: '127.0.0.1',
  route: 'all',
  pool,
  node,
  attempts: 1,
  status,
  error: undefined,
  aborted: false,
  durationMs,
});
const ok = (latencyMs: number): AttemptOutcome => ({ kind: 'ok', status: 200, latencyMs, failed: false });
const refused: AttemptOutcome = { kind: 'connect', latencyMs: 0.4, failed: true, detail: 'ECONNREFUSED' };
const status503: AttemptOutcome = { kind: 'status', status: 503, latencyMs: 3, failed: true };
const breakerOpen: AttemptOutcome = { kind: 'breaker-open', latencyMs: 0, failed: false };

test('requests and attempts are counted per second, per pool and per node; the current second is not served', (t) => {
  const { clock, series } = setup();
  // Second 0: a request retried from a (refused) to b; one answered 503 by b.
  series.onAttempt('web', 'a', refused, false);
  series.onAttempt('web', 'b', ok(4), true);
  series.onRequest(record('web', 200, 6, 'b'));
  series.onAttempt('web', 'b', status503, false);
  series.onRequest(record('web', 503, 4, 'b'));
  series.onAttempt('web', 'a', breakerOpen, false); // nothing sent: not an attempt
  series.onRequest(record(undefined, 404, 0.2)); // no route: no pool
  t.deepEqual(series.window(5).pools.web!.pool.requests, [0, 0, 0, 0, 0], 'nothing complete yet');
  clock.advance(1000);
  // Second 1: one request on a.
  series.onAttempt('web', 'a', ok(2), false);
  series.onRequest(record('web', 200, 2.5, 'a'));
  clock.advance(1000);

  const window = series.window(3, 'web');
  t.is(window.from, START / 1000 - 1);
  t.is(window.points, 3);
  const { pool, nodes } = window.pools.web!;
  t.deepEqual(pool.requests, [0, 2, 1]);
  t.deepEqual(pool.responses5xx, [0, 1, 0]);
  t.deepEqual(pool.attempts, [0, 3, 1]);
  t.deepEqual(pool.failedAttempts, [0, 2, 0]);
  t.deepEqual(pool.retries, [0, 1, 0]);
  t.is(
    pool.latency[1]!.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0),
    2,
    'two request durations in second 0',
  );
  t.deepEqual(Object.keys(nodes), ['a', 'b'], 'nodes in the pool order');
  t.deepEqual(nodes.a!.attempts, [0, 1, 1]);
  t.deepEqual(nodes.a!.failedAttempts, [0, 1, 0]);
  t.deepEqual(nodes.a!.requests, [0, 1, 1], 'for a node, requests are the attempts it got');
  t.deepEqual(nodes.b!.requests, [0, 2, 0]);
  t.deepEqual(nodes.b!.responses5xx, [0, 1, 0]);
  t.deepEqual(nodes.b!.retries, [0, 1, 0]);
});

test('in flight is sampled once a second, per node and summed for the pool', (t) => {
  const { clock, series, live } = setup();
  live.web![0]!.inflight = 3;
  live.web![1]!.inflight = 1;
  clock.advance(1500); // sampled just after second 1 starts
  live.web![0]!.inflight = 0;
  clock.advance(1000); // second 2
  clock.advance(1000); // second 3, not complete: not served
  const { pool, nodes } = series.window(3, 'web').pools.web!;
  t.deepEqual(pool.inflight, [0, 4, 1], 'second 0 was never sampled');
  t.deepEqual(nodes.a!.inflight, [0, 3, 0]);
  t.deepEqual(nodes.b!.inflight, [0, 1, 1]);
});

test('15 minutes are kept; an older second reads as zero once its slot is reused', (t) => {
  const { clock, series } = setup();
  series.onRequest(record('web', 200, 1));
  clock.advance(1000);
  t.is(series.window(900, 'web').pools.web!.pool.requests.at(-1), 1);
  clock.advance(899_000);
  const full = series.window(900, 'web').pools.web!.pool.requests;
  t.is(full.length, 900);
  t.is(full[0], 1, 'still there 900 s later');
  clock.advance(1000);
  series.onRequest(record('web', 200, 1));
  clock.advance(1000);
  const later = series.window(900, 'web').pools.web!.pool.requests;
  t.is(
    later.reduce((a, b) => a + b, 0),
    1,
    'the old second is gone, the new one counted',
  );
  t.is(series.window(3600, 'web').points, 900, 'a window is at most 15 minutes');
});

test('a removed node keeps its history for 15 minutes, then is forgotten', (t) => {
  const { clock, series, live } = setup();
  series.onAttempt('web', 'b', ok(1), false);
  live.web!.pop();
  clock.advance(2000);
  t.deepEqual(Object.keys(series.window(60, 'web').pools.web!.nodes), ['a', 'b']);
  t.is(series.window(60, 'web').pools.web!.nodes.b!.attempts.at(-2), 1);
  clock.advance(900_000);
  t.deepEqual(Object.keys(series.window(60, 'web').pools.web!.nodes), ['a']);
});

test('window() without a pool covers every pool; an unknown pool is absent', (t) => {
  const { clock, series } = setup({ web: [{ id: 'a', inflight: 0 }], api: [{ id: 'x', inflight: 2 }] });
  t.deepEqual(
    Object.keys(series.window(10).pools).sort(),
    ['api', 'web'],
    'configured pools before any traffic or sample',
  );
  t.deepEqual(Object.keys(series.window(10, 'api').pools.api!.nodes), ['x']);
  clock.advance(1500);
  t.deepEqual(Object.keys(series.window(10).pools).sort(), ['api', 'web']);
  t.deepEqual(series.window(10, 'nope').pools, {});
  t.true(series.has('api'));
  t.false(series.has('nope'));
});

test('stop() ends the sampling timer', (t) => {
  const { clock, series } = setup();
  t.is(clock.pending, 1);
  series.stop();
  t.is(clock.pending, 0);
});

test.serial(
  'constant memory: about 170 KB of typed arrays per pool and per node, and nothing more however much traffic',
  (t) => {
    const { clock, series } = setup({ web: [] });
    series.onRequest(record('web', 200, 1)); // the pool's ring
    const before = process.memoryUsage().arrayBuffers;
    series.onAttempt('web', 'new-node', ok(1), false); // one more ring
    const perRing = process.memoryUsage().arrayBuffers - before;
    t.true(perRing > 150_000 && perRing < 200_000, `${perRing} bytes for a node`);
    const settled = process.memoryUsage().arrayBuffers;
    for (let second = 0; second < 2000; second++) {
      for (let i = 0; i < 50; i++) {
        series.onAttempt('web', 'new-node', ok(i), i % 10 === 0);
        series.onRequest(record('web', i % 20 === 0 ? 503 : 200, i));
      }
      clock.advance(1000);
    }
    const grown = process.memoryUsage().arrayBuffers - settled;
    t.true(grown < 10_000, `typed arrays grew by ${grown} bytes over 2000 seconds of traffic`);
    series.stop();
  },
);
