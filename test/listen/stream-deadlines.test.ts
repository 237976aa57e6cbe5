import test from 'ava';
import {
  checkPeriodMs,
  headerBlockLate,
  streamVerdict,
  watchStream,
  type StreamLook,
  type StreamVerdict,
} from '../../src/listen/stream-deadlines.ts';

const timeouts = { headersTimeoutMs: 100, requestTimeoutMs: 500, sendTimeoutMs: 300 };

type Look = Omit<StreamLook, 'drains'> & { drains?: number };

const streams: Array<{ name: string; looks: Look[]; verdicts: StreamVerdict[] }> = [
  {
    name: 'a request complete in time, a response taken: fine all along',
    looks: [
      { now: 100, requestComplete: false, queued: 0 },
      { now: 400, requestComplete: true, queued: 0 },
      { now: 2000, requestComplete: false, queued: 0 },
    ],
    verdicts: ['ok', 'ok', 'ok'],
  },
  {
    name: 'a request body still arriving at requestTimeout is late',
    looks: [
      { now: 499, requestComplete: false, queued: 0 },
      { now: 500, requestComplete: false, queued: 0 },
    ],
    verdicts: ['ok', 'request-late'],
  },
  {
    name: 'bytes queued and never taken: stalled after sendTimeout',
    looks: [
      { now: 100, requestComplete: true, queued: 0 },
      { now: 200, requestComplete: true, queued: 16384 },
      { now: 399, requestComplete: true, queued: 16384 },
      { now: 400, requestComplete: true, queued: 16384 },
    ],
    verdicts: ['ok', 'ok', 'ok', 'send-stalled'],
  },
  {
    name: 'a queue that only grows is no progress (the client takes nothing)',
    looks: [
      { now: 0, requestComplete: true, queued: 0 },
      { now: 100, requestComplete: true, queued: 10 },
      { now: 200, requestComplete: true, queued: 20 },
      { now: 300, requestComplete: true, queued: 30 },
    ],
    verdicts: ['ok', 'ok', 'ok', 'send-stalled'],
  },
  {
    name: 'a slow reader that takes something each time is never stalled',
    looks: [
      { now: 0, requestComplete: true, queued: 0 },
      { now: 250, requestComplete: true, queued: 16384 },
      { now: 500, requestComplete: true, queued: 8000 },
      { now: 750, requestComplete: true, queued: 16384, drains: 1 },
      { now: 1000, requestComplete: true, queued: 16000, drains: 1 },
    ],
    verdicts: ['ok', 'ok', 'ok', 'ok', 'ok'],
  },
];

for (const { name, looks, verdicts } of streams) {
  test(`stream: ${name}`, (t) => {
    const watch = watchStream(0);
    t.deepEqual(
      looks.map((look) => streamVerdict(watch, { drains: 0, ...look }, timeouts)),
      verdicts,
    );
  });
}

const blocks: Array<{ name: string; looks: Array<[now: number, begun: number, settled: number]>; late: boolean[] }> = [
  {
    name: 'complete blocks are never late',
    looks: [
      [0, 1, 1],
      [500, 3, 3],
    ],
    late: [false, false],
  },
  {
    name: 'a block incomplete for headersTimeout is late',
    looks: [
      [0, 0, 0],
      [50, 1, 0],
      [149, 1, 0],
      [150, 1, 0],
    ],
    late: [false, false, false, true],
  },
  {
    name: 'a block that completes in time clears the watch; the next one is timed afresh',
    looks: [
      [0, 1, 0],
      [90, 1, 1],
      [100, 3, 1],
      [190, 3, 1],
      [200, 3, 1],
    ],
    late: [false, false, false, false, true],
  },
];

for (const { name, looks, late } of blocks) {
  test(`header block: ${name}`, (t) => {
    const watch = { pendingId: 0, since: 0 };
    t.deepEqual(
      looks.map(([now, begun, settled]) => headerBlockLate(watch, now, begun, settled, timeouts.headersTimeoutMs)),
      late,
    );
  });
}

test('checks run at a quarter of the shortest timeout, at least once a second', (t) => {
  t.is(checkPeriodMs(timeouts), 25);
  t.is(checkPeriodMs({ headersTimeoutMs: 10_000, requestTimeoutMs: 300_000, sendTimeoutMs: 60_000 }), 1000);
  t.is(checkPeriodMs({ headersTimeoutMs: 1, requestTimeoutMs: 1, sendTimeoutMs: 1 }), 10);
});
