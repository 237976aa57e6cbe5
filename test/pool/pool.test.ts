import test from 'ava';
import http from 'node:http';
import { Pool } from '../../src/pool/pool.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { settingsFor } from '../helpers/settings.ts';

// A request waiting for a usable node waits on the gateway's clock: until the pool changes,
// its wait runs out, or the client goes away, whichever is first.

function pool(t: { teardown(fn: () => void): void }, clock: FakeClock): Pool {
  const settings = settingsFor({
    listen: { port: 0 },
    pools: { web: { policy: 'round-robin', health: false, nodes: [{ id: 'a', url: 'http://127.0.0.1:9' }] } },
    routes: [{ path: '/', pool: 'web' }],
  }).pools.get('web')!;
  const agent = new http.Agent();
  t.teardown(() => agent.destroy());
  return new Pool(settings, [], { pick: () => undefined }, agent, clock);
}

const settled = (promise: Promise<void>) => {
  const state = { done: false };
  void promise.then(() => (state.done = true));
  return state;
};
const turn = () => new Promise((resolve) => setImmediate(resolve));

test('waitForChange ends when the clock passes the wait', async (t) => {
  const clock = new FakeClock();
  const wait = settled(pool(t, clock).waitForChange(500));
  clock.advance(499);
  await turn();
  t.false(wait.done);
  clock.advance(1);
  await turn();
  t.true(wait.done);
});

test('waitForChange ends at the next change, and its timer is cancelled', async (t) => {
  const clock = new FakeClock();
  const web = pool(t, clock);
  const wait = settled(web.waitForChange(60_000));
  web.changed();
  await turn();
  t.true(wait.done);
  t.is(clock.pending, 0);
});

test('waitForChange ends when the signal aborts', async (t) => {
  const clock = new FakeClock();
  const gone = new AbortController();
  const wait = settled(pool(t, clock).waitForChange(60_000, gone.signal));
  gone.abort();
  await turn();
  t.true(wait.done);
  t.is(clock.pending, 0);
});
