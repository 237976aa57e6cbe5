/**
 * `npm run cluster`: the Docker topology (docker/compose.yaml) without Docker — a redis-server,
 * a primary and a standby upstream, and two Baton instances sharing state through Redis.
 * Needs `redis-server` on the PATH. Ports can be moved with environment variables.
 * Ctrl-C stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = process.env;
const ports = {
  redis: env.REDIS_PORT ?? '6399',
  primary: env.PRIMARY_PORT ?? '9101',
  standby: env.STANDBY_PORT ?? '9102',
  gateways: [
    { id: 'gateway-a', port: env.GATEWAY_A_PORT ?? '8080', admin: env.GATEWAY_A_ADMIN_PORT ?? '9901' },
    { id: 'gateway-b', port: env.GATEWAY_B_PORT ?? '8081', admin: env.GATEWAY_B_ADMIN_PORT ?? '9902' },
  ],
};
const children: ChildProcess[] = [];

function start(
  name: string,
  command: string,
  args: string[],
  ready: RegExp,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // Own process group: Ctrl-C reaches only this script, which stops the children in order.
    const child = spawn(command, args, {
      cwd: root,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    children.push(child);
    let out = '';
    child.on('error', (error) =>
      reject(
        new Error(`${name}: ${error.message}${command === 'redis-server' ? ' (is redis-server installed?)' : ''}`),
      ),
    );
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${out}`)));
    child.stdout!.on('data', (data: Buffer) => {
      out += data.toString();
      if (ready.test(out)) resolve(child);
    });
  });
}

function stopAll(): void {
  for (const child of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
}

process.on('exit', stopAll);
process.on('SIGINT', () => {
  stopAll();
  process.exit(0);
});
process.on('SIGTERM', () => {
  stopAll();
  process.exit(0);
});

try {
  await start(
    'redis',
    'redis-server',
    ['--port', ports.redis, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    /Ready to accept connections/,
  );
  const upstream = (name: 'primary' | 'standby') =>
    start(
      name,
      process.execPath,
      ['--import', 'tsx', 'examples/upstream.ts', '--port', ports[name], '--name', name],
      /listening/,
    );
  const primary = await upstream('primary');
  await upstream('standby');
  for (const gateway of ports.gateways) {
    await start(
      gateway.id,
      process.execPath,
      ['bin/baton-source.js', 'start', '--config', 'docker/gateway.config.ts'],
      /Admin API on/,
      {
        INSTANCE_ID: gateway.id,
        LISTEN_HOST: '127.0.0.1',
        ADMIN_HOST: '127.0.0.1',
        PORT: gateway.port,
        ADMIN_PORT: gateway.admin,
        REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
        PRIMARY_URL: `http://127.0.0.1:${ports.primary}`,
        STANDBY_URL: `http://127.0.0.1:${ports.standby}`,
        CLUSTER_NAME: env.CLUSTER_NAME ?? 'baton-local',
      },
    );
  }
  const [a, b] = ports.gateways;
  console.log(`
cluster up: redis :${ports.redis}, primary :${ports.primary} (pid ${primary.pid}), standby :${ports.standby}
  gateway-a  http://127.0.0.1:${a!.port}   admin http://127.0.0.1:${a!.admin}
  gateway-b  http://127.0.0.1:${b!.port}   admin http://127.0.0.1:${b!.admin}

Try:
  curl http://127.0.0.1:${a!.port}/hello                 # answered by the primary
  kill -9 ${primary.pid}                                   # kill the primary
  curl http://127.0.0.1:${b!.port}/hello                 # both gateways now use the standby
  npx baton status --admin http://127.0.0.1:${b!.admin}   # same active node and epoch everywhere
Ctrl-C stops everything.`);
} catch (error) {
  console.error(`cluster: ${(error as Error).message}`);
  stopAll();
  process.exit(1);
}
