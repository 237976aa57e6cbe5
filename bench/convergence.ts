/**
 * Convergence benchmark: three gateway instances share a redis-server (started here); 100
 * failover events are forced alternately through different instances' admin paths; for each
 * one we measure the time from the first instance applying the new active node to the last
 * one doing so.
 *
 *   node --import tsx bench/convergence.ts [--events 100] [--instances 3]
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { builtinPlugins } from '../plugins/index.ts';
import { validateConfig } from '../src/config/validate.ts';
import { createGateway, type Gateway } from '../src/gateway.ts';
import { silentLogger } from '../src/util/logger.ts';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '100' }, instances: { type: 'string', default: '3' } },
});
const events = Number(values.events);
const count = Number(values.instances);

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((resolve) =>
  redis.stdout!.on('data', (d: Buffer) => d.toString().includes('Ready') && resolve()),
);

const gateways: Gateway[] = [];
for (let i = 0; i < count; i++) {
  const result = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: false,
      cluster: { name: 'bench', instanceId: `gw-${i}`, redis: `redis://127.0.0.1:${port}`, heartbeatInterval: '500ms' },
      // Nodes nobody listens on, heartbeats off: elections are driven by the forced failovers only.
      pools: {
        db: {
          policy: { name: 'hot-standby', failback: 'manual' },
          nodes: [
            { url: 'http://127.0.0.1:9', id: 'a' },
            { url: 'http://127.0.0.1:10', id: 'b', tier: 1 },
          ],
          health: false,
          passive: false,
        },
      },
      routes: [{ path: '/', pool: 'db' }],
    },
    { plugins: builtinPlugins.map((plugin) => ({ plugin, path: '' })), env: {} },
  );
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  const gateway = createGateway(result.settings, { logger: silentLogger() });
  await gateway.start();
  gateways.push(gateway);
}
const epochs = () => gateways.map((g) => g.pools.get('db')!.epoch);
while (new Set(epochs()).size !== 1 || epochs()[0] === 0) await new Promise((r) => setTimeout(r, 20));

const spreads: number[] = [];
for (let e = 0; e < events; e++) {
  const target = e % 2 === 0 ? 'b' : 'a';
  const seen: number[] = [];
  const unsubscribe = gateways.map((g) =>
    g.events.subscribe((event) => {
      if (event.type === 'promotion' && event.to === target) seen.push(performance.now());
    }),
  );
  const by = gateways[e % count]!;
  await by.pools.controller.request(by.pools.get('db')!, 'failover', target);
  const deadline = performance.now() + 2000;
  while (seen.length < count && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  for (const u of unsubscribe) u();
  if (seen.length < count) throw new Error(`event ${e}: only ${seen.length} of ${count} instances switched`);
  spreads.push(Math.max(...seen) - Math.min(...seen));
}
const sorted = [...spreads].sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
console.log(`${count} instances, ${events} failovers through Redis (loopback, node ${process.version})`);
console.log(
  `time from the first instance's switch to the last one's: p50 ${pct(0.5).toFixed(2)} ms, p99 ${pct(0.99).toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`,
);
console.log(`final epoch on every instance: ${epochs().join(', ')}`);
for (const g of gateways) await g.stop();
redis.kill('SIGKILL');
process.exit(0);
