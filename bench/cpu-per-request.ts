/**
 * CPU cost per proxied request at a fixed request rate, for A/B comparisons of proxy variants:
 * each variant is a command that prints "listening <port>" (or Baton's start line); all run
 * at once against the same two upstreams, in interleaved rounds, and the proxy process's own
 * CPU time (from /proc) is divided by the requests it served.
 *
 *   node --import tsx bench/cpu-per-request.ts --rate 3000 --seconds 8 --rounds 3 raw-proxy baton
 *   (a variant is a file of bench/lib, such as raw-proxy or koa-forwarder, or baton[-redis][@checkout])
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { helloConfig } from './lib/hello-config.ts';
import { cpuSeconds, startHelloUpstreams, startNode, stopAll } from './lib/processes.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rate: { type: 'string', default: '3000' },
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '20' },
    pool: { type: 'string', default: '' },
    tool: { type: 'string', default: 'autocannon' },
    pin: { type: 'boolean', default: false },
  },
});

/** wrk (C, light on CPU) at saturation, or autocannon at a fixed rate. Returns requests served. */
async function drive(url: string): Promise<number> {
  if (values.tool === 'wrk') {
    const wrk = ['wrk', '-t1', `-c${values.connections}`, `-d${seconds}s`, url];
    const [command, ...args] = values.pin ? ['taskset', '-c', '1', ...wrk] : wrk;
    const out = execFileSync(command!, args, { encoding: 'utf8' });
    return Number(/(\d+) requests in/.exec(out)![1]);
  }
  const r = await autocannon({ url, connections: Number(values.connections), duration: seconds, overallRate: rate });
  return r.requests.total;
}
const root = fileURLToPath(new URL('..', import.meta.url));
const rate = Number(values.rate);
const seconds = Number(values.seconds);

function batonConfig(ports: string[], poolExtra: string, redisUrl?: string, tree = root): string {
  const cluster = redisUrl ? `{ name: 'cpu', redis: '${redisUrl}' }` : undefined;
  return helloConfig({ checkout: tree, ports, logLevel: 'warn', poolExtra, cluster });
}

let redisUrl: string | undefined;
async function redisFor(children: ChildProcess[]): Promise<string> {
  if (redisUrl) return redisUrl;
  const port = 20000 + Math.floor(Math.random() * 20000);
  const redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(redis);
  await new Promise<void>((resolve) =>
    redis.stdout!.on('data', (d: Buffer) => d.toString().includes('Ready') && resolve()),
  );
  redisUrl = `redis://127.0.0.1:${port}`;
  return redisUrl;
}

const children: ChildProcess[] = [];
try {
  // With --pin: proxies on CPU 0; upstreams and the load generator on CPU 1.
  const proxyCpu = values.pin ? 0 : undefined;
  const upstreams = await startHelloUpstreams(values.pin ? 1 : undefined);
  children.push(upstreams.child);
  const ports = upstreams.ports;
  const targets = ports.map((p) => `http://127.0.0.1:${p}`);
  const dir = mkdtempSync(join(tmpdir(), 'baton-cpu-'));
  const variants: { name: string; url: string; pid: number }[] = [];
  for (const name of positionals) {
    let started: Awaited<ReturnType<typeof startNode>>;
    if (name.startsWith('baton')) {
      // "baton:KEY=value,KEY2=value" runs Baton with those environment variables.
      const env = Object.fromEntries(
        (name.split(':')[1] ?? '')
          .split(',')
          .filter(Boolean)
          .map((kv) => kv.split('=') as [string, string]),
      );
      // "baton-bare": heartbeats, passive health and breakers off (what failure handling costs);
      // "baton-nobreaker": only the breakers off.
      const extra = name.startsWith('baton-bare')
        ? ', health: false, passive: false, breaker: false'
        : name.startsWith('baton-nobreaker')
          ? ', breaker: false'
          : values.pool
            ? `, ${values.pool}`
            : '';
      // "baton-redis": the shared store over a redis-server started here (its CPU is not counted).
      const redisUrl = name.startsWith('baton-redis') ? await redisFor(children) : undefined;
      // "baton@/other/checkout": Baton from another working tree (A/B across commits).
      const tree = name.includes('@') ? name.slice(name.indexOf('@') + 1) : root;
      const file = join(dir, `${name.replace(/[^a-z-]/gi, '_')}.config.ts`);
      writeFileSync(file, batonConfig(ports, extra, redisUrl, tree));
      started = await startNode(
        [join(tree, 'bin/baton.js'), 'start', '--config', file],
        /Baton listening on http:\/\/[^:]+:(\d+)/,
        env,
        proxyCpu,
      );
    } else {
      started = await startNode(
        ['--import', 'tsx', join(root, `bench/lib/${name}.ts`), ...targets],
        /listening (\d+)/,
        {},
        proxyCpu,
      );
    }
    children.push(started.child);
    variants.push({ name, url: `http://127.0.0.1:${started.match[1]}/`, pid: started.child.pid! });
  }
  for (const v of variants) await drive(v.url);
  const results = new Map<string, number[]>();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const v of variants) {
      const before = cpuSeconds(v.pid);
      const total = await drive(v.url);
      const us = ((cpuSeconds(v.pid) - before) / total) * 1e6;
      results.set(v.name, [...(results.get(v.name) ?? []), us]);
      process.stderr.write(`round ${round + 1} ${v.name}: ${us.toFixed(1)} us/request (${total} requests)\n`);
    }
  }
  const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
  for (const [name, list] of results) {
    const sorted = [...list].sort((a, b) => a - b);
    console.log(
      `${name.padEnd(12)} median ${median(list).toFixed(1)} us/request  (${sorted.map((x) => x.toFixed(0)).join(', ')})`,
    );
  }
  // Each round measures every variant back to back: the ratio within a round cancels the
  // machine's drift between rounds, so its median is steadier than the ratio of the medians.
  const [first, ...others] = [...results.entries()];
  for (const [name, list] of others) {
    const ratios = list.map((us, round) => us / first![1][round]!);
    const sorted = [...ratios].sort((a, b) => a - b);
    console.log(
      `${name} / ${first![0]}: median of per-round ratios ${median(ratios).toFixed(3)}  (${sorted.map((x) => x.toFixed(2)).join(', ')})`,
    );
  }
} finally {
  stopAll(children);
}
