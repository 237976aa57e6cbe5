import test from 'ava';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { eventually } from './http.ts';
import { repoRoot, tempDir } from './process.ts';
import { spawnOwned } from './spawn-owned.ts';

/** Alive, and not a zombie waiting for a reaper that a container's pid 1 may never be. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

type Ending = [name: string, end: (worker: ReturnType<typeof spawnOwned>) => void];
const endings: Ending[] = [
  ['SIGKILL (ava timeout, --fail-fast, Stryker)', (worker) => worker.kill('SIGKILL')],
  ['process.exit without teardown', (worker) => worker.stdin!.write('exit\n')],
];

for (const [name, end] of endings) {
  test(`every child a test spawns dies with the test process: ${name}`, async (t) => {
    t.timeout(30_000);
    const termFile = join(tempDir(t), 'polite');
    // The fixture stands in for an ava worker: redis-server, a child upstream and launched
    // processes, started by the helpers; its own teardowns never run.
    const worker = spawnOwned(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'test/helpers/spawn-owned-fixture.ts'), termFile],
      {
        cwd: repoRoot,
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    t.teardown(() => worker.kill('SIGKILL'));
    const children = await new Promise<Record<'redis' | 'redisPort' | 'upstream' | 'launched' | 'polite', number>>(
      (resolve, reject) => {
        let out = '';
        worker.stdout!.on('data', (data: Buffer) => {
          out += data.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line && out.includes('\n', out.indexOf(line))) resolve(JSON.parse(line));
        });
        worker.once('exit', (code) => reject(new Error(`fixture exited with ${code}: ${out}`)));
      },
    );
    const pids = {
      redis: children.redis,
      upstream: children.upstream,
      launched: children.launched,
      polite: children.polite,
    };
    for (const [child, pid] of Object.entries(pids)) t.true(running(pid), `${child} runs before`);
    t.false(await refused(children.redisPort));

    end(worker);

    await eventually(() => Object.values(pids).every((pid) => !running(pid)), 10_000, 20).catch(() => {});
    for (const [child, pid] of Object.entries(pids)) t.false(running(pid), `${child} (pid ${pid}) outlived its owner`);
    t.true(await refused(children.redisPort), 'nothing listens on the redis port');
    t.is(readFileSync(termFile, 'utf8'), 'SIGTERM', 'a child with deathSignal SIGTERM got it, and could clean up');
  });
}
