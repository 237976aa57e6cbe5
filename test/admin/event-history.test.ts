import test from 'ava';
import { EventHistory, HISTORY_MS } from '../../src/admin/event-history.ts';

// The failover timeline's memory: the last 15 minutes of each pool's events, bounded.

test('the event history keeps 15 minutes of pool events, bounded per pool, and says when it dropped some for room', (t) => {
  const history = new EventHistory(1000, 3);
  history.add({ type: 'store', scope: 'local', time: 1000, instance: 'gw', reason: 'connected' }, 1);
  history.add({ type: 'reload', scope: 'local', time: 1000, instance: 'gw', reason: 'reloaded' }, 2);
  t.deepEqual(history.events('web'), [], 'events without a pool are not kept');
  for (let i = 0; i < 5; i++)
    history.add(
      {
        type: 'breaker',
        scope: 'local',
        pool: 'web',
        node: 'a',
        to: 'open',
        time: 2000 + i,
        instance: 'gw',
        reason: 'x',
      },
      10 + i,
    );
  t.deepEqual(
    history.events('web').map((e) => e.seq),
    [12, 13, 14],
  );
  t.is(history.completeFrom('web'), 2001, 'complete from the newest dropped event on');
  t.is(history.completeFrom('api'), 1000, 'a pool that lost nothing: complete since start');
  history.add(
    {
      type: 'drain',
      scope: 'cluster',
      pool: 'web',
      node: 'a',
      to: 'draining',
      time: 2005 + HISTORY_MS,
      instance: 'gw',
      reason: 'x',
    },
    20,
  );
  t.deepEqual(
    history.events('web').map((e) => e.seq),
    [20],
    'older than 15 minutes: dropped',
  );
  history.add(
    {
      type: 'drain',
      scope: 'cluster',
      pool: 'api',
      node: 'x',
      to: 'draining',
      time: 2006 + 2 * HISTORY_MS,
      instance: 'gw',
      reason: 'x',
    },
    21,
  );
  t.deepEqual(history.events('web'), [], 'a pool without events for 15 minutes is forgotten');
});
