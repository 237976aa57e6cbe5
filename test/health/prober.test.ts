import test from 'ava';
import http from 'node:http';
import { probeOnce } from '../../src/health/prober.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { eventually } from '../helpers/http.ts';
import { startUpstream } from '../helpers/upstream.ts';

// A heartbeat's timeout runs on the gateway's clock: a node that never answers fails the probe
// when the clock says the timeout passed, not before, however long the wall clock waits.

const settings = {
  path: '/health',
  intervalMs: 1000,
  timeoutMs: 10_000,
  rise: 1,
  fall: 1,
  expect: [{ min: 200, max: 399 }],
};

test('a probe that gets no answer fails when the clock passes its timeout', async (t) => {
  const seen: string[] = [];
  const up = await startUpstream('silent', (req) => seen.push(req.url ?? '')); // never answers
  t.teardown(() => up.close());
  const agent = new http.Agent();
  t.teardown(() => agent.destroy());
  const clock = new FakeClock();
  let result: { ok: boolean; detail: string } | undefined;
  void probeOnce({ url: new URL(up.url), agent }, settings, clock).then((r) => (result = r));
  await eventually(() => seen.length === 1, 2000);
  clock.advance(9999);
  await new Promise((resolve) => setImmediate(resolve));
  t.is(result, undefined, 'still waiting: the clock has not reached the timeout');
  clock.advance(1);
  await eventually(() => result !== undefined, 2000);
  t.deepEqual(result, { ok: false, detail: 'timeout after 10000ms' });
});

test('an answer before the timeout passes and leaves no timer behind', async (t) => {
  const up = await startUpstream('ok');
  t.teardown(() => up.close());
  const agent = new http.Agent();
  t.teardown(() => agent.destroy());
  const clock = new FakeClock();
  const result = await probeOnce({ url: new URL(up.url), agent }, settings, clock);
  t.true(result.ok);
  t.is(clock.pending, 0);
});
