/**
 * What the live graphs' recording costs per request, in isolation: the calls the request path
 * makes into TrafficSeries for one request (one attempt and the finished request), timed over
 * millions of requests spread across the seconds of a fake clock, so slots are reused as in a
 * long run. Compare with the whole gateway's CPU per request (bench/cpu-per-request.ts).
 *
 *   node --import tsx bench/series-cost.ts --requests 5000000 --rounds 5
 */
import { parseArgs } from 'node:util';
import { TrafficSeries } from '../src/admin/traffic-series.ts';
import type { RequestRecord } from '../src/pipeline/record-request.ts';
import type { AttemptOutcome } from '../src/policy/types.ts';
import type { PoolSet } from '../src/pool/pool-set.ts';
import type { Clock } from '../src/util/clock.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000000' },
    rounds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '10000' },
  },
});
const requests = Number(values.requests);
const perSecond = Number(values.rate);

// Fake time: the series' once-a-second timer runs when the loop passes its due time.
let now = 1_800_000_000_000;
let due = Infinity;
let timer: () => void = () => {};
const clock: Clock = {
  now: () => now,
  schedule(ms, fn) {
    due = now + ms;
    timer = fn;
    return () => (due = Infinity);
  },
  sleep: async () => {},
};
const nodes = ['web-1', 'web-2', 'web-3'].map((id) => ({ id, inflight: 0 }));
const pools = { all: () => [{ name: 'web', nodes }], get: () => ({ name: 'web', nodes }) } as unknown as PoolSet;
const series = new TrafficSeries(() => pools, clock);

const outcomes: AttemptOutcome[] = [
  { kind: 'ok', status: 200, latencyMs: 1.7, failed: false },
  { kind: 'ok', status: 200, latencyMs: 3.2, failed: false },
  { kind: 'status', status: 503, latencyMs: 12, failed: true },
];
const records: RequestRecord[] = [1.9, 3.4, 14.2].map((durationMs, i) => ({
  requestId: 'r',
  method: 'GET',
  path: '/',
  client: '127.0.0.1',
  route: 'all',
  pool: 'web',
  node: nodes[i]!.id,
  attempts: 1,
  status: i === 2 ? 503 : 200,
  error: undefined,
  aborted: false,
  durationMs,
}));

let sink = 0;
function run(count: number, record = true): number {
  const step = 1000 / perSecond;
  // CPU time, not wall time: on a busy machine the process may wait for a core.
  const started = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    now += step;
    if (now >= due) timer();
    const k = i % 3;
    if (record) {
      series.onAttempt('web', nodes[k]!.id, outcomes[k]!, false);
      series.onRequest(records[k]!);
    } else {
      sink += outcomes[k]!.latencyMs + records[k]!.durationMs; // the same loop, minus the recording
    }
  }
  const used = process.cpuUsage(started);
  return ((used.user + used.system) * 1000) / count;
}

run(200_000); // warm-up
run(200_000, false);
const results: number[] = [];
for (let round = 0; round < Number(values.rounds); round++) {
  // Interleaved: the loop alone, then with the recording; the difference is the recording.
  const loop = run(requests, false);
  const total = run(requests);
  results.push(total - loop);
  console.error(
    `round ${round + 1}: ${total.toFixed(1)} - ${loop.toFixed(1)} = ${results.at(-1)!.toFixed(1)} ns/request`,
  );
}
results.sort((a, b) => a - b);
console.log(
  `series recording: median ${results[Math.floor(results.length / 2)]!.toFixed(1)} ns CPU per request (${results.map((r) => r.toFixed(0)).join(', ')}), ${requests} requests per round at ${perSecond}/s of fake time${sink < 0 ? '' : ''}`,
);
const heap = process.memoryUsage();
console.log(`memory: ${(heap.arrayBuffers / 1024).toFixed(0)} KiB in typed arrays for 1 pool and 3 nodes`);
