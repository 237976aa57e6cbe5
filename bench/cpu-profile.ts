/**
 * Where each setup's CPU goes per request, from V8 CPU profiles: the setups of
 * bench/throughput.ts (raw http-proxy, bare Koa + http-proxy, Baton from dist/ with the access
 * log off and on), each a fresh process per run started with `node --cpu-prof`, driven by
 * autocannon, then stopped with SIGINT so that Node writes its profile. The main thread's
 * samples are sorted by bench/lib/profile-categories.ts (idle, GC, node internals, each package,
 * each directory of dist/src) and each category's time is divided by the requests autocannon
 * counted. One markdown table: a column per setup and run, a row per category.
 *
 *   npm run build && node --import tsx bench/cpu-profile.ts [--only raw,koa,baton,baton+log]
 *     [--seconds 10] [--connections 50] [--runs 2] [--warmup 3] [--interval 1000]
 *     [--weight time|samples]
 *
 * Baton runs from dist/ (bin/baton.js), so build first: a stale dist/ profiles old code.
 *
 * Start-up and warm-up are left out: the profile covers the whole process, but only the samples
 * taken while the measured load ran are counted (V8 stamps samples with the monotonic clock that
 * `process.hrtime` reads here, so the window is the load's start and end as seen by this
 * script). Each process gets `--warmup` seconds of the same load first, so that its JIT has
 * settled. Categories that only start-up explains (esbuild, tsx, zod, `baton sources`) should
 * be near 0; if they are not, the window is off.
 *
 * Processes vary more from one start to the next than the rounds of one process do, so every
 * run starts fresh processes, one setup after the other (interleaved: raw 1, baton 1, raw 2, …).
 * Only the main thread's profile goes into the table (tsx's module hooks have a thread of their
 * own, idle under load). The profile's figures are wall-clock time, not CPU time: V8 samples on
 * a timer, and a thread the OS has descheduled (on 2 cores autocannon competes with the proxy)
 * is sampled late, once, when it runs again, so with `--weight time` (the default: each sample
 * weighs the time since the previous one) that wait is charged to the frame it resumed in, often
 * a socket write; with `--weight samples` each sample weighs `--interval`, closer to CPU time.
 * Rows under the table check them: the busy total by the other weighting, the main thread's CPU
 * and the whole process's (all threads: GC helpers, libuv) from /proc over the same load.
 * The profiles stay in a temporary directory, printed at the start and end (open them in
 * Chrome DevTools).
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { busy, type Column, type CpuProfile, categorise, mainThreadFile, table } from './lib/profile-categories.ts';
import { helloConfig } from './lib/hello-config.ts';
import { cpuSeconds, startHelloUpstreams, startNode, stopAll } from './lib/processes.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'raw,koa,baton,baton+log' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    runs: { type: 'string', default: '2' },
    /** Seconds of load per process before the measured load, not counted. */
    warmup: { type: 'string', default: '3' },
    /** µs between samples (Node's default: 1000). */
    interval: { type: 'string', default: '1000' },
    /** `time`: a sample weighs the time since the one before; `samples`: every sample weighs --interval. */
    weight: { type: 'string', default: 'time' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const runs = Number(values.runs);
const warmupSeconds = Number(values.warmup);
for (const [name, value] of Object.entries({ seconds, connections, runs, interval: Number(values.interval) }))
  if (!(value > 0)) throw new Error(`--${name} wants a positive number`);
if (values.weight !== 'time' && values.weight !== 'samples') throw new Error('--weight wants time or samples');
if (!(warmupSeconds >= 0)) throw new Error(`--warmup wants seconds, got ${values.warmup}`);
const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * raw-proxy.ts and koa-http-proxy.ts have no signal handler, and a process killed by SIGINT
 * writes no profile: this makes SIGINT a normal exit. Baton handles SIGINT itself (drains, exits).
 */
const exitOnSigint = ['--import', "data:text/javascript,process.on('SIGINT',()=>process.exit(0))"];

interface Setup {
  args: string[];
  ready: RegExp;
  env?: NodeJS.ProcessEnv;
}

/** As bench/throughput.ts writes it: round-robin over the two upstreams, default pool settings. */
function batonConfig(ports: string[], accessLog: boolean): string {
  return helloConfig({ checkout: root, ports, accessLog });
}

function setups(ports: string[], dir: string): Record<string, Setup> {
  const targets = ports.map((p) => `http://127.0.0.1:${p}`);
  const baton = (name: string, accessLog: boolean): Setup => {
    const file = join(dir, `${name}.config.ts`);
    writeFileSync(file, batonConfig(ports, accessLog));
    // The access log goes to stdout, which startNode drains (as a log shipper would).
    return {
      args: [join(root, 'bin/baton.js'), 'start', '--config', file],
      ready: /Baton listening on (http:\/\/\S+)/,
      env: { LOG_LEVEL: 'info' },
    };
  };
  return {
    raw: {
      args: [...exitOnSigint, '--import', 'tsx', join(root, 'bench/lib/raw-proxy.ts'), ...targets],
      ready: /listening (\d+)/,
    },
    koa: {
      args: [...exitOnSigint, '--import', 'tsx', join(root, 'bench/lib/koa-http-proxy.ts'), ...targets],
      ready: /listening (\d+)/,
    },
    baton: baton('baton', false),
    'baton+log': baton('baton+log', true),
  };
}

const nowMicros = () => Number(process.hrtime.bigint() / 1000n);

async function profileOnce(name: string, setup: Setup, profileDir: string): Promise<Column> {
  const started = await startNode(
    ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-interval', values.interval, ...setup.args],
    setup.ready,
    setup.env,
  );
  const child = started.child;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const address = started.match[1]!;
    const url = address.startsWith('http') ? `${address}/` : `http://127.0.0.1:${address}/`;
    if (warmupSeconds > 0) await autocannon({ url, connections, duration: warmupSeconds });
    const cpuBefore = cpuSeconds(child.pid!);
    const mainBefore = cpuSeconds(child.pid!, child.pid!);
    const from = nowMicros();
    const result = await autocannon({ url, connections, duration: seconds });
    const to = nowMicros();
    const cpu = cpuSeconds(child.pid!) - cpuBefore;
    const mainCpu = cpuSeconds(child.pid!, child.pid!) - mainBefore;
    child.kill('SIGINT');
    const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timeout);
    const file = mainThreadFile(readdirSync(profileDir));
    if (!file) throw new Error(`${name}: no main-thread profile in ${profileDir} (killed before it was written?)`);
    const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
    const { micros, counts, sampled } = categorise(profile, { from, to });
    // If the profile's clock were not this one, the window would catch few or no samples.
    if (sampled < 0.9 * (to - from))
      process.stderr.write(
        `${name}: only ${(sampled / 1000).toFixed(0)} ms of samples in a ${((to - from) / 1000).toFixed(0)} ms window\n`,
      );
    const requests = result.requests.total;
    const bySamples = new Map([...counts].map(([category, n]) => [category, n * Number(values.interval)]));
    const [weighted, other] = values.weight === 'time' ? [micros, bySamples] : [bySamples, micros];
    const errors = result.errors + result.non2xx + result.timeouts;
    process.stderr.write(
      `${name}: ${requests} requests, ${(requests / seconds).toFixed(0)} req/s, errors ${errors}, ${((cpu * 1e6) / requests).toFixed(1)} µs process CPU per request\n`,
    );
    return {
      name,
      micros: weighted,
      requests,
      extra: {
        'main thread CPU (/proc)': ((mainCpu * 1e6) / requests).toFixed(1),
        [`busy total weighted by ${values.weight === 'time' ? 'samples' : 'time'}`]: (busy(other) / requests).toFixed(
          1,
        ),
        'process CPU, all threads (/proc)': ((cpu * 1e6) / requests).toFixed(1),
        'req/s': (requests / seconds).toFixed(0),
        errors: String(errors),
      },
    };
  } finally {
    stopAll([child]);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'baton-cpu-profile-'));
process.stderr.write(`profiles and configs in ${dir}\n`);
const upstreams = await startHelloUpstreams();
try {
  const all = setups(upstreams.ports, dir);
  const chosen = values.only.split(',');
  for (const name of chosen)
    if (!all[name]) throw new Error(`--only: no setup ${name} (${Object.keys(all).join(', ')})`);
  const columns: Column[] = [];
  for (let run = 1; run <= runs; run++)
    for (const name of chosen)
      columns.push(await profileOnce(`${name} ${run}`, all[name]!, join(dir, `${name}-${run}`)));
  console.log(
    `\nGET / (answer: 18 bytes of JSON), ${warmupSeconds} s warm-up then ${seconds} s profiled, ${connections} connections, fresh processes per run; main thread self time, sampled every ${values.interval} µs, weighted by ${values.weight} (node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})\n`,
  );
  console.log(table(columns));
  console.log(`\nprofiles in ${dir}`);
} finally {
  stopAll([upstreams.child]);
}
