import { RedisStore } from '../../src/state/redis-store.ts';
import { systemClock } from '../../src/util/clock.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { storeContract } from './store-contract.ts';

storeContract('redis store', async (t, count, { quorum }) => {
  const redis = await startRedis(t);
  const store = (instanceId: string) =>
    new RedisStore({
      instanceId,
      cluster: 'test',
      redis: redis.url,
      quorum: quorum ?? 1,
      resyncIntervalMs: 1000,
      heartbeatIntervalMs: 200,
      clock: systemClock(),
      log: silentLogger(),
    });
  const stores = Array.from({ length: count }, (_, i) => store(`i${i}`));
  await Promise.all(stores.map((s) => s.start()));
  t.teardown(() => Promise.all(stores.map((s) => s.stop())));
  return Object.assign(stores, { another: store });
});
