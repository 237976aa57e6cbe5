/**
 * Bytes allocated per proxied request, and by whom: V8's sampling heap profiler, told to keep
 * the objects the garbage collector has already freed, runs inside a Baton gateway (from the
 * sources) while autocannon (a separate process, so its allocations do not count) sends it small
 * GETs. Every sample is charged to the function that allocated it; the table sums them by owner
 * (Node's http, streams and events, each library, each folder of src/) per request.
 *
 * Allocation drives the garbage collector: more bytes per request means more scavenges, and
 * what is still alive at a scavenge (requests in flight) is promoted, so the old generation
 * grows and costs mark-compacts (see docs/benchmarks.md, "Where the CPU goes").
 *
 *   node --import tsx bench/allocations.ts [--seconds 6] [--connections 50] [--top 20]
 */
import { spawn } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { builtinPlugins } from '../plugins/index.ts';
import { formatProblem, validateConfig } from '../src/config/validate.ts';
import { createGateway } from '../src/gateway.ts';
import { silentLogger } from '../src/util/logger.ts';
import { startHelloUpstreams, stopAll } from './lib/processes.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    connections: { type: 'string', default: '50' },
    top: { type: 'string', default: '20' },
  },
});

interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

/** Who allocated: Node's own modules by area, a library by package, Baton by src/ folder. */
export function ownerOf(url: string): string {
  if (!url) return 'V8 / native';
  if (url.startsWith('node:'))
    return /_http|http/.test(url)
      ? 'node: http'
      : /stream|net|events/.test(url)
        ? 'node: streams, net, events'
        : 'node: other';
  if (url.includes('node_modules/')) return url.split('node_modules/').pop()!.split('/')[0]!;
  if (url.includes('/src/')) return `baton src/${url.split('/src/').pop()!.split('/')[0]}`;
  return 'other';
}

const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

/** Runs autocannon in its own process; resolves with the requests it completed. */
function load(url: string, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [autocannonBin, '-c', String(values.connections), '-d', String(seconds), '--json', url],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    child.stdout.on('data', (data: Buffer) => (out += data));
    child.on('error', reject);
    child.on('exit', () => {
      try {
        resolve((JSON.parse(out) as { requests: { total: number } }).requests.total);
      } catch (error) {
        reject(error);
      }
    });
  });
}

async function main(): Promise<void> {
  const upstreams = await startHelloUpstreams();
  const ports = upstreams.ports;
  const validated = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: false,
      log: { level: 'silent', access: false },
      pools: { hello: { policy: 'round-robin', nodes: ports.map((port) => ({ url: `http://127.0.0.1:${port}` })) } },
      routes: [{ path: '/', pool: 'hello' }],
    },
    { plugins: builtinPlugins.map((plugin, index) => ({ plugin, path: `plugins[${index}]` })), env: {} },
  );
  if (!validated.ok) throw new Error(validated.problems.map(formatProblem).join('\n'));
  const gateway = createGateway(validated.settings, { logger: silentLogger() });
  const { url } = await gateway.start();
  try {
    await load(`${url}/`, 3); // warm-up: the JIT settles, the keep-alive sockets are open
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
    const requests = await load(`${url}/`, Number(values.seconds));
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
      profile: { head: ProfileNode };
    };
    session.disconnect();
    const byOwner = new Map<string, number>();
    const byFunction = new Map<string, number>();
    const visit = (node: ProfileNode) => {
      const { functionName, url: file, lineNumber } = node.callFrame;
      byOwner.set(ownerOf(file), (byOwner.get(ownerOf(file)) ?? 0) + node.selfSize);
      const name = `${functionName || '(anonymous)'} ${file.replace(/.*node_modules\//, '').replace(/.*\/src\//, 'src/')}:${lineNumber + 1}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize);
      for (const child of node.children) visit(child);
    };
    visit(profile.head);
    const total = [...byOwner.values()].reduce((a, b) => a + b, 0);
    const kib = (bytes: number) => (bytes / requests / 1024).toFixed(2);
    console.log(`\n${requests} requests in ${values.seconds} s (node ${process.version})\n`);
    console.log('| allocated by | KiB per request | share |\n|---|---:|---:|');
    for (const [owner, bytes] of [...byOwner].sort((a, b) => b[1] - a[1]))
      if (bytes / total >= 0.005) console.log(`| ${owner} | ${kib(bytes)} | ${((100 * bytes) / total).toFixed(0)} % |`);
    console.log(`| **total** | ${kib(total)} | |`);
    console.log(`\n| function (top ${values.top}) | KiB per request |\n|---|---:|`);
    for (const [name, bytes] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)))
      console.log(`| \`${name}\` | ${kib(bytes)} |`);
  } finally {
    await gateway.stop();
    stopAll([upstreams.child]);
  }
}

await main();
