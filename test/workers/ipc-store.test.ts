import test from 'ava';
import { MemoryHub } from '../../src/state/memory-store.ts';
import { systemClock } from '../../src/util/clock.ts';
import type { Channel } from '../../src/workers/channel.ts';
import { HubHost } from '../../src/workers/hub-host.ts';
import { IpcStore } from '../../src/workers/ipc-store.ts';
import { storeContract } from '../state/store-contract.ts';
import { eventually } from '../helpers/http.ts';

/**
 * Two ends of one link, as node:cluster's IPC gives them: every message is serialized as JSON
 * (so nothing that JSON drops can slip through) and delivered later, in order.
 */
function link<A, B>(): [Channel<A, B>, Channel<B, A>] {
  const make = <Out, In>(deliver: Set<(m: In) => void>, to: Set<(m: Out) => void>): Channel<Out, In> => ({
    send(message) {
      const copy = JSON.parse(JSON.stringify(message)) as Out;
      setImmediate(() => {
        for (const listener of to) listener(copy);
      });
    },
    onMessage(listener) {
      deliver.add(listener);
      return () => deliver.delete(listener);
    },
  });
  const toA = new Set<(m: B) => void>();
  const toB = new Set<(m: A) => void>();
  return [make<A, B>(toA, toB), make<B, A>(toB, toA)];
}

storeContract('IPC store (a hub in the supervisor)', async (t, count, { quorum }) => {
  const host = new HubHost(new MemoryHub(systemClock(), quorum ?? 1));
  const worker = (instanceId: string) => {
    const [workerEnd, supervisorEnd] = link<never, unknown>();
    const detach = host.attach(supervisorEnd as never);
    t.teardown(detach);
    return new IpcStore({ instanceId, channel: workerEnd as never });
  };
  const stores = Array.from({ length: count }, (_, i) => worker(`i${i}`));
  for (const store of stores) await store.start();
  t.teardown(() => Promise.all(stores.map((s) => s.stop())));
  return Object.assign(stores, { another: (instanceId: string) => worker(instanceId) });
});

test('a worker whose link ends (a crash, no goodbye) leaves the hub: its down votes stop counting', async (t) => {
  const host = new HubHost(new MemoryHub(systemClock(), 1));
  const [aEnd, aHost] = link<never, unknown>();
  const [bEnd, bHost] = link<never, unknown>();
  host.attach(aHost as never);
  const crash = host.attach(bHost as never);
  const a = new IpcStore({ instanceId: 'w1', channel: aEnd as never });
  const b = new IpcStore({ instanceId: 'w2', channel: bEnd as never });
  await a.start();
  await b.start();
  t.teardown(() => a.stop());
  b.reportHealth('api', 'n1', 'down', 'w2 saw it fail');
  await eventually(() => a.clusterHealth('api', 'n1')?.verdict === 'down', 2000);
  crash();
  await eventually(() => a.instances().length === 1 && a.clusterHealth('api', 'n1')?.verdict !== 'down', 2000);
  t.deepEqual(
    a.instances().map((i) => i.id),
    ['w1'],
  );
});

test('a node removed from the config loses its cached verdict, as in the hub', async (t) => {
  const host = new HubHost(new MemoryHub(systemClock(), 1));
  const [end, hostEnd] = link<never, unknown>();
  t.teardown(host.attach(hostEnd as never));
  const store = new IpcStore({ instanceId: 'w1', channel: end as never });
  await store.start();
  t.teardown(() => store.stop());
  store.reportHealth('api', 'n1', 'down', 'gone');
  await eventually(() => store.clusterHealth('api', 'n1')?.verdict === 'down', 2000);
  store.setTopology(new Map([['api', ['n2']]]));
  t.is(store.clusterHealth('api', 'n1'), undefined);
});
