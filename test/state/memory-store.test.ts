import { MemoryHub, MemoryStore } from '../../src/state/memory-store.ts';
import { systemClock } from '../../src/util/clock.ts';
import { storeContract } from './store-contract.ts';

storeContract('memory store', async (t, count, { quorum }) => {
  const hub = new MemoryHub(systemClock(), quorum ?? 1);
  const stores = Array.from({ length: count }, (_, i) => new MemoryStore({ instanceId: `i${i}`, hub }));
  for (const store of stores) await store.start();
  t.teardown(() => Promise.all(stores.map((s) => s.stop())));
  return Object.assign(stores, { another: (instanceId: string) => new MemoryStore({ instanceId, hub }) });
});
