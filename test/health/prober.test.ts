import http from 'node:http';
import test from 'ava';
import { healthDefaults } from '../../src/config/defaults.ts';
import { probeOnce, type ProbeResult } from '../../src/health/prober.ts';
import { startChildUpstream } from '../helpers/child-upstream.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { eventually } from '../helpers/http.ts';
import { startUpstream } from '../helpers/upstream.ts';

// A heartbeat's timeout is a verdict on the node, so it must measure the node, not the gateway:
// while the gateway's own event loop is stalled (GC, CPU starvation on a busy host), a healthy
// node's answer can sit unread in the socket, or the request may not even have gone out yet.

const TIMEOUT_MS = 60;

function settings() {
  return { ...healthDefaults, path: '/health', timeoutMs: TIMEOUT_MS };
}

/** Blocks this process's event loop, as a long GC pause or a starved CPU does. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else in this process runs
  }
}

const stalls = [
  { when: 'right after the probe starts (the request is not even sent yet)', at: 'sync' as const },
  { when: 'after the request went out (the answer arrives during the stall)', at: 'later' as const },
];

for (const { when, at } of stalls) {
  test(`a healthy node probed while the gateway stalls ${when} passes`, async (t) => {
    const node = await startChildUpstream(t, 'healthy');
    const agent = new http.Agent({ keepAlive: true });
    t.teardown(() => agent.destroy());
    // Warm the connection, as a running gateway's pool agent is.
    t.true((await probeOnce({ url: new URL(node.url), agent }, settings())).ok);
    const probe = probeOnce({ url: new URL(node.url), agent }, settings());
    if (at === 'sync') stall(TIMEOUT_MS * 4);
    // From the check phase: the next loop turn runs expired timers before it reads sockets.
    else setImmediate(() => stall(TIMEOUT_MS * 4));
    const result: ProbeResult = await probe;
    t.true(result.ok, result.detail);
  });
}

test('a hung node still fails its heartbeat, stall or not, within a bounded time', async (t) => {
  const node = await startChildUpstream(t, 'hung', { mode: 'hang' });
  const agent = new http.Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  for (const stalled of [false, true]) {
    const started = performance.now();
    const probe = probeOnce({ url: new URL(node.url), agent }, settings());
    if (stalled) stall(TIMEOUT_MS * 4);
    const result = await probe;
    const took = performance.now() - started;
    t.false(result.ok, `stalled: ${stalled}`);
    t.is(result.detail, `timeout after ${TIMEOUT_MS}ms`);
    // One timeout, or the stall plus one more timeout: never open-ended.
    t.true(took >= TIMEOUT_MS - 1, `${took} ms`);
    t.true(took < TIMEOUT_MS * 4 + TIMEOUT_MS + 2000, `${took} ms`);
  }
});

test('a node that refuses connections fails at once, not at the timeout', async (t) => {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  const agent = new http.Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const result = await probeOnce({ url: new URL(`http://127.0.0.1:${port}`), agent }, settings());
  t.false(result.ok);
  t.is(result.detail, 'ECONNREFUSED');
});

// A heartbeat's timeout runs on the gateway's clock: a node that never answers fails the probe
// when the clock says the timeout passed, not before, however long the wall clock waits.

const clockSettings = {
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
  void probeOnce({ url: new URL(up.url), agent }, clockSettings, clock).then((r) => (result = r));
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
  const result = await probeOnce({ url: new URL(up.url), agent }, clockSettings, clock);
  t.true(result.ok);
  t.is(clock.pending, 0);
});
