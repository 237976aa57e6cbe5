/**
 * CPU cost per proxied request as machine instructions, counted by valgrind's callgrind: unlike
 * seconds, the count hardly moves with whatever else the machine is doing, so a before/after
 * comparison holds on a busy, shared machine where throughput runs disagree by ±30 %.
 *
 * Each proxy runs alone under callgrind (a small GET, round-robin over two upstreams outside
 * valgrind). After a warm-up (JIT tiers settle), the counters are zeroed, `--requests` requests
 * are sent (`--concurrency` at a time, keep-alive), and the instructions counted meanwhile are
 * divided by the requests: the "busy" figure, the one to compare. Work that runs on timers
 * (heartbeats, window rotations) scales with time, not requests, and under valgrind a request
 * takes ~50x longer, so the same span is then also measured idle and a "net" figure printed
 * with the idle count subtracted; but an idle process also runs V8's memory reducer (a GC after
 * seconds of quiet), whose size varies from run to run, so "net" is the less reliable of the
 * two (seen: 16k to 150k instructions per request subtracted for one checkout). Proxies: `raw` (http-proxy alone, the baseline), `baton` (this
 * checkout), and with `--compare <dir>` `baton@base` (another checkout, run from its sources).
 *
 *   node --import tsx bench/instructions.ts [--requests 3000] [--warmup 3000] [--compare ../base]
 *
 * With `--post <bytes>`, POSTs carrying a body of that size (Content-Length framed) instead of
 * GETs, which the upstreams read to its end before answering: the cost of a large streamed
 * body. A 1 MiB POST takes ~100x a GET's instructions: use fewer requests
 * (`--post 1048576 --requests 100 --warmup 100`). For Baton most of that count is then V8's
 * concurrent marking and sweeping, whose heuristics depend on time and run far more often under
 * valgrind's slowdown than outside it: read its main thread with callgrind_annotate, and see
 * docs/benchmarks.md ("A 1 MiB POST") before taking the total as the steady cost.
 *
 * Needs valgrind (Debian: valgrind). Slow: node runs ~50x slower under callgrind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { helloConfig } from './lib/hello-config.ts';
import { startHelloUpstreams, stopAll } from './lib/processes.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '4' },
    compare: { type: 'string' },
    only: { type: 'string' },
    /** Body size in bytes: POST that many bytes instead of a bodiless GET. */
    post: { type: 'string' },
  },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const requests = Number(values.requests);
const postBytes = values.post === undefined ? undefined : Number(values.post);
if (postBytes !== undefined && !(Number.isInteger(postBytes) && postBytes > 0))
  throw new Error(`--post wants a body size in bytes, got ${values.post}`);
/** The same Buffer for every request, as autocannon does in bench/throughput.ts. */
const postBody = postBytes === undefined ? undefined : Buffer.alloc(postBytes, 'x');

function batonConfig(ports: string[], checkout: string): string {
  return helloConfig({ checkout, ports });
}

/** Starts `args` (a node command line) under callgrind, counting nothing until zeroed. */
function underCallgrind(args: string[], ready: RegExp, outFile: string) {
  return new Promise<{ child: ChildProcess; match: RegExpMatchArray }>((resolve, reject) => {
    const child = spawn(
      'valgrind',
      [
        '--tool=callgrind',
        `--callgrind-out-file=${outFile}`,
        // V8 writes and rewrites machine code: valgrind must notice.
        '--smc-check=all-non-file',
        '--dump-instr=no',
        process.execPath,
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } },
    );
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const onData = (data: Buffer) => {
      out += data.toString();
      const match = out.match(ready);
      if (match) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve({ child, match });
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}\n${err.slice(-2000)}`)),
    );
  });
}

/** `count` GETs (POSTs with --post), `concurrency` at a time, on keep-alive connections; throws on any non-200. */
async function send(url: string, count: number, concurrency: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      const status = await new Promise<number>((resolve, reject) => {
        const options: http.RequestOptions = postBody
          ? {
              agent,
              method: 'POST',
              headers: { 'content-type': 'application/octet-stream', 'content-length': postBody.length },
            }
          : { agent };
        http
          .request(url, options, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
          .on('error', reject)
          .end(postBody);
      });
      if (status !== 200) throw new Error(`${url}: status ${status}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
}

/** Total instructions (Ir) in a callgrind dump. */
function instructions(file: string): number {
  const text = readFileSync(file, 'utf8');
  const line = /^(?:summary|totals): (\d+)/m.exec(text);
  if (!line) throw new Error(`no totals in ${file}`);
  return Number(line[1]);
}

async function measure(
  name: string,
  args: string[],
  ready: RegExp,
  dir: string,
): Promise<{ busy: number; net: number }> {
  const outFile = join(dir, `${name.replace(/\W/g, '_')}.callgrind`);
  const started = await underCallgrind(args, ready, outFile);
  try {
    const url = started.match[1]!.startsWith('http') ? `${started.match[1]}/` : `http://127.0.0.1:${started.match[1]}/`;
    const concurrency = Number(values.concurrency);
    await send(url, Number(values.warmup), concurrency);
    const pid = String(started.child.pid);
    const control = (command: string) => execFileSync('callgrind_control', [command, pid], { stdio: 'ignore' });
    // Each dump after zeroing gets a numbered suffix: the newest file is the last dump.
    const newest = () =>
      instructions(
        execFileSync('sh', ['-c', `ls -t ${outFile}*`], { encoding: 'utf8' })
          .trim()
          .split('\n')[0]!,
      );
    control('--zero');
    const began = performance.now();
    await send(url, requests, concurrency);
    const spanMs = performance.now() - began;
    control('--dump');
    const busy = newest();
    control('--zero');
    await new Promise((resolve) => setTimeout(resolve, spanMs));
    control('--dump');
    const idle = newest();
    process.stderr.write(`${name}: ${busy} instructions busy, ${idle} idle over the same ${Math.round(spanMs)} ms\n`);
    return { busy: busy / requests, net: (busy - idle) / requests };
  } finally {
    started.child.kill('SIGKILL');
  }
}

async function main() {
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'baton-instructions-'));
  try {
    const upstreams = await startHelloUpstreams();
    children.push(upstreams.child);
    const ports = upstreams.ports;
    const setups: Array<[string, string[], RegExp]> = [
      [
        'raw',
        ['--import', 'tsx', join(root, 'bench/lib/raw-proxy.ts'), ...ports.map((p) => `http://127.0.0.1:${p}`)],
        /listening (\d+)/,
      ],
    ];
    const checkouts: Array<[string, string]> = [['baton', root]];
    if (values.compare) checkouts.push(['baton@base', values.compare]);
    for (const [name, checkout] of checkouts) {
      const file = join(dir, `${name.replace(/\W/g, '_')}.config.ts`);
      writeFileSync(file, batonConfig(ports, checkout));
      // From the sources, the same way for both checkouts (the older one may predate dist/).
      setups.push([
        name,
        ['--conditions=baton-source', '--import', 'tsx', join(checkout, 'src/cli.ts'), 'start', '--config', file],
        /Baton listening on (http:\/\/\S+)/,
      ]);
    }
    const only = values.only ? new Set(values.only.split(',')) : undefined;
    const perRequest: Record<string, { busy: number; net: number }> = {};
    for (const [name, args, ready] of setups) {
      if (only && !only.has(name)) continue;
      const figures = await measure(name, args, ready, dir);
      perRequest[name] = figures;
      process.stderr.write(
        `${name}: ${Math.round(figures.busy)} instructions per request (net ${Math.round(figures.net)})\n`,
      );
    }
    const raw = perRequest.raw;
    const fmt = (n: number) => Math.round(n).toLocaleString('en');
    console.log('\n| proxy | instructions per request (busy) | × raw http-proxy | net of idle timers | × raw |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [name, { busy, net }] of Object.entries(perRequest)) {
      const ratio = (x: number, base: number | undefined) => (base ? (x / base).toFixed(2) : '–');
      console.log(`| ${name} | ${fmt(busy)} | ${ratio(busy, raw?.busy)} | ${fmt(net)} | ${ratio(net, raw?.net)} |`);
    }
    const now = perRequest.baton;
    const base = perRequest['baton@base'];
    if (now && base) {
      console.log(
        `\nthis checkout / base: ${(now.busy / base.busy).toFixed(3)} × the instructions per request (net: ${(now.net / base.net).toFixed(3)} ×)`,
      );
    }
  } finally {
    stopAll(children);
  }
}

await main();
