/**
 * Throughput benchmark: a small GET through three setups, in interleaved rounds within one run:
 *   direct   → one upstream, no proxy (the ceiling)
 *   raw      → a minimal raw http-proxy server, round-robin over 2 upstreams (the baseline)
 *   raw+xfwd → the same with http-proxy's X-Forwarded-* headers on
 *   baton    → Baton, round-robin over the same 2 upstreams (access log off, then on)
 *   baton-w2 → the same with `workers: 2` (a supervisor and two workers; CPU of all three)
 * Reports req/s, p50/p99 latency and requests per proxy CPU-second, as ratios to raw.
 *
 *   npm run bench -- [--seconds 5] [--rounds 3] [--connections 50] [--json out.json] [--only baton,baton-w2]
 *
 * With `--compare <dir>` (another checkout of Baton, built: `npm run build` there), its Baton
 * runs in the same interleaved rounds as `baton@base` and `baton+log@base`, and the table ends
 * with the ratios this checkout / that one: a before/after figure measured side by side.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startNode, stopAll, treeCpuSeconds } from './lib/processes.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    json: { type: 'string' },
    breaker: { type: 'string', default: 'on' },
    /** Comma-separated setups to run (default: all). */
    only: { type: 'string' },
    compare: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const root = fileURLToPath(new URL('..', import.meta.url));
const only = values.only ? new Set(values.only.split(',')) : undefined;

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  perCpuSecond: number | undefined;
}

async function load(url: string, pid: number | undefined): Promise<Sample> {
  const cpuBefore = pid ? treeCpuSeconds(pid) : 0;
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  const cpu = pid ? treeCpuSeconds(pid) - cpuBefore : 0;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
    perCpuSecond: pid ? result.requests.total / cpu : undefined,
  };
}

function batonConfig(ports: string[], accessLog: boolean, extra: string, workers = 1, checkout = root): string {
  const index = pathToFileURL(join(checkout, 'src/index.ts')).href;
  return `import { defineConfig } from '${index}';
export default defineConfig({${workers > 1 ? `\n  workers: ${workers},` : ''}
  listen: { host: '127.0.0.1', port: 0 },
  admin: false,
  log: { level: 'info', access: ${accessLog} },
  pools: { hello: { policy: 'round-robin', nodes: [${ports.map((p) => `{ url: 'http://127.0.0.1:${p}' }`).join(', ')}]${extra} } },
  routes: [{ path: '/', pool: 'hello' }],
});`;
}

async function main() {
  const children = [];
  try {
    const upstreams = await startNode(['--import', 'tsx', join(root, 'bench/lib/hello-upstreams.ts')], /listening (\d+) (\d+)/);
    children.push(upstreams.child);
    const ports = [upstreams.match[1]!, upstreams.match[2]!];
    const rawArgs = ['--import', 'tsx', join(root, 'bench/lib/raw-proxy.ts'), ...ports.map((p) => `http://127.0.0.1:${p}`)];
    const raw = await startNode(rawArgs, /listening (\d+)/);
    const rawXfwd = await startNode(rawArgs, /listening (\d+)/, { XFWD: '1' });
    children.push(raw.child, rawXfwd.child);
    const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
    const extra = values.breaker === 'off' ? ', breaker: false, passive: false' : '';
    const setups: Record<string, { url: string; pid: number | undefined }> = {
      direct: { url: `http://127.0.0.1:${ports[0]}/`, pid: undefined },
      raw: { url: `http://127.0.0.1:${raw.match[1]}/`, pid: raw.child.pid },
      'raw+xfwd': { url: `http://127.0.0.1:${rawXfwd.match[1]}/`, pid: rawXfwd.child.pid },
    };
    const checkouts: Array<[checkout: string, suffix: string]> = [[root, '']];
    if (values.compare) checkouts.push([values.compare, '@base']);
    for (const [checkout, suffix] of checkouts) {
      // The other checkout may predate `workers`: only this one runs baton-w2.
      const variants = [['baton', false, 1], ['baton+log', true, 1], ...(suffix ? [] : [['baton-w2', false, 2]])] as Array<[string, boolean, number]>;
      for (const [base, accessLog, workers] of variants) {
        const name = `${base}${suffix}`;
        if (only && !only.has(base) && !only.has(name)) continue;
        const file = join(dir, `${name}.config.ts`);
        writeFileSync(file, batonConfig(ports, accessLog, extra, workers, checkout));
        // The access log goes to stdout, which the bench drains (as a log shipper would).
        const baton = await startNode([join(checkout, 'bin/baton.js'), 'start', '--config', file], /Baton listening on (http:\/\/\S+)/, { LOG_LEVEL: 'info' });
        children.push(baton.child);
        setups[name] = { url: `${baton.match[1]}/`, pid: baton.child.pid };
      }
    }
    if (only) for (const name of Object.keys(setups)) if (!only.has(name)) delete setups[name];
    // Warm-up, then interleaved rounds so that drift on the machine affects every setup alike.
    for (const setup of Object.values(setups)) await autocannon({ url: setup.url, connections, duration: 1 });
    const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(setups).map((name) => [name, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const [name, setup] of Object.entries(setups)) {
        const sample = await load(setup.url, setup.pid);
        samples[name]!.push(sample);
        process.stderr.write(`round ${round} ${name.padEnd(9)} ${sample.rps.toFixed(0)} req/s p50 ${sample.p50} ms p99 ${sample.p99} ms errors ${sample.errors}${sample.perCpuSecond ? ` ${sample.perCpuSecond.toFixed(0)} req/cpu-s` : ''}\n`);
      }
    }
    report(samples, values.json);
  } finally {
    stopAll(children);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function report(samples: Record<string, Sample[]>, jsonPath: string | undefined) {
  const summary = Object.fromEntries(
    Object.entries(samples).map(([name, list]) => [
      name,
      {
        rps: median(list.map((s) => s.rps)),
        p50: median(list.map((s) => s.p50)),
        p99: median(list.map((s) => s.p99)),
        errors: list.reduce((sum, s) => sum + s.errors, 0),
        perCpuSecond: list[0]!.perCpuSecond === undefined ? undefined : median(list.map((s) => s.perCpuSecond!)),
      },
    ]),
  );
  // Ratios to raw http-proxy; with --only and no raw, to the first setup run.
  const referenceName = summary.raw ? 'raw' : Object.keys(summary)[0]!;
  const raw = summary[referenceName]!;
  console.log(`\n${rounds} rounds × ${seconds} s, ${connections} connections, medians (node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})\n`);
  console.log(`| setup | req/s | ×${referenceName} | p50 ms | p99 ms | req per proxy CPU-s | ×${referenceName} | errors |`);
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name, s] of Object.entries(summary)) {
    const cpu = s.perCpuSecond === undefined ? '–' : s.perCpuSecond.toFixed(0);
    const cpuRatio = s.perCpuSecond === undefined ? '–' : (s.perCpuSecond / raw.perCpuSecond!).toFixed(2);
    console.log(`| ${name} | ${s.rps.toFixed(0)} | ${(s.rps / raw.rps).toFixed(2)} | ${s.p50} | ${s.p99} | ${cpu} | ${cpuRatio} | ${s.errors} |`);
  }
  for (const name of ['baton', 'baton+log']) {
    const [now, base] = [summary[name], summary[`${name}@base`]];
    if (!now || !base) continue;
    console.log(`\n${name} / ${name}@base: req/s ×${(now.rps / base.rps).toFixed(2)}, p99 ×${(now.p99 / base.p99).toFixed(2)}, req per CPU-s ×${(now.perCpuSecond! / base.perCpuSecond!).toFixed(2)}`);
  }
  if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ date: new Date().toISOString(), seconds, rounds, connections, summary, samples }, null, 2));
}

await main();
