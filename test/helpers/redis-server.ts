import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { ExecutionContext } from 'ava';
import { spawnOwned } from './spawn-owned.ts';

/** A real redis-server of the test's own, on a free port: it can be killed, paused, restarted. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The running redis-server's pid (a new one after `restart`). */
  readonly pid: number;
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open and nothing answers (what a frozen VM looks like). */
  pause(): void;
  resume(): void;
  /** Starts again on the same port, empty (no persistence). */
  restart(): Promise<void>;
  /** Runs a redis-cli-like command on a fresh connection (for CLIENT KILL and inspection). */
  command(...args: string[]): Promise<string>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function launch(port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawnOwned('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'notice'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (data: Buffer) => {
      out += data.toString();
      if (out.includes('Ready to accept connections')) resolve(child);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)));
  });
}

export async function startRedis(t: ExecutionContext): Promise<RedisServer> {
  const port = await freePort();
  let child = await launch(port);
  t.teardown(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  const kill = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid!;
    },
    kill,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async restart() {
      await kill();
      child = await launch(port);
    },
    command: (...args) => rawCommand(port, args),
  };
}

/** Sends one command in RESP and returns the first reply line (enough for tests). */
function rawCommand(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    socket.once('data', (data) => {
      resolve(data.toString());
      socket.end();
    });
    socket.once('error', reject);
  });
}
