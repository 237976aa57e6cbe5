/**
 * `npm start`: brings up the example upstreams, then the gateway from gateway.config.ts.
 * Ctrl-C stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startGateway, stopOnSignals } from '../src/commands/start.ts';

const upstreamScript = fileURLToPath(new URL('./upstream.ts', import.meta.url));
const ports = [process.env.UPSTREAM_1 ?? '9101', process.env.UPSTREAM_2 ?? '9102', process.env.UPSTREAM_3 ?? '9103'];

function startUpstream(port: string, name: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', upstreamScript, '--port', port, '--name', name], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`upstream ${name} exited with ${code} (is port ${port} free?)`)));
    child.stdout!.once('data', () => resolve(child));
  });
}

const children: ChildProcess[] = [];
const stopChildren = () => {
  for (const child of children) child.kill('SIGTERM');
};
try {
  for (const [index, port] of ports.entries()) children.push(await startUpstream(port, `web-${index + 1}`));
  console.log(`example upstreams on ports ${ports.join(', ')}`);
  const started = await startGateway({ config: fileURLToPath(new URL('../gateway.config.ts', import.meta.url)) });
  if (!started) {
    stopChildren();
    process.exit(1);
  }
  const { url, adminUrl } = started.listening;
  console.log(`\nTry:  curl ${url}/hello            # round-robin over web-1, web-2, web-3`);
  console.log(`      curl ${url}/orders           # hot standby: the primary answers, X-Baton-Epoch 1`);
  if (adminUrl) {
    console.log(`      open ${adminUrl}/            # the dashboard`);
    console.log(`      curl -X POST ${adminUrl}/pools/orders/failover   # switch /orders to the standby`);
  }
  stopOnSignals(started.gateway, () => {
    stopChildren();
    process.exit(0);
  });
} catch (error) {
  console.error(`demo: ${(error as Error).message}`);
  stopChildren();
  process.exit(1);
}
