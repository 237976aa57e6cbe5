import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  /**
   * Starts again on the same port: empty (no persistence), or with `fromSnapshot` from the last
   * `snapshot()` (what a restart from an older RDB looks like: Redis went back in time).
   */
  restart(options?: { fromSnapshot?: boolean }): Promise<void>;
  /** SAVE: an RDB of the data as it is now, in the server's own temporary folder. */
  snapshot(): Promise<void>;
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

function launch(port: number, dir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      '--loglevel',
      'notice',
      '--dir',
      dir,
    ];
    const child = spawnOwned('redis-server', args, {
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

/**
 * A port that was free when asked may be taken by another test's process before redis-server
 * binds it (the suite runs many files at once): a failed bind picks another port, a few times.
 */
export async function launchOnFreePort(
  dir: string,
  choosePort: () => Promise<number> = freePort,
  attempts = 5,
): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await choosePort();
    try {
      return { child: await launch(port, dir), port };
    } catch (error) {
      if (attempt >= attempts || !/Address already in use/.test((error as Error).message)) throw error;
    }
  }
}

export async function startRedis(t: ExecutionContext): Promise<RedisServer> {
  // Its own folder, so that an RDB is never written into (or loaded from) the working directory.
  const dir = mkdtempSync(join(tmpdir(), 'baton-redis-'));
  const launched = await launchOnFreePort(dir);
  const port = launched.port;
  let child = launched.child;
  t.teardown(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
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
    async restart(options = {}) {
      await kill();
      if (!options.fromSnapshot) rmSync(join(dir, 'dump.rdb'), { force: true });
      child = await launch(port, dir);
    },
    async snapshot() {
      const reply = await rawCommand(port, ['SAVE']);
      if (!reply.startsWith('+OK')) throw new Error(`SAVE failed: ${reply}`);
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
