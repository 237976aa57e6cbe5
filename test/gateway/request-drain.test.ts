import test from 'ava';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { RequestDrain } from '../../src/gateway/request-drain.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

// A graceful stop waits for the requests in flight, on the gateway's clock, up to the drain timeout.

/** A response on its own connection: over when it closes. */
const response = () => Object.assign(new EventEmitter(), { socket: {} }) as unknown as ServerResponse;
const turn = () => new Promise((resolve) => setImmediate(resolve));

test('counts a request until its response is over', (t) => {
  const requests = new RequestDrain(new FakeClock());
  const res = response();
  requests.track(res);
  t.is(requests.inflight, 1);
  res.emit('close');
  t.is(requests.inflight, 0);
});

test('nothing in flight: the drain is over at once', async (t) => {
  const requests = new RequestDrain(new FakeClock());
  await requests.drain(5000);
  t.true(requests.draining);
});

test('the drain ends when the last request is over, before the timeout', async (t) => {
  const clock = new FakeClock();
  const requests = new RequestDrain(clock);
  const res = response();
  requests.track(res);
  let over = false;
  void requests.drain(5000).then(() => (over = true));
  t.true(requests.draining, 'responses now say Connection: close');
  clock.advance(4000);
  await turn();
  t.false(over);
  res.emit('close');
  await turn();
  t.true(over);
});

test('a request that never ends is not waited for beyond the drain timeout', async (t) => {
  const clock = new FakeClock();
  const requests = new RequestDrain(clock);
  requests.track(response());
  let over = false;
  void requests.drain(5000).then(() => (over = true));
  clock.advance(4999);
  await turn();
  t.false(over);
  clock.advance(1);
  await turn();
  t.true(over);
  t.is(requests.inflight, 1);
});
