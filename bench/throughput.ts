/**
 * Throughput benchmark: a small GET (or, with --post, a large POST) through these setups, in
 * interleaved rounds within one run:
 *   direct   → one upstream, no proxy (the ceiling)
 *   raw      → a minimal raw http-proxy server, round-robin over 2 upstreams (the baseline)
 *   raw+xfwd → the same with http-proxy's X-Forwarded-* headers on
 *   koa      → bare Koa with one middleware proxying through http-proxy (what a user would write)
 *   baton    → Baton, round-robin over the same 2 upstreams (access log off, then on)
 *   baton-w2 → the same with `workers: 2` (a supervisor and two workers; CPU of all three)
 * Reports req/s, p50/p99 latency and requests per proxy CPU-second, as ratios to raw.
 *
 *   npm run bench -- [--seconds 5] [--rounds 3] [--connections 50] [--json out.json] [--only baton,baton-w2]
 *
 * Each setup is warmed up for `--warmup` seconds (default 1) before the rounds. With --post a
 * fresh Baton needs far longer than raw http-proxy to settle: its first ~1000 large requests
 * run while its JIT and its larger heap settle (a dozen V8 mark-compacts in the first seconds,
 * none later), at about half its steady requests per CPU-second; a 1 s warm-up measures that
 * start rather than the steady cost (use `--warmup 15` with --post).
 *
 * With `--post <bytes>`, every setup is driven with POSTs carrying a body of that size, which
 * the upstreams read to its end before answering: what a proxy costs when the body dominates.
 * Baton keeps its default body settings (a body over `retry.bufferBody` streams through, not
 * buffered); only a body over the default `maxBody` raises the route's limit to fit.
 *
 * With `--compare <dir>` (another checkout of Baton, built: `npm run build` there), its Baton
 * runs in the same interleaved rounds as `baton@base` and `baton+log@base`, and the table ends
 * with the ratios this checkout / that one: a before/after figure measured side by side.
 *
 * With --tls, TLS termination instead: Baton and NGINX (when installed), each on one port with
 * HTTPS/1.1 (autocannon) and HTTP/2 (h2load, Debian's nghttp2-client), proxying to the same
 * upstreams over HTTP/1.1; ratios to NGINX, or to Baton's HTTPS/1.1 without NGINX.
 *
 *   npm run bench -- [--seconds 5] [--rounds 3] [--connections 50] [--json out.json] [--tls] [--streams 1]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { helloConfig } from './lib/hello-config.ts';
import { cpuSeconds, startHelloUpstreams, startNode, stopAll, treeCpuSeconds } from './lib/processes.ts';
import { serverDefaults } from '../src/config/defaults.ts';
import { h2load, h2loadPath } from './lib/h2load.ts';
import { nginxPath, startNginx } from './lib/nginx.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    /** Seconds of load per setup before the measured rounds. */
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '50' },
    json: { type: 'string' },
    breaker: { type: 'string', default: 'on' },
    /** Comma-separated setups to run (default: all). */
    only: { type: 'string' },
    compare: { type: 'string' },
    tls: { type: 'boolean', default: false },
    streams: { type: 'string', default: '1' },
    /** Body size in bytes: POST that many bytes instead of a bodiless GET. */
    post: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const warmupSeconds = Number(values.warmup);
if (!(warmupSeconds >= 0)) throw new Error(`--warmup wants seconds, got ${values.warmup}`);
const connections = Number(values.connections);
const root = fileURLToPath(new URL('..', import.meta.url));
const only = values.only ? new Set(values.only.split(',')) : undefined;
const postBytes = values.post === undefined ? undefined : Number(values.post);
if (postBytes !== undefined && !(Number.isInteger(postBytes) && postBytes > 0))
  throw new Error(`--post wants a body size in bytes, got ${values.post}`);
if (postBytes !== undefined && values.tls) throw new Error('--post is for the plain HTTP setups, not --tls');
/** What every setup is sent, for autocannon; the same Buffer for every request. */
const requestOptions: Pick<autocannon.Options, 'method' | 'body' | 'headers'> =
  postBytes === undefined
    ? {}
    : {
        method: 'POST',
        body: Buffer.alloc(postBytes, 'x'),
        headers: { 'content-type': 'application/octet-stream' },
      };
const requestSent =
  postBytes === undefined
    ? 'GET / without a body'
    : `POST / with a ${postBytes}-byte body (${(postBytes / 1024 / 1024).toFixed(2)} MiB)`;

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  perCpuSecond: number | undefined;
}

async function load(url: string, pid: number | undefined): Promise<Sample> {
  const cpuBefore = pid ? treeCpuSeconds(pid) : 0;
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1, ...requestOptions });
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
  // The default limit is kept whenever the body fits, so that the default path is measured.
  const maxBody = postBytes !== undefined && postBytes > serverDefaults.maxBody ? `, maxBody: ${postBytes}` : '';
  return helloConfig({ checkout, ports, accessLog, workers, poolExtra: extra, routeExtra: maxBody });
}

async function main() {
  const children = [];
  try {
    const upstreams = await startHelloUpstreams();
    children.push(upstreams.child);
    const ports = upstreams.ports;
    const rawArgs = [
      '--import',
      'tsx',
      join(root, 'bench/lib/raw-proxy.ts'),
      ...ports.map((p) => `http://127.0.0.1:${p}`),
    ];
    const raw = await startNode(rawArgs, /listening (\d+)/);
    const rawXfwd = await startNode(rawArgs, /listening (\d+)/, { XFWD: '1' });
    const koa = await startNode(
      ['--import', 'tsx', join(root, 'bench/lib/koa-http-proxy.ts'), ...ports.map((p) => `http://127.0.0.1:${p}`)],
      /listening (\d+)/,
    );
    children.push(raw.child, rawXfwd.child, koa.child);
    const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
    const extra = values.breaker === 'off' ? ', breaker: false, passive: false' : '';
    const setups: Record<string, { url: string; pid: number | undefined }> = {
      direct: { url: `http://127.0.0.1:${ports[0]}/`, pid: undefined },
      raw: { url: `http://127.0.0.1:${raw.match[1]}/`, pid: raw.child.pid },
      'raw+xfwd': { url: `http://127.0.0.1:${rawXfwd.match[1]}/`, pid: rawXfwd.child.pid },
      koa: { url: `http://127.0.0.1:${koa.match[1]}/`, pid: koa.child.pid },
    };
    const checkouts: Array<[checkout: string, suffix: string]> = [[root, '']];
    if (values.compare) checkouts.push([values.compare, '@base']);
    for (const [checkout, suffix] of checkouts) {
      // The other checkout may predate `workers`: only this one runs baton-w2.
      const variants = [
        ['baton', false, 1],
        ['baton+log', true, 1],
        ...(suffix ? [] : [['baton-w2', false, 2]]),
      ] as Array<[string, boolean, number]>;
      for (const [base, accessLog, workers] of variants) {
        const name = `${base}${suffix}`;
        if (only && !only.has(base) && !only.has(name)) continue;
        const file = join(dir, `${name}.config.ts`);
        writeFileSync(file, batonConfig(ports, accessLog, extra, workers, checkout));
        // The access log goes to stdout, which the bench drains (as a log shipper would).
        const baton = await startNode(
          [join(checkout, 'bin/baton.js'), 'start', '--config', file],
          /Baton listening on (http:\/\/\S+)/,
          { LOG_LEVEL: 'info' },
        );
        children.push(baton.child);
        setups[name] = { url: `${baton.match[1]}/`, pid: baton.child.pid };
      }
    }
    if (only) for (const name of Object.keys(setups)) if (!only.has(name)) delete setups[name];
    // Warm-up, then interleaved rounds so that drift on the machine affects every setup alike.
    if (warmupSeconds > 0)
      for (const setup of Object.values(setups))
        await autocannon({ url: setup.url, connections, duration: warmupSeconds, ...requestOptions });
    const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(setups).map((name) => [name, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const [name, setup] of Object.entries(setups)) {
        const sample = await load(setup.url, setup.pid);
        samples[name]!.push(sample);
        process.stderr.write(
          `round ${round} ${name.padEnd(9)} ${sample.rps.toFixed(0)} req/s p50 ${sample.p50} ms p99 ${sample.p99} ms errors ${sample.errors}${sample.perCpuSecond ? ` ${sample.perCpuSecond.toFixed(0)} req/cpu-s` : ''}\n`,
        );
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
  console.log(
    `\n${requestSent} (answer: 18 bytes of JSON), ${warmupSeconds} s warm-up, ${rounds} rounds × ${seconds} s, ${connections} connections, medians (node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})\n`,
  );
  console.log(
    `| setup | req/s | ×${referenceName} | p50 ms | p99 ms | req per proxy CPU-s | ×${referenceName} | errors |`,
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name, s] of Object.entries(summary)) {
    const cpu = s.perCpuSecond === undefined ? '–' : s.perCpuSecond.toFixed(0);
    const cpuRatio = s.perCpuSecond === undefined ? '–' : (s.perCpuSecond / raw.perCpuSecond!).toFixed(2);
    console.log(
      `| ${name} | ${s.rps.toFixed(0)} | ${(s.rps / raw.rps).toFixed(2)} | ${s.p50} | ${s.p99} | ${cpu} | ${cpuRatio} | ${s.errors} |`,
    );
  }
  for (const name of ['baton', 'baton+log']) {
    const [now, base] = [summary[name], summary[`${name}@base`]];
    if (!now || !base) continue;
    console.log(
      `\n${name} / ${name}@base: req/s ×${(now.rps / base.rps).toFixed(2)}, p99 ×${(now.p99 / base.p99).toFixed(2)}, req per CPU-s ×${(now.perCpuSecond! / base.perCpuSecond!).toFixed(2)}`,
    );
  }
  if (jsonPath)
    writeFileSync(
      jsonPath,
      JSON.stringify(
        { date: new Date().toISOString(), request: requestSent, seconds, rounds, connections, summary, samples },
        null,
        2,
      ),
    );
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
    return {
      rps: result.requests.average,
      latencyMs: result.latency.p50,
      errors: result.errors + result.non2xx + result.timeouts,
      perCpuSecond: result.requests.total / cpu,
    };
  }
  const result = await h2load(setup.url, { clients: connections, streams: Number(values.streams), seconds });
  const cpu = cpuSeconds(setup.pid) - cpuBefore;
  return {
    rps: result.rps,
    latencyMs: Math.round(result.meanMs * 100) / 100,
    errors: result.failed,
    perCpuSecond: result.succeeded / cpu,
  };
}

async function mainTls() {
  const children = [];
  try {
    if (!h2loadPath) throw new Error('h2load is needed for the HTTP/2 cases: apt-get install nghttp2-client');
    const upstreams = await startHelloUpstreams();
    children.push(upstreams.child);
    const ports = upstreams.ports;
    const dir = mkdtempSync(join(tmpdir(), 'baton-bench-tls-'));
    // The same certificate for both: ECDSA P-256, the usual choice for speed.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'bench.key',
        '-out',
        'bench.crt',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    const cert = join(dir, 'bench.crt');
    const key = join(dir, 'bench.key');
    const file = join(dir, 'baton-tls.config.ts');
    writeFileSync(
      file,
      batonConfig(ports, false, '').replace(
        `listen: { host: '127.0.0.1', port: 0 }`,
        `listen: { host: '127.0.0.1', port: 0, tls: { cert: '${cert}', key: '${key}' } }`,
      ),
    );
    const baton = await startNode(
      [join(root, 'bin/baton.js'), 'start', '--config', file],
      /Baton listening on (https:\/\/\S+)/,
      { LOG_LEVEL: 'warn' },
    );
    children.push(baton.child);
    // Plain HTTP/1.1 Baton in the same run: what TLS adds, apart from the state of the machine.
    const plainFile = join(dir, 'baton-plain.config.ts');
    writeFileSync(plainFile, batonConfig(ports, false, ''));
    const plain = await startNode(
      [join(root, 'bin/baton.js'), 'start', '--config', plainFile],
      /Baton listening on (http:\/\/\S+)/,
      { LOG_LEVEL: 'warn' },
    );
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
        process.stderr.write(
          `round ${round} ${name.padEnd(16)} ${sample.rps.toFixed(0)} req/s latency ${sample.latencyMs} ms errors ${sample.errors} ${sample.perCpuSecond.toFixed(0)} req/cpu-s\n`,
        );
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
    console.log(
      `\n${rounds} rounds × ${seconds} s, ${connections} connections, ${values.streams} stream(s) per h2 connection, medians (node ${process.version})\n`,
    );
    console.log('| setup | req/s | ×ref | latency ms (https: p50, h2: mean) | req per proxy CPU-s | ×ref | errors |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [name, s] of Object.entries(summary)) {
      const kind = name.endsWith('h2') ? 'h2' : 'https/1.1';
      const ref = summary[`nginx ${kind}`] ?? summary['baton https/1.1']!;
      console.log(
        `| ${name} | ${s.rps.toFixed(0)} | ${(s.rps / ref.rps).toFixed(2)} | ${s.latencyMs} | ${s.perCpuSecond.toFixed(0)} | ${(s.perCpuSecond / ref.perCpuSecond).toFixed(2)} | ${s.errors} |`,
      );
    }
    if (values.json)
      writeFileSync(
        values.json,
        JSON.stringify({ date: new Date().toISOString(), seconds, rounds, connections, summary, samples }, null, 2),
      );
  } finally {
    stopAll(children);
  }
}

await (values.tls ? mainTls() : main());
