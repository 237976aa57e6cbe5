/**
 * What V8's young-generation size does to Baton: the same small GET through fresh Baton
 * processes started with different `--max-semi-space-size` values (default: Node's own, 16 MiB
 * per semi-space on 64-bit), interleaved (default 1, 32 1, 64 1, default 2, …) because one
 * process start differs from the next more than one process's rounds do.
 *
 *   npm run build && node --import tsx bench/young-generation.ts [--sizes default,32,64,128]
 *     [--runs 4] [--seconds 8] [--warmup 3] [--connections 50]
 *
 * Each process gets `--warmup` seconds of load first (JIT, pools, breakers), then the measured
 * load. Per process: requests per CPU-second of the whole process (all threads, so V8's
 * concurrent marking counts), req/s, p99, the main thread's scavenges and mark-compacts V8 reported
 * during the measured load (`--trace-gc`), and the resident set at the end and at its peak. Baton runs from
 * dist/ (bin/baton.js) with the access log off; build first.
 *
 * Why: a request allocates ~38 KiB (bench/allocations.ts). With 50 requests in flight a 16 MiB
 * semi-space fills every ~400 requests, so objects of requests still in flight survive two
 * scavenges and are promoted, and the old generation grows into mark-compacts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { helloConfig } from './lib/hello-config.ts';
import { cpuSeconds, startHelloUpstreams, startNode, stopAll } from './lib/processes.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: 'default,32,64,128' },
    runs: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
  },
});
const sizes = values.sizes.split(',').map((s) => s.trim());
for (const size of sizes)
  if (size !== 'default' && !(Number(size) > 0)) throw new Error(`--sizes: ${size} is not a size in MiB`);
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);
const connections = Number(values.connections);
for (const [name, value] of Object.entries({ runs, seconds, connections }))
  if (!(value > 0)) throw new Error(`--${name} wants a positive number`);
const root = fileURLToPath(new URL('..', import.meta.url));

interface Sample {
  perCpuSecond: number;
  rps: number;
  p99: number;
  scavenges: number;
  markCompacts: number;
  rssMiB: number;
  peakRssMiB: number;
}

function memoryMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+) kB`));
  return line ? Number(line[1]) / 1024 : Number.NaN;
}

async function measure(configFile: string, size: string): Promise<Sample> {
  const flags = size === 'default' ? [] : [`--max-semi-space-size=${size}`];
  const baton = await startNode(
    ['--trace-gc', ...flags, join(root, 'bin/baton.js'), 'start', '--config', configFile],
    /Baton listening on (http:\/\/\S+)/,
  );
  try {
    const url = `${baton.match[1]}/`;
    const pid = baton.child.pid!;
    if (warmupSeconds > 0) await autocannon({ url, connections, duration: warmupSeconds });
    // --trace-gc lines start with `[pid:isolate]`: tsx's loader and other worker threads have
    // isolates of their own (their idle "Mark-Compact (reduce)"s are not the gateway's), so
    // the counts are kept per isolate and the busiest one, the main thread's, is reported.
    let counting = false;
    const perIsolate = new Map<string, { scavenges: number; markCompacts: number }>();
    let partial = '';
    baton.child.stdout!.on('data', (data: Buffer) => {
      const lines = (partial + data.toString()).split('\n');
      partial = lines.pop()!;
      if (!counting) return;
      for (const line of lines) {
        const gc = line.match(/^\[\d+:(0x[0-9a-f]+)\].*?: (Scavenge|Mark-Compact)/);
        if (!gc) continue;
        const counts = perIsolate.get(gc[1]!) ?? { scavenges: 0, markCompacts: 0 };
        if (gc[2] === 'Scavenge') counts.scavenges += 1;
        else counts.markCompacts += 1;
        perIsolate.set(gc[1]!, counts);
      }
    });
    counting = true;
    const cpuBefore = cpuSeconds(pid);
    const result = await autocannon({ url, connections, duration: seconds });
    const cpu = cpuSeconds(pid) - cpuBefore;
    counting = false;
    const main = [...perIsolate.values()].sort((a, b) => b.scavenges - a.scavenges)[0] ?? {
      scavenges: 0,
      markCompacts: 0,
    };
    return {
      perCpuSecond: result.requests.total / cpu,
      rps: result.requests.average,
      p99: result.latency.p99,
      ...main,
      rssMiB: memoryMiB(pid, 'VmRSS'),
      peakRssMiB: memoryMiB(pid, 'VmHWM'),
    };
  } finally {
    stopAll([baton.child]);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mean = (xs: number[]) => xs.reduce((sum, x) => sum + x, 0) / xs.length;

async function main() {
  const children = [];
  try {
    const upstreams = await startHelloUpstreams();
    children.push(upstreams.child);
    const configFile = join(mkdtempSync(join(tmpdir(), 'baton-young-')), 'gateway.config.ts');
    writeFileSync(configFile, helloConfig({ checkout: root, ports: upstreams.ports }));
    const samples: Record<string, Sample[]> = Object.fromEntries(sizes.map((size) => [size, []]));
    for (let run = 1; run <= runs; run++) {
      for (const size of sizes) {
        const sample = await measure(configFile, size);
        samples[size]!.push(sample);
        process.stderr.write(
          `run ${run} semi-space ${size.padEnd(7)} ${sample.perCpuSecond.toFixed(0)} req/cpu-s ${sample.rps.toFixed(0)} req/s p99 ${sample.p99} ms scavenges ${sample.scavenges} mark-compacts ${sample.markCompacts} rss ${sample.rssMiB.toFixed(0)} MiB (peak ${sample.peakRssMiB.toFixed(0)}) load ${loadavg()[0]!.toFixed(1)}\n`,
        );
      }
    }
    const base = mean(samples[sizes[0]!]!.map((s) => s.perCpuSecond));
    console.log(
      `\n${runs} fresh processes per size, ${seconds} s each after ${warmupSeconds} s of warm-up, ${connections} connections\n`,
    );
    console.log(
      `| --max-semi-space-size | req per CPU-s, each process | mean | ×${sizes[0]} | median req/s | median p99 ms | scavenges | mark-compacts | RSS MiB (peak) |`,
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const size of sizes) {
      const list = samples[size]!;
      const perCpu = list.map((s) => s.perCpuSecond);
      console.log(
        `| ${size === 'default' ? 'default (16)' : size} | ${perCpu.map((x) => x.toFixed(0)).join(', ')} | ${mean(perCpu).toFixed(0)} | ${(mean(perCpu) / base).toFixed(2)} | ${median(list.map((s) => s.rps)).toFixed(0)} | ${median(list.map((s) => s.p99))} | ${list.map((s) => s.scavenges).join(', ')} | ${list.map((s) => s.markCompacts).join(', ')} | ${median(list.map((s) => s.rssMiB)).toFixed(0)} (${median(list.map((s) => s.peakRssMiB)).toFixed(0)}) |`,
      );
    }
  } finally {
    stopAll(children);
  }
}

await main();
