/**
 * Throughput benchmark: a small GET through three setups, in interleaved rounds within one run:
 *   direct   → one upstream, no proxy (the ceiling)
 *   raw      → a minimal raw http-proxy server, round-robin over 2 upstreams (the baseline)
 *   raw+xfwd → the same with http-proxy's X-Forwarded-* headers on
 *   baton    → Baton, round-robin over the same 2 upstreams (access log off, then on)
 * Reports req/s, p50/p99 latency and requests per proxy CPU-second, as ratios to raw.
 *
 * With --tls, TLS termination instead: Baton and NGINX (when installed), each on one port with
 * HTTPS/1.1 (autocannon) and HTTP/2 (h2load, Debian's nghttp2-client), proxying to the same
 * upstreams over HTTP/1.1; ratios to NGINX, or to Baton's HTTPS/1.1 without NGINX.
 *
 *   npm run bench -- [--seconds 5] [--rounds 3] [--connections 50] [--json out.json] [--tls] [--streams 1]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cpuSeconds, startNode, stopAll } from './lib/processes.ts';
import { h2load, h2loadPath } from './lib/h2load.ts';
import { nginxPath, startNginx } from './lib/nginx.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    json: { type: 'string' },
    breaker: { type: 'string', default: 'on' },
    tls: { type: 'boolean', default: false },
    streams: { type: 'string', default: '1' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const root = fileURLToPath(new URL('..', import.meta.url));

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  perCpuSecond: number | undefined;
}

async function load(url: string, pid: number | undefined): Promise<Sample> {
  const cpuBefore = pid ? cpuSeconds(pid) : 0;
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  const cpu = pid ? cpuSeconds(pid) - cpuBefore : 0;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
    perCpuSecond: pid ? result.requests.total / cpu : undefined,
  };
}

function batonConfig(ports: string[], accessLog: boolean, extra: string): string {
  const index = pathToFileURL(join(root, 'src/index.ts')).href;
  return `import { defineConfig } from '${index}';
export default defineConfig({
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
    for (const accessLog of [false, true]) {
      const file = join(dir, `baton-${accessLog}.config.ts`);
      writeFileSync(file, batonConfig(ports, accessLog, extra));
      // The access log goes to stdout, which the bench drains (as a log shipper would).
      const baton = await startNode([join(root, 'bin/baton.js'), 'start', '--config', file], /Baton listening on (http:\/\/\S+)/, { LOG_LEVEL: 'info' });
      children.push(baton.child);
      setups[accessLog ? 'baton+log' : 'baton'] = { url: `${baton.match[1]}/`, pid: baton.child.pid };
    }
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
  const raw = summary.raw!;
  console.log(`\n${rounds} rounds × ${seconds} s, ${connections} connections, medians (node ${process.version})\n`);
  console.log('| setup | req/s | ×raw | p50 ms | p99 ms | req per proxy CPU-s | ×raw | errors |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name, s] of Object.entries(summary)) {
    const cpu = s.perCpuSecond === undefined ? '–' : s.perCpuSecond.toFixed(0);
    const cpuRatio = s.perCpuSecond === undefined ? '–' : (s.perCpuSecond / raw.perCpuSecond!).toFixed(2);
    console.log(`| ${name} | ${s.rps.toFixed(0)} | ${(s.rps / raw.rps).toFixed(2)} | ${s.p50} | ${s.p99} | ${cpu} | ${cpuRatio} | ${s.errors} |`);
  }
  if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ date: new Date().toISOString(), seconds, rounds, connections, summary, samples }, null, 2));
}

interface TlsSample {
  rps: number;
  /** autocannon: p50; h2load: mean (it reports no percentiles). */
  latencyMs: number;
  errors: number;
  perCpuSecond: number;
}

/** `https`: autocannon (HTTP/1.1, over TLS when the URL says https); `h2`: h2load. */
type TlsSetup = { kind: 'https' | 'h2'; url: string; pid: number };

async function loadTls(setup: TlsSetup): Promise<TlsSample> {
  const cpuBefore = cpuSeconds(setup.pid);
  if (setup.kind === 'https') {
    const result = await autocannon({ url: setup.url, connections, duration: seconds, pipelining: 1 });
    const cpu = cpuSeconds(setup.pid) - cpuBefore;
    return { rps: result.requests.average, latencyMs: result.latency.p50, errors: result.errors + result.non2xx + result.timeouts, perCpuSecond: result.requests.total / cpu };
  }
  const result = await h2load(setup.url, { clients: connections, streams: Number(values.streams), seconds });
  const cpu = cpuSeconds(setup.pid) - cpuBefore;
  return { rps: result.rps, latencyMs: Math.round(result.meanMs * 100) / 100, errors: result.failed, perCpuSecond: result.succeeded / cpu };
}

async function mainTls() {
  const children = [];
  try {
    if (!h2loadPath) throw new Error('h2load is needed for the HTTP/2 cases: apt-get install nghttp2-client');
    const upstreams = await startNode(['--import', 'tsx', join(root, 'bench/lib/hello-upstreams.ts')], /listening (\d+) (\d+)/);
    children.push(upstreams.child);
    const ports = [upstreams.match[1]!, upstreams.match[2]!];
    const dir = mkdtempSync(join(tmpdir(), 'baton-bench-tls-'));
    // The same certificate for both: ECDSA P-256, the usual choice for speed.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'bench.key', '-out', 'bench.crt', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'ignore' });
    const cert = join(dir, 'bench.crt');
    const key = join(dir, 'bench.key');
    const file = join(dir, 'baton-tls.config.ts');
    writeFileSync(file, batonConfig(ports, false, '').replace(`listen: { host: '127.0.0.1', port: 0 }`, `listen: { host: '127.0.0.1', port: 0, tls: { cert: '${cert}', key: '${key}' } }`));
    const baton = await startNode([join(root, 'bin/baton.js'), 'start', '--config', file], /Baton listening on (https:\/\/\S+)/, { LOG_LEVEL: 'warn' });
    children.push(baton.child);
    // Plain HTTP/1.1 Baton in the same run: what TLS adds, apart from the state of the machine.
    const plainFile = join(dir, 'baton-plain.config.ts');
    writeFileSync(plainFile, batonConfig(ports, false, ''));
    const plain = await startNode([join(root, 'bin/baton.js'), 'start', '--config', plainFile], /Baton listening on (http:\/\/\S+)/, { LOG_LEVEL: 'warn' });
    children.push(plain.child);
    const setups: Record<string, TlsSetup> = {
      'baton http/1.1': { kind: 'https', url: `${plain.match[1]}/`, pid: plain.child.pid! },
      'baton https/1.1': { kind: 'https', url: `${baton.match[1]}/`, pid: baton.child.pid! },
      'baton h2': { kind: 'h2', url: `${baton.match[1]}/`, pid: baton.child.pid! },
    };
    if (nginxPath) {
      const nginx = await startNginx(dir, ports, cert, key);
      children.push(nginx.child);
      setups['nginx https/1.1'] = { kind: 'https', url: `https://127.0.0.1:${nginx.port}/`, pid: nginx.child.pid! };
      setups['nginx h2'] = { kind: 'h2', url: `https://127.0.0.1:${nginx.port}/`, pid: nginx.child.pid! };
    } else process.stderr.write('nginx is not installed: Baton only (apt-get install nginx-light for the reference)\n');
    for (const setup of Object.values(setups)) await loadTls({ ...setup }).catch(() => undefined);
    const samples: Record<string, TlsSample[]> = Object.fromEntries(Object.keys(setups).map((name) => [name, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const [name, setup] of Object.entries(setups)) {
        const sample = await loadTls(setup);
        samples[name]!.push(sample);
        process.stderr.write(`round ${round} ${name.padEnd(16)} ${sample.rps.toFixed(0)} req/s latency ${sample.latencyMs} ms errors ${sample.errors} ${sample.perCpuSecond.toFixed(0)} req/cpu-s\n`);
      }
    }
    const summary = Object.fromEntries(
      Object.entries(samples).map(([name, list]) => [
        name,
        {
          rps: median(list.map((s) => s.rps)),
          latencyMs: median(list.map((s) => s.latencyMs)),
          errors: list.reduce((sum, s) => sum + s.errors, 0),
          perCpuSecond: median(list.map((s) => s.perCpuSecond)),
        },
      ]),
    );
    console.log(`\n${rounds} rounds × ${seconds} s, ${connections} connections, ${values.streams} stream(s) per h2 connection, medians (node ${process.version})\n`);
    console.log('| setup | req/s | ×ref | latency ms (https: p50, h2: mean) | req per proxy CPU-s | ×ref | errors |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [name, s] of Object.entries(summary)) {
      const kind = name.endsWith('h2') ? 'h2' : 'https/1.1';
      const ref = summary[`nginx ${kind}`] ?? summary['baton https/1.1']!;
      console.log(`| ${name} | ${s.rps.toFixed(0)} | ${(s.rps / ref.rps).toFixed(2)} | ${s.latencyMs} | ${s.perCpuSecond.toFixed(0)} | ${(s.perCpuSecond / ref.perCpuSecond).toFixed(2)} | ${s.errors} |`);
    }
    if (values.json) writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), seconds, rounds, connections, summary, samples }, null, 2));
  } finally {
    stopAll(children);
  }
}

await (values.tls ? mainTls() : main());
