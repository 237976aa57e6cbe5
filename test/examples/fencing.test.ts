import test from 'ava';
import hotStandby from '../../plugins/hot-standby.ts';
import { startApp } from '../../examples/fencing/app.ts';
import { startLedger } from '../../examples/fencing/ledger.ts';
import { startGateway } from '../helpers/gateway.ts';
import { eventually, request } from '../helpers/http.ts';

// docs/fencing.md, run: X-Baton-Epoch as a fencing token enforced by the shared resource.

test('after a failover, a write still carrying the old epoch is refused by the resource both nodes write to', async (t) => {
  const ledger = await startLedger();
  const primary = await startApp({ name: 'primary', ledger: ledger.url });
  const standby = await startApp({ name: 'standby', ledger: ledger.url });
  t.teardown(() => Promise.all([ledger.close(), primary.close(), standby.close()]));
  const { url, adminUrl, gateway } = await startGateway(t, {
    pools: {
      db: {
        policy: hotStandby({ failback: 'manual' }),
        nodes: [
          { url: primary.url, id: 'primary' },
          { url: standby.url, id: 'standby', tier: 1 },
        ],
        health: { path: '/health' },
      },
    },
    routes: [{ path: '/', pool: 'db' }],
  });
  await eventually(() => gateway.status().pools.db!.nodes.every((n) => n.health === 'up'), 3000);
  const write = (base: string, text: string, epoch?: number) =>
    request(`${base}/orders`, { method: 'POST', body: text, headers: epoch ? { 'x-baton-epoch': String(epoch) } : {} });

  t.like((await write(url, 'first order')).json(), { node: 'primary', epoch: 1, ledger: { fence: 1 } });
  await request(`${adminUrl}/pools/db/failover`, { method: 'POST' });
  t.like((await write(url, 'second order')).json(), { node: 'standby', epoch: 2, ledger: { fence: 2 } });

  // A gateway instance that has not heard of the failover yet still sends to the primary with epoch 1.
  const late = await write(primary.url, 'late order', 1);
  t.is(late.status, 409);
  t.like(late.json(), { node: 'primary', ledger: { error: 'fenced: a newer epoch has written' } });
  // The standby, having served epoch 2, refuses epoch 1 itself.
  t.is((await write(standby.url, 'late order', 1)).status, 409);
  t.is((await write(standby.url, 'no epoch')).status, 400);
  t.deepEqual(
    ledger.entries.map((e) => [e.fence, e.text]),
    [
      [1, 'first order'],
      [2, 'second order'],
    ],
  );
});
