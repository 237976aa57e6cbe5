import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { repoRoot } from './process.ts';
import { spawnOwned } from './spawn-owned.ts';

const script = join(repoRoot, 'examples/upstream.ts');

export interface Delivery {
  readonly method: string;
  readonly requestId: string;
  readonly path: string;
}

/** An upstream in its own process (examples/upstream.ts): it can be killed, hung, broken. */
export interface ChildUpstream {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Every request it received (from its `REQ` lines). */
  readonly deliveries: Delivery[];
  setMode(mode: string): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startChildUpstream(
  t: ExecutionContext,
  name: string,
  options: { port?: number; mode?: string } = {},
): Promise<ChildUpstream> {
  const child = spawnOwned(
    process.execPath,
    [
      '--import',
      'tsx',
      script,
      '--name',
      name,
      '--port',
      String(options.port ?? 0),
      '--mode',
      options.mode ?? 'ok',
      '--log-requests',
    ],
    {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const deliveries: Delivery[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }> = [];
  child.once('exit', () => {
    for (const waiter of waiters.splice(0)) waiter.reject(new Error(`upstream ${name} exited`));
  });
  let buffer = '';
  child.stdout!.on('data', (data: Buffer) => {
    buffer += data.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const request = /^REQ (\S+) (\S+) (\S+)/.exec(line);
      if (request) deliveries.push({ method: request[1]!, requestId: request[2]!, path: request[3]! });
      for (const waiter of [...waiters]) {
        const match = line.match(waiter.pattern);
        if (match) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(match);
        }
      }
    }
  });
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`upstream ${name} exited`));
      waiters.push({ pattern, resolve, reject });
    });
  const [, port] = await waitFor(/^listening (\d+)/);
  return {
    name,
    port: Number(port),
    url: `http://127.0.0.1:${port}`,
    child,
    deliveries,
    async setMode(mode) {
      const ack = waitFor(new RegExp(`^MODE ${mode.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
      child.stdin!.write(`mode ${mode}\n`);
      await ack;
    },
    kill(signal = 'SIGKILL') {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
  };
}
