import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portIsFree, spawnTethered, type Scope, type Tethered } from './tethered.ts';

/**
 * One real redis-server of the test's own, in its own temp dir, on a free port, tied to the
 * test process (see tethered.ts). It can be killed, paused, restarted empty or from an older
 * snapshot (a rolled-back Redis: the data, Baton's boot id included, is what it was then), and
 * restarted as a replica of another. The building block of redis-topology.ts.
 */
export interface RedisProcess {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly alive: boolean;
  readonly paused: boolean;
  /** The running process (undefined while killed). */
  readonly process: Tethered | undefined;
  /** One command through redis-cli; rejects on an error reply, a refused connection or after `timeoutMs`. */
  cli(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** `INFO <section>` as key → value. */
  info(section: string): Promise<Record<string, string>>;
  /** SIGKILL (no save). */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing answers. */
  pause(): void;
  resume(): void;
  /** Starts again on the same port: empty, from `snapshot`, and/or as a replica of `replicaOf`. */
  start(options?: StartOptions): Promise<void>;
  /** SAVE, and keep a copy of the RDB file; returns its path (for `start({ snapshot })`). */
  snapshot(): Promise<string>;
}

export interface StartOptions {
  readonly snapshot?: string;
  readonly replicaOf?: { readonly port: number };
}

export interface RedisProcessOptions extends StartOptions {
  readonly name?: string;
  /** `--cluster-enabled yes` (the port + 10000, its cluster bus, must be free too). */
  readonly cluster?: boolean;
}

let counter = 0;

export async function startRedisProcess(scope: Scope, options: RedisProcessOptions = {}): Promise<RedisProcess> {
  const name = options.name ?? `redis-${++counter}`;
  const dir = mkdtempSync(join(tmpdir(), `baton-${name}-`));
  scope.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const choosePort = () => freePort(options.cluster ? (p) => p < 55536 && portIsFree(p + 10000) : undefined);
  let port = await choosePort();
  const args = (replicaOf: StartOptions['replicaOf']) => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'no',
    '--daemonize',
    'no',
    '--dir',
    dir,
    '--dbfilename',
    'dump.rdb',
    '--save',
    '',
    '--appendonly',
    'no',
    // Replicas sync at once instead of waiting 5 s for more replicas to join a diskless sync.
    '--repl-diskless-sync-delay',
    '0',
    '--loglevel',
    'notice',
    ...(options.cluster
      ? ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']
      : []),
    ...(replicaOf ? ['--replicaof', '127.0.0.1', String(replicaOf.port)] : []),
  ];
  let running: Tethered | undefined;
  let snapshots = 0;
  const cli = (argv: readonly string[], timeoutMs = 5000) => redisCli(port, argv, timeoutMs);
  const kill = async () => {
    const process = running;
    running = undefined;
    await process?.stop('SIGKILL');
  };
  const start = async (startOptions: StartOptions = {}) => {
    await kill();
    const rdb = join(dir, 'dump.rdb');
    if (startOptions.snapshot) copyFileSync(startOptions.snapshot, rdb);
    else rmSync(rdb, { force: true });
    const process = spawnTethered(scope, name, 'redis-server', args(startOptions.replicaOf), { cwd: dir });
    running = process;
    await process.waitForLine(/Ready to accept connections/, 20_000);
  };
  // The port was free when chosen; another test's process may bind it first (the suite runs
  // many files at once): then the first start picks another. Restarts keep theirs.
  for (let attempt = 1; ; attempt++) {
    try {
      await start(options);
      break;
    } catch (error) {
      if (attempt >= 5 || !/Address already in use/.test((error as Error).message)) throw error;
      port = await choosePort();
    }
  }
  return {
    name,
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get alive() {
      return running?.alive ?? false;
    },
    get paused() {
      return running?.paused ?? false;
    },
    get process() {
      return running;
    },
    cli,
    info: async (section) => parseInfo(await cli(['INFO', section])),
    kill,
    pause: () => running?.pause(),
    resume: () => running?.resume(),
    start,
    async snapshot() {
      await cli(['SAVE'], 20_000);
      const copy = join(dir, `snapshot-${++snapshots}.rdb`);
      copyFileSync(join(dir, 'dump.rdb'), copy);
      return copy;
    },
  };
}

/** redis-cli with `-e` (an error reply is a failure) and `--raw` (plain values, one per line). */
export function redisCli(port: number, args: readonly string[], timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'redis-cli',
      ['-e', '--raw', '-h', '127.0.0.1', '-p', String(port), ...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`redis-cli -p ${port} ${args.join(' ')}: ${(stderr || error.message).trim()}`));
        else resolve(stdout.replace(/\n$/, ''));
      },
    );
  });
}

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) out[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return out;
}
