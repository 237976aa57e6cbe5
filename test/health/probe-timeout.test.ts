import test from 'ava';
import { MAX_TIMEOUT_EXTENSIONS, timeoutVerdict } from '../../src/health/probe-timeout.ts';

// A heartbeat timer that fires on time is a verdict on the node; one that fires long after it was
// due says this process stalled, and the node gets another timeout (a bounded number of times).
const cases = [
  { name: 'on time: the node is slow', timeoutMs: 80, late: 0, extensions: 0, verdict: 'fail' },
  { name: 'a few ms late (normal timer jitter)', timeoutMs: 80, late: 15, extensions: 0, verdict: 'fail' },
  { name: 'just under half a timeout late', timeoutMs: 80, late: 40, extensions: 0, verdict: 'fail' },
  { name: 'more than half a timeout late: a stall', timeoutMs: 80, late: 41, extensions: 0, verdict: 'extend' },
  { name: 'a short timeout still needs 20 ms of lateness', timeoutMs: 10, late: 20, extensions: 0, verdict: 'fail' },
  { name: 'a short timeout, 21 ms late', timeoutMs: 10, late: 21, extensions: 0, verdict: 'extend' },
  { name: 'a long stall, second time', timeoutMs: 500, late: 2000, extensions: 1, verdict: 'extend' },
  {
    name: 'stalled again after the last extension: judged',
    timeoutMs: 500,
    late: 2000,
    extensions: MAX_TIMEOUT_EXTENSIONS,
    verdict: 'fail',
  },
] as const;

for (const c of cases) {
  test(`${c.name} → ${c.verdict}`, (t) => {
    const dueAt = 1_000;
    t.is(
      timeoutVerdict({ dueAt, firedAt: dueAt + c.late, timeoutMs: c.timeoutMs, extensions: c.extensions }),
      c.verdict,
    );
  });
}
