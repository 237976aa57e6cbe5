import test from 'ava';
import { eventually } from '../helpers/http.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { changesOf, partitionable, PausableClock, redisStore } from './redis-stores.ts';

// Soft state heals itself: votes, drains and instance ids after pauses, outages and partitions.

test('an instance paused past its liveness is reaped, and on waking re-registers and replays its votes', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const clock = new PausableClock();
  const a = redisStore(t, redis.url, 'a', { quorum: 2 });
  const b = redisStore(t, redis.url, 'b', { quorum: 2, clock });
  const c = redisStore(t, redis.url, 'c', { quorum: 2 });
  await Promise.all([a.start(), b.start(), c.start()]);
  c.reportHealth('api', 'n1', 'up', 'c reaches it');
  a.reportHealth('api', 'n1', 'down', 'a cannot');
  b.reportHealth('api', 'n1', 'down', 'b cannot');
  await eventually(() => c.clusterHealth('api', 'n1')?.verdict === 'down', 3000);

  clock.pause(); // b's heartbeats stop (a SIGSTOP, a long GC pause)
  await eventually(
    () => !c.instances().some((i) => i.id === 'b') && c.clusterHealth('api', 'n1')?.verdict === 'up',
    5000,
  );
  clock.resume();
  await eventually(() => c.instances().some((i) => i.id === 'b'), 5000);
  await eventually(() => c.clusterHealth('api', 'n1')?.verdict === 'down', 5000);
  t.deepEqual(
    c.clusterHealth('api', 'n1')?.downVotes,
    ['a', 'b'],
    "b's vote counts again without b's verdict changing",
  );
});

test('a re-registration whose reply was lost (CLIENT PAUSE past the liveness) still replays the votes', async (t) => {
  // Nemesis F10. Redis holds every command for 3.5 beats: the first script after the pause reaps
  // every instance (their last beats are older than the 3-beat liveness), and each instance's
  // heartbeat queued during the pause then registers it anew, but that reply comes after the
  // client gave up on it. Its next heartbeat finds it registered, so only the lost reply said
  // "joined": the votes must be sent again anyway, or they stay missing for good.
  t.timeout(60_000);
  const redis = await startRedis(t);
  const beat = 200;
  const a = redisStore(t, redis.url, 'a', { quorum: 2, heartbeatIntervalMs: beat });
  const b = redisStore(t, redis.url, 'b', { quorum: 2, heartbeatIntervalMs: beat });
  await Promise.all([a.start(), b.start()]);
  a.reportHealth('api', 'n1', 'down', 'a cannot');
  b.reportHealth('api', 'n1', 'down', 'b cannot');
  await eventually(() => a.clusterHealth('api', 'n1')?.verdict === 'down', 3000);
  const votes = () => redis.command('HKEYS', 'baton:{test}:votes');

  await redis.command('CLIENT', 'PAUSE', String(beat * 3.5), 'ALL');
  await new Promise((resolve) => setTimeout(resolve, beat * 3.5));
  await eventually(async () => (await votes()).includes('api/n1|a') && (await votes()).includes('api/n1|b'), 5000);
  await eventually(() => a.clusterHealth('api', 'n1')?.verdict === 'down', 3000);
  t.deepEqual([...(a.clusterHealth('api', 'n1')?.downVotes ?? [])].sort(), ['a', 'b']);
});

test('drains and enables made while Redis is unreachable are kept, and applied everywhere when it returns', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const [a, b] = ['a', 'b'].map((id) => redisStore(t, redis.url, id));
  await Promise.all([a!.start(), b!.start()]);
  await a!.setDrain('api', 'n1', true);
  await eventually(() => b!.drained('api', 'n1'), 3000);
  redis.pause();
  await eventually(() => !a!.connected && !b!.connected, 5000);
  t.is(await a!.setDrain('api', 'n1', false), 'pending');
  t.is(await b!.setDrain('api', 'n2', true), 'pending');
  t.false(a!.drained('api', 'n1'), 'applied at once on the instance where it was made');
  t.true(b!.drained('api', 'n2'));
  redis.resume();
  await eventually(() => a!.connected && b!.connected, 5000);
  await eventually(() => !b!.drained('api', 'n1') && a!.drained('api', 'n2'), 5000);
  // And it stays so: the next resyncs do not undo it.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.false(a!.drained('api', 'n1'));
  t.false(b!.drained('api', 'n1'));
  t.true(a!.drained('api', 'n2'));
});

test('a drain made by a partitioned instance loses to a later one made through Redis', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const link = await partitionable(t, redis.port);
  const a = redisStore(t, link.url, 'a');
  const b = redisStore(t, redis.url, 'b');
  await Promise.all([a.start(), b.start()]);
  await b.setDrain('api', 'n1', true);
  await eventually(() => a.drained('api', 'n1'), 3000);
  link.cut();
  await eventually(() => !a.connected, 5000);
  t.is(await a.setDrain('api', 'n1', false), 'pending');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(await b.setDrain('api', 'n1', true), 'cluster', 'drained again through Redis, later');
  link.heal();
  await eventually(() => a.connected, 5000);
  await eventually(() => a.drained('api', 'n1'), 3000);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.true(b.drained('api', 'n1'), 'the older enable did not undo the newer drain');
  t.true(a.drained('api', 'n1'));
});

test('two instances with one id: the one that started later is refused, and takes over once the other is gone', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const link = await partitionable(t, redis.port);
  link.cut(); // both start while Redis is unreachable, so neither can be refused at start
  const first = redisStore(t, link.url, 'twin');
  await first.start();
  await new Promise((resolve) => setTimeout(resolve, 10));
  const second = redisStore(t, link.url, 'twin');
  const seen = changesOf(second);
  await second.start();
  link.heal();
  await eventually(() => first.connected, 5000);
  await eventually(
    () =>
      seen.some(
        (c) => c.type === 'connection' && !c.connected && /refused: 'twin' is held by a live instance/.test(c.reason),
      ) || !second.connected,
    5000,
  );
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.true(first.connected);
  t.false(second.connected, 'the later one stays out while the first one beats');
  second.reportHealth('api', 'n1', 'down', 'must not count');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(first.clusterHealth('api', 'n1'), undefined, 'its votes are not sent');
  await first.stop();
  await eventually(() => second.connected, 5000);
  await eventually(() => second.clusterHealth('api', 'n1')?.verdict === 'down', 3000);
});

test('an instance restarted under the id of one that crashed takes the id once its heartbeat expired', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const clock = new PausableClock();
  const crashed = redisStore(t, redis.url, 'gw', { clock });
  await crashed.start();
  clock.pause(); // it never beats again, and never leaves
  const restarted = redisStore(t, redis.url, 'gw');
  await restarted.start();
  t.true(restarted.connected);
});

test("the store's clock is Redis': a host clock 45 s ahead reads Redis time", async (t) => {
  const redis = await startRedis(t);
  const clock = new PausableClock();
  clock.skew = 45_000;
  const store = redisStore(t, redis.url, 'skewed', { clock });
  await store.start();
  t.true(Math.abs(store.now() - Date.now()) < 1000, `store time is off by ${Math.round(store.now() - Date.now())} ms`);
});
