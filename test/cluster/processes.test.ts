import test from 'ava';
import { startChildUpstream } from '../helpers/child-upstream.ts';
import { eventually, request } from '../helpers/http.ts';
import { batonBin, indexUrl, launch, tempDir, writeFile } from '../helpers/process.ts';
import { startRedis } from '../helpers/redis-server.ts';

const config = (redis: string, primary: string, standby: string) => `
import { defineConfig } from '${indexUrl}';
export default defineConfig(({ env }) => ({
  listen: { host: '127.0.0.1', port: 0 },
  admin: { port: 0 },
  log: { level: 'warn' },
  cluster: { name: 'proc', instanceId: env.INSTANCE, redis: '${redis}', heartbeatInterval: '200ms' },
  pools: {
    db: {
      policy: { name: 'hot-standby', failbackDelay: '1h' },
      nodes: [{ url: '${primary}', id: 'primary' }, { url: '${standby}', id: 'standby', tier: 1 }],
      health: { path: '/health', interval: '5s', timeout: '1s' },
    },
  },
  routes: [{ path: '/', pool: 'db' }],
}));
`;

test('two gateway processes share Redis: a failover seen by one is followed by the other', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis(t);
  const primary = await startChildUpstream(t, 'primary');
  const standby = await startChildUpstream(t, 'standby');
  const dir = tempDir(t);
  const file = writeFile(dir, 'gateway.config.ts', config(redis.url, primary.url, standby.url));
  const gateways = ['a', 'b'].map((id) =>
    launch(t, process.execPath, [batonBin, 'start', '--config', file], { env: { INSTANCE: `gw-${id}` } }),
  );
  const urls = await Promise.all(gateways.map((g) => g.waitFor(/Baton listening on (\S+)/).then((m) => m[1]!)));
  const admins = await Promise.all(gateways.map((g) => g.waitFor(/Admin API on (http:\/\/\S+) /).then((m) => m[1]!)));
  const status = async (i: number) => (await request(`${admins[i]}/status`)).json();
  await eventually(
    async () => (await status(1)).pools.db.active === 'primary' && (await status(1)).instances.length === 2,
    10_000,
    100,
  );
  await primary.kill();
  t.is((await request(`${urls[0]}/x`)).json().node, 'standby');
  await eventually(async () => (await status(1)).pools.db.active === 'standby', 2000, 20);
  const [a, b] = [await status(0), await status(1)];
  t.is(a.pools.db.epoch, b.pools.db.epoch);
  t.is(b.pools.db.epoch, 2);
  t.is((await request(`${urls[1]}/x`)).json().node, 'standby');

  // A third process with an id already in use (pid 1 in every container) is refused at start.
  const twin = launch(t, process.execPath, [batonBin, 'start', '--config', file], { env: { INSTANCE: 'gw-a' } });
  const exit = await twin.exited();
  t.is(exit.code, 1);
  t.regex(
    twin.output(),
    /baton: Another live gateway instance of this cluster uses the same instance id: 'gw-a' is held by a live instance/,
  );
  t.is((await status(0)).instances.length, 2, 'the running instance keeps its id');
  for (const g of gateways) g.child.kill('SIGTERM');
  for (const g of gateways) t.is((await g.exited()).code, 0);
});
