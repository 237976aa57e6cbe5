import test from 'ava';
import net from 'node:net';
import { eventually, request } from '../helpers/http.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, repoRoot } from '../helpers/process.ts';

async function freePort(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return String(port);
}

test('npm run cluster starts Redis, two upstreams and two gateways that agree on the active node', async (t) => {
  t.timeout(60_000);
  const names = [
    'REDIS_PORT',
    'PRIMARY_PORT',
    'STANDBY_PORT',
    'GATEWAY_A_PORT',
    'GATEWAY_A_ADMIN_PORT',
    'GATEWAY_B_PORT',
    'GATEWAY_B_ADMIN_PORT',
  ];
  const env: Record<string, string> = { CLUSTER_NAME: `test-${process.pid}` };
  for (const name of names) env[name] = await freePort();
  // The script behind `npm run cluster`, run directly: npm does not pass signals on to it.
  const script = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts.cluster as string;
  t.is(script, 'node --import tsx examples/cluster.ts');
  // Its children run in process groups of their own: stop it with SIGINT or SIGTERM (it stops
  // them), never leave it to a SIGKILL, even when the test fails half-way or its worker dies.
  const cluster = launch(t, process.execPath, ['--import', 'tsx', 'examples/cluster.ts'], {
    env,
    deathSignal: 'SIGTERM',
  });
  t.teardown(async () => {
    if (cluster.child.exitCode !== null || cluster.child.signalCode !== null) return;
    cluster.child.kill('SIGINT');
    await Promise.race([cluster.exited(), new Promise((resolve) => setTimeout(resolve, 5000))]);
  });
  const [, pid] = await cluster.waitFor(/primary :\d+ \(pid (\d+)\)/, 30_000);
  t.teardown(() => {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  });
  const gatewayA = `http://127.0.0.1:${env.GATEWAY_A_PORT}`;
  const adminB = `http://127.0.0.1:${env.GATEWAY_B_ADMIN_PORT}`;
  await eventually(async () => (await request(`${gatewayA}/x`)).json().node === 'primary', 10_000, 100);
  process.kill(Number(pid), 'SIGKILL');
  await eventually(async () => (await request(`${adminB}/status`)).json().pools.app.active === 'standby', 5000, 50);
  t.is((await request(`${gatewayA}/x`)).json().node, 'standby');
  cluster.child.kill('SIGINT');
  t.is((await cluster.exited()).code, 0);
  // Everything it started is gone: nothing listens on the gateways' ports any more.
  await eventually(
    async () =>
      await request(`${gatewayA}/x`).then(
        () => false,
        () => true,
      ),
    5000,
    100,
  );
});
