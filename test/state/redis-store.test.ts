import { RedisStore } from '../../src/state/redis-store.ts';
import { systemClock } from '../../src/util/clock.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { storeContract } from './store-contract.ts';

storeContract('redis store', async (t, count, { quorum }) => {
  const redis = await startRedis(t);
  const stores = Array.from(
    { length: count },
    (_, i) =>
      new RedisStore({
        instanceId: `i${i}`,
        cluster: 'test',
        redis: redis.url,
        quorum: quorum ?? 1,
        resyncIntervalMs: 1000,
        heartbeatIntervalMs: 200,
        clock: systemClock(),
        log: silentLogger(),
      }),
  );
  await Promise.all(stores.map((s) => s.start()));
  t.teardown(() => Promise.all(stores.map((s) => s.stop())));
  return stores;
});
