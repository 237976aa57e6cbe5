/**
 * The share of the gateway's CPU spent in some source files, under load: Baton runs with
 * `--cpu-prof` (round-robin over two tiny upstreams, as in cpu-per-request.ts), wrk drives it,
 * and the profile's samples are attributed to the files of the functions they were taken in
 * (self time, sampled every 100 µs). A proportion within one process, so a busy machine skews
 * it far less than an A/B of two processes.
 *
 *   node --import tsx bench/profile-share.ts --seconds 10 --files src/admin/traffic-series.ts,src/admin/series-ring.ts,src/admin/latency-buckets.ts
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startHelloUpstreams, startNode, stopAll } from './lib/processes.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    files: {
      type: 'string',
      default: 'src/admin/traffic-series.ts,src/admin/series-ring.ts,src/admin/latency-buckets.ts',
    },
  },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const files = values.files.split(',').map((file) => pathToFileURL(join(root, file)).href);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'baton-prof-'));
try {
  const upstreams = await startHelloUpstreams(1);
  children.push(upstreams.child);
  const config = join(dir, 'gateway.config.ts');
  writeFileSync(
    config,
    `import { defineConfig } from '${pathToFileURL(join(root, 'src/index.ts')).href}';
export default defineConfig({
  listen: { host: '127.0.0.1', port: 0 }, admin: false, log: { level: 'warn', access: false },
  pools: { hello: { policy: 'round-robin', nodes: [{ url: 'http://127.0.0.1:${upstreams.ports[0]}' }, { url: 'http://127.0.0.1:${upstreams.ports[1]}' }] } },
  routes: [{ path: '/', pool: 'hello' }],
});`,
  );
  const baton = await startNode(
    [
      '--cpu-prof',
      '--cpu-prof-interval',
      '100',
      '--cpu-prof-dir',
      dir,
      join(root, 'bin/baton.js'),
      'start',
      '--config',
      config,
    ],
    /Baton listening on http:\/\/[^:]+:(\d+)/,
    {},
    0,
  );
  children.push(baton.child);
  const url = `http://127.0.0.1:${baton.match[1]}/`;
  execFileSync('taskset', ['-c', '1', 'wrk', '-t1', `-c${values.connections}`, '-d2s', url]); // warm-up
  const out = execFileSync(
    'taskset',
    ['-c', '1', 'wrk', '-t1', `-c${values.connections}`, `-d${values.seconds}s`, url],
    { encoding: 'utf8' },
  );
  const exited = new Promise((resolve) => baton.child.once('exit', resolve));
  baton.child.kill('SIGTERM'); // Baton drains and exits; Node writes the profile on exit
  await exited;
  const profile = JSON.parse(
    readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!), 'utf8'),
  ) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  let busy = 0;
  const perFile = new Map<string, number>(files.map((file) => [file, 0]));
  const perFunction = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    busy += 1;
    const file = files.find((f) => frame.url.startsWith(f));
    if (file === undefined) continue;
    perFile.set(file, perFile.get(file)! + 1);
    const key = `${frame.functionName || '(anonymous)'} ${file.slice(file.lastIndexOf('/') + 1)}`;
    perFunction.set(key, (perFunction.get(key) ?? 0) + 1);
  }
  const total = [...perFile.values()].reduce((a, b) => a + b, 0);
  console.log(`wrk: ${/Requests\/sec:\s+(\S+)/.exec(out)?.[1]} requests/s; ${busy} busy samples`);
  for (const [file, samples] of perFile)
    console.log(
      `  ${file.slice(pathToFileURL(root).href.length)}: ${samples} samples, ${((100 * samples) / busy).toFixed(2)} %`,
    );
  for (const [name, samples] of [...perFunction].sort((a, b) => b[1] - a[1])) console.log(`    ${name}: ${samples}`);
  console.log(`together: ${((100 * total) / busy).toFixed(2)} % of the gateway's busy CPU samples (self time)`);
} finally {
  stopAll(children);
}
