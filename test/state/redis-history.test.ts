import test from 'ava';
import { eventually } from '../helpers/http.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { partitionable, redisStore } from './redis-stores.ts';

// The epoch never goes backwards and is never left minted twice: Redis going back in time,
// proposals whose outcome is unknown, and two instances that decided alone. Real redis-server.

const activeIn = async (redis: { command(...args: string[]): Promise<string> }) =>
  (await redis.command('HGET', 'baton:{test}:active', 'db')).split('\r\n')[1] ?? '';

test('Redis restarted from an older snapshot: the instances restore the newer epoch, drain and vote; a new instance sees them', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const [a, b] = ['a', 'b'].map((id) => redisStore(t, redis.url, id, { quorum: 2 }));
  await Promise.all([a!.start(), b!.start()]);
  await a!.propose('db', { expectedEpoch: 0, to: 'primary', reason: 'initial' });
  a!.reportHealth('api', 'n1', 'down', 'a cannot reach it');
  await eventually(
    () => b!.activeState('db')?.epoch === 1 && b!.clusterHealth('api', 'n1')?.downVotes.length === 1,
    3000,
  );
  await redis.snapshot(); // what Redis will go back to: primary@1, one down vote of the two needed
  await b!.propose('db', { expectedEpoch: 1, to: 'standby', reason: 'failover' });
  await b!.setDrain('api', 'n2', true);
  b!.reportHealth('api', 'n1', 'down', 'b cannot reach it either');
  await eventually(
    () =>
      a!.activeState('db')?.epoch === 2 && a!.drained('api', 'n2') && a!.clusterHealth('api', 'n1')?.verdict === 'down',
    3000,
  );

  await redis.restart({ fromSnapshot: true });
  t.regex(await activeIn(redis), /"epoch":1/, 'Redis went back to epoch 1 (keeping its history id)');
  await eventually(async () => /"active":"standby"/.test(await activeIn(redis)), 10_000, 50);
  for (const store of [a!, b!])
    t.like(store.activeState('db'), { active: 'standby', epoch: 2 }, 'never adopted the older state');

  const c = redisStore(t, redis.url, 'c', { quorum: 2 });
  await c.start();
  await eventually(
    () =>
      c.activeState('db')?.epoch === 2 && c.drained('api', 'n2') && c.clusterHealth('api', 'n1')?.verdict === 'down',
    5000,
  );
  t.like(c.activeState('db'), { active: 'standby', epoch: 2 });
  t.like(
    await a!.propose('db', { expectedEpoch: 2, to: 'primary', reason: 'failback' }),
    { active: 'primary', epoch: 3 },
    'the compare-and-set works again',
  );
});

test('a proposal with no reply while Redis still counts as reachable is read back, never decided locally', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  // Commands time out after one heartbeat interval (3 s); Redis counts as lost after 7.5 s.
  const [a, b] = ['a', 'b'].map((id) =>
    redisStore(t, redis.url, id, { heartbeatIntervalMs: 3000, resyncIntervalMs: 5000 }),
  );
  await Promise.all([a!.start(), b!.start()]);
  await a!.propose('db', { expectedEpoch: 0, to: 'primary', reason: 'initial' });
  await eventually(() => b!.activeState('db')?.epoch === 1, 3000);
  const lost: string[] = [];
  for (const store of [a!, b!])
    store.onChange((c) => c.type === 'connection' && !c.connected && lost.push(store.instanceId));

  await redis.command('CLIENT', 'PAUSE', '4500', 'ALL');
  const [won, other] = await Promise.all([
    a!.propose('db', { expectedEpoch: 1, to: 'standby', reason: 'operator one' }),
    b!.propose('db', { expectedEpoch: 1, to: 'spare', reason: 'operator two' }),
  ]);
  t.deepEqual(lost, [], 'Redis never counted as lost (the case under test)');
  const winners = [won, other].filter((s) => s !== undefined);
  t.is(winners.length, 1, 'exactly one of the two proposals won');
  t.false(winners[0]!.reason.includes('decided locally'));
  await eventually(
    () => [a!, b!].every((s) => s.activeState('db')?.epoch === 2 && s.activeState('db')?.active === winners[0]!.active),
    3000,
  );
  t.regex(await activeIn(redis), new RegExp(`"active":"${winners[0]!.active}"`));
});

test('two instances that failed over alone to different nodes at the same epoch: healed with a new epoch', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const [a, b] = ['a', 'b'].map((id) => redisStore(t, redis.url, id));
  await Promise.all([a!.start(), b!.start()]);
  await a!.propose('db', { expectedEpoch: 0, to: 'primary', reason: 'initial' });
  await eventually(() => b!.activeState('db')?.epoch === 1, 3000);
  redis.pause();
  await eventually(() => !a!.connected && !b!.connected, 5000);
  const mine = await a!.propose('db', { expectedEpoch: 1, to: 'standby', reason: 'a alone' });
  const theirs = await b!.propose('db', { expectedEpoch: 1, to: 'spare', reason: 'b alone' });
  t.like(mine, { epoch: 2, active: 'standby' });
  t.like(theirs, { epoch: 2, active: 'spare' });
  redis.resume();
  await eventually(() => a!.connected && b!.connected, 5000);
  // The state ranked first by proposal id keeps its node, under an epoch nobody used yet.
  const first = mine!.id > theirs!.id ? mine! : theirs!;
  await eventually(() => [a!, b!].every((s) => s.activeState('db')?.epoch === 3), 5000);
  for (const store of [a!, b!]) t.like(store.activeState('db'), { active: first.active, epoch: 3 });
  t.regex(await activeIn(redis), /"epoch":3/);
});

test('equal epochs are ranked by proposal id, so every instance settles on the same state', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const a = redisStore(t, redis.url, 'a');
  await a.start();
  await a.propose('db', { expectedEpoch: 0, to: 'primary', reason: 'initial' });
  // A state of the same epoch written behind the instances' backs (as a Redis that lost writes could hold).
  const forged = JSON.stringify({
    active: 'standby',
    epoch: 1,
    since: Date.now(),
    reason: 'forged',
    by: 'x',
    id: 'zzzz',
    from: '',
    flips: 0,
    pinned: false,
  });
  await redis.command('HSET', 'baton:{test}:active', 'db', forged);
  await eventually(() => a.activeState('db')?.epoch === 2, 5000);
  t.like(
    a.activeState('db'),
    { active: 'standby', epoch: 2 },
    'the id "zzzz" ranks first; the tie is healed with epoch 2',
  );
});

test('localFailover off: an instance cut off from Redis does not fail over alone; only Redis mints epochs', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const link = await partitionable(t, redis.port);
  const a = redisStore(t, link.url, 'a', { localFailover: false });
  await a.start();
  await a.propose('db', { expectedEpoch: 0, to: 'primary', reason: 'initial' });
  link.cut();
  await eventually(() => !a.connected, 5000);
  const error = await t.throwsAsync(() => a.propose('db', { expectedEpoch: 1, to: 'standby', reason: 'alone' }));
  t.is((error as { code?: string }).code, 'STORE_UNAVAILABLE');
  t.like(a.activeState('db'), { active: 'primary', epoch: 1 });
  link.heal();
  await eventually(() => a.connected, 5000);
  t.like(await a.propose('db', { expectedEpoch: 1, to: 'standby', reason: 'through Redis' }), {
    active: 'standby',
    epoch: 2,
  });
});

test('a proposal sent just before Redis stops answering: 503 STORE_UNCONFIRMED, never a local guess; its outcome arrives later', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const [a, b] = ['a', 'b'].map((id) => redisStore(t, redis.url, id));
  await Promise.all([a!.start(), b!.start()]);
  await a!.propose('db', { expectedEpoch: 0, to: 'primary', reason: 'initial' });
  await redis.command('CLIENT', 'PAUSE', '3000', 'ALL');
  const error = await t.throwsAsync(() => a!.propose('db', { expectedEpoch: 1, to: 'standby', reason: 'operator' }));
  t.is((error as { code?: string }).code, 'STORE_UNCONFIRMED');
  t.like(a!.activeState('db'), { active: 'primary', epoch: 1 }, 'nothing decided locally');
  // Redis runs the queued proposal when it answers again: every instance follows it.
  await eventually(
    () =>
      [a!, b!].every(
        (s) => s.connected && s.activeState('db')?.active === 'standby' && s.activeState('db')?.epoch === 2,
      ),
    10_000,
  );
});

test('Redis missing a change an instance heard of (its writer gone): found by a snapshot, restored, and the history id renewed', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const a = redisStore(t, redis.url, 'a');
  const b = redisStore(t, redis.url, 'b');
  await Promise.all([a.start(), b.start()]);
  await b.propose('db', { expectedEpoch: 0, to: 'primary', reason: 'initial' });
  const first = await b.propose('db', { expectedEpoch: 1, to: 'standby', reason: 'failover' });
  await eventually(() => a.activeState('db')?.epoch === 2, 3000);
  const history = await redis.command('GET', 'baton:{test}:history');
  await b.stop();
  // Redis loses b's last write (a's own writes are all there: its count of them does not tell).
  const older = JSON.stringify({ ...first, active: 'primary', epoch: 1, id: 'lost', from: '' });
  await redis.command('HSET', 'baton:{test}:active', 'db', older);
  await eventually(async () => (await activeIn(redis)).includes('"epoch":2'), 5000);
  t.like(a.activeState('db'), { active: 'standby', epoch: 2 });
  t.not(await redis.command('GET', 'baton:{test}:history'), history, 'every instance is told to re-seed');
});
