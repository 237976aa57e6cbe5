import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batonBin, indexUrl, repoRoot } from '../../helpers/process.ts';
import { startRawUpstream, type RawUpstream } from '../../helpers/raw-upstream.ts';
import { spawnOwned } from '../../helpers/spawn-owned.ts';

/**
 * What the fuzzer attacks: `baton start` as a real process (its own parser, its own event
 * loop, its access log on stdout as JSON lines), in front of one raw upstream that records
 * every request Node's parser finds in the bytes it receives. Four routes share that upstream,
 * so that Host matching, prefix confinement and stripPath are all in play.
 */

/** One access-log line (src/pipeline/record-request.ts RequestRecord). */
export interface AccessRecord {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly route?: string;
  readonly pool?: string;
  readonly node?: string;
  readonly attempts: number;
  readonly status: number;
  readonly error?: string;
  readonly aborted: boolean;
}

/** Which prefix each route confines its requests to, as the upstream sees the path. */
export const routePrefixes: Readonly<Record<string, { prefix: string; stripped: boolean }>> = {
  wild: { prefix: '/api', stripped: false },
  api: { prefix: '/api', stripped: false },
  files: { prefix: '/files', stripped: true },
  web: { prefix: '/', stripped: false },
};

export interface FuzzTarget {
  readonly port: number;
  /** The admin API's port (127.0.0.1, no token: the default a browser could reach). */
  readonly adminPort: number;
  readonly upstream: RawUpstream;
  /** Access-log records by request id (the last one for an id wins). */
  readonly records: Map<string, AccessRecord>;
  /** Health and breaker events the gateway logged: a client must never cause one. */
  readonly events: string[];
  /** Lines on stdout that are not JSON (a crash trace, a warning). */
  readonly strays: string[];
  alive(): boolean;
  /** How the process ended, once it has. */
  exit(): string | undefined;
  stop(): Promise<void>;
}

function config(upstream: string): string {
  const pool = (id: string) => `{ policy: 'round-robin', nodes: [{ url: '${upstream}', id: '${id}' }], health: false }`;
  return `import { defineConfig } from '${indexUrl}';
export default defineConfig({
  listen: { host: '127.0.0.1', port: 0 },
  admin: { host: '127.0.0.1', port: 0 },
  log: { level: 'info', access: true },
  server: { maxBody: '64kb', drainTimeout: '1s' },
  pools: { wild: ${pool('wild')}, api: ${pool('api')}, files: ${pool('files')}, web: ${pool('web')} },
  routes: [
    { name: 'wild', host: '*.fuzz.test', path: '/api', pool: 'wild' },
    { name: 'api', path: '/api', pool: 'api' },
    { name: 'files', path: '/files', pool: 'files', stripPath: true },
    { name: 'web', path: '/', pool: 'web' },
  ],
});
`;
}

export async function startFuzzTarget(): Promise<FuzzTarget> {
  const upstream = await startRawUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'baton-fuzz-'));
  const file = join(dir, 'fuzz.config.ts');
  writeFileSync(file, config(upstream.url));
  const child: ChildProcess = spawnOwned(process.execPath, [batonBin, 'start', '--config', file], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const records = new Map<string, AccessRecord>();
  const events: string[] = [];
  const strays: string[] = [];
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = `exited with ${signal ?? code}`));
  let pending = '';
  let dataPort = 0;
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  let adminPort = 0;
  const listening = new Promise<number>((resolve, reject) => {
    child.once('exit', () => reject(new Error(`baton exited before listening:\n${pending}\n${stderr}`)));
    child.stdout!.on('data', (data: Buffer) => {
      pending += data.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const port = /Baton listening on http:\/\/[^:]+:(\d+)/.exec(line);
        const admin = /Admin API on http:\/\/[^:]+:(\d+)/.exec(line);
        if (port) dataPort = Number(port[1]);
        // The admin API's line comes right after the data port's.
        if (admin) {
          adminPort = Number(admin[1]);
          resolve(dataPort);
        }
        if (!line.startsWith('{')) {
          if (!port && !admin && !line.startsWith('  pool ')) strays.push(line);
          continue;
        }
        const entry = JSON.parse(line) as {
          msg?: string;
          event?: { type: string; to?: string };
          requestId?: string;
        } & Record<string, unknown>;
        if (entry.msg === 'request' && entry.requestId) records.set(entry.requestId, entry as unknown as AccessRecord);
        // A node seen for the first time goes from unknown to up: that one is expected.
        else if (
          (entry.event?.type === 'health' && entry.event.to !== 'up') ||
          (entry.event?.type === 'breaker' && entry.event.to !== 'closed')
        )
          events.push(String(entry.msg));
        else if (typeof entry.level === 'number' && entry.level >= 40) strays.push(line);
      }
    });
  });
  const port = await listening;
  return {
    port,
    adminPort,
    upstream,
    records,
    events,
    get strays() {
      return stderr.trim() ? [...strays, stderr.trim()] : strays;
    },
    alive: () => exit === undefined,
    exit: () => exit,
    async stop() {
      if (exit === undefined) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      await upstream.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
