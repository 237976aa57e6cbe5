/**
 * What a correlated failure costs Redis. A redis-server (started here) is shared by I
 * instances (RedisStore objects, spread over a few worker processes, with the default
 * heartbeat and resync intervals) that all watch N nodes of one pool. Nodes are not real
 * servers: each instance reports its verdicts through `reportHealth` as its heartbeats would,
 * each at a random moment within `--spread` (heartbeats of different instances are not in
 * phase). Scenarios: nothing happens (the background cost of heartbeats and resyncs), one node
 * goes down, every node goes down. For each we measure, over the same window:
 *   - Redis CPU time: the change of used_cpu_user + used_cpu_sys (INFO cpu);
 *   - commands: INFO commandstats after CONFIG RESETSTAT (scripts, PUBLISH, all commands);
 *   - pub/sub deliveries: notices seen by one extra subscriber × the instances subscribed;
 *   - convergence: time until every instance's cache shows the new verdict of every node;
 *   - how many instances declared Redis lost during the window (should be none), and the longest
 *     event-loop stall of a worker process (a starved client misses heartbeats whatever Redis does).
 * The window of a change runs from the first report until every instance converged, plus one
 * second for the work that follows (heartbeats, resyncs); the idle window is `--idle` long.
 *
 *   node --import tsx bench/cluster-scale.ts [--instances 10,50] [--nodes 200] [--processes 5]
 *     [--spread 500] [--idle 5000] [--timeout 30000] [--redis-nice=-10]
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { RedisStore } from '../src/state/redis-store.ts';
import type { StateStore } from '../src/state/types.ts';
import { systemClock } from '../src/util/clock.ts';
import { silentLogger } from '../src/util/logger.ts';

const POOL = 'api';

type Verdict = 'up' | 'down';
type ToWorker =
  | { cmd: 'start'; redis: string; ids: string[]; nodes: number }
  | { cmd: 'report'; nodes: number[]; verdict: Verdict; spreadMs: number; timeoutMs: number }
  | { cmd: 'stop' };
type FromWorker =
  | { ready: true }
  | { done: true; convergedMs: number | null; lost: number; lagMs: number; cpuMs: number }
  | { stopped: true };

const nodeId = (i: number) => `n${i}`;

// ---------------------------------------------------------------------------------------------
// Worker: a few RedisStore instances, driven by the parent.

async function worker(): Promise<void> {
  let stores: StateStore[] = [];
  let lost = 0;
  const send = (message: FromWorker) => process.send!(message);
  process.on('message', async (message: ToWorker) => {
    switch (message.cmd) {
      case 'start': {
        stores = message.ids.map(
          (id) =>
            new RedisStore({
              instanceId: id,
              cluster: 'scale',
              redis: message.redis,
              quorum: 1,
              resyncIntervalMs: 5000,
              heartbeatIntervalMs: 1000,
              clock: systemClock(),
              log: silentLogger(),
            }),
        );
        for (const store of stores) {
          store.onChange((change) => {
            if (change.type !== 'connection' || change.connected) return;
            lost += 1;
            if (process.env.BENCH_VERBOSE) console.error(`${store.instanceId} lost Redis: ${change.reason}`);
          });
        }
        await Promise.all(stores.map((store) => store.start()));
        return send({ ready: true });
      }
      case 'report': {
        lost = 0;
        // How late this process's own timers ran: a starved client misses its heartbeats too.
        const lag = monitorEventLoopDelay({ resolution: 10 });
        lag.enable();
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        for (const store of stores) {
          for (const node of message.nodes) {
            setTimeout(
              () => store.reportHealth(POOL, nodeId(node), message.verdict, 'bench'),
              Math.random() * message.spreadMs,
            );
          }
        }
        const converged = () =>
          stores.every((s) =>
            message.nodes.every((n) => s.clusterHealth(POOL, nodeId(n))?.verdict === message.verdict),
          );
        let convergedMs: number | null = null;
        while (performance.now() - started < message.timeoutMs) {
          if (converged()) {
            convergedMs = performance.now() - started;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        lag.disable();
        const cpu = process.cpuUsage(cpuBefore);
        return send({ done: true, convergedMs, lost, lagMs: lag.max / 1e6, cpuMs: (cpu.user + cpu.system) / 1000 });
      }
      case 'stop':
        await Promise.all(stores.map((store) => store.stop()));
        send({ stopped: true });
        return process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Parent: Redis, the workers, the scenarios and the measurements.

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `nice`: on a shared machine, a niceness below 0 keeps Redis scheduled (as a dedicated host would). */
async function startRedis(nice: number): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const args = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn('nice', ['-n', String(nice), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) =>
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('Ready') && resolve()),
  );
  return { child, url: `redis://127.0.0.1:${port}` };
}

function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) out.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return out;
}

interface Figures {
  windowMs: number;
  cpuMs: number;
  scripts: number;
  scriptUsec: number;
  publishes: number;
  commands: number;
  deliveries: number;
  convergedMs: number | null;
  lost: number;
  /** The longest event-loop stall in any worker process. */
  lagMs: number;
  /** CPU time of all worker processes until they converged (the instances' own work). */
  workerCpuMs: number;
}

class Worker {
  readonly child: ChildProcess;
  #waiting: ((message: FromWorker) => void) | undefined;
  constructor() {
    this.child = fork(import.meta.filename, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: FromWorker) => this.#waiting?.(message));
  }
  ask(message: ToWorker): Promise<FromWorker> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.child.send(message);
    });
  }
}

async function scenario(
  admin: Redis,
  workers: Worker[],
  observed: { count: number },
  instances: number,
  report: { nodes: number[]; verdict: Verdict } | undefined,
  options: { spreadMs: number; idleMs: number; tailMs: number; timeoutMs: number },
): Promise<Figures> {
  await admin.config('RESETSTAT');
  const cpuBefore = parseInfo(await admin.info('cpu'));
  observed.count = 0;
  const started = performance.now();
  const results = report
    ? await Promise.all(
        workers.map((w) =>
          w.ask({ cmd: 'report', ...report, spreadMs: options.spreadMs, timeoutMs: options.timeoutMs }),
        ),
      )
    : [];
  // The work a change causes may go on after the caches converged (heartbeats, resyncs).
  await new Promise((resolve) => setTimeout(resolve, report ? options.tailMs : options.idleMs));
  const cpuAfter = parseInfo(await admin.info('cpu'));
  const windowMs = performance.now() - started;
  const stats = parseInfo(await admin.info('commandstats'));
  const cpu = (info: Map<string, string>) => Number(info.get('used_cpu_user')) + Number(info.get('used_cpu_sys'));
  const field = (name: string, key: 'calls' | 'usec') =>
    Number(new RegExp(`(?:^|,)${key}=(\\d+)`).exec(stats.get(`cmdstat_${name}`) ?? '')?.[1] ?? 0);
  let commands = 0;
  for (const [key, value] of stats)
    if (key.startsWith('cmdstat_')) commands += Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
  const done = results.filter((r): r is Extract<FromWorker, { done: true }> => 'done' in r);
  const converged = done.map((r) => r.convergedMs);
  return {
    windowMs,
    cpuMs: (cpu(cpuAfter) - cpu(cpuBefore)) * 1000,
    scripts: field('evalsha', 'calls') + field('eval', 'calls'),
    scriptUsec: field('evalsha', 'usec') + field('eval', 'usec'),
    publishes: field('publish', 'calls'),
    commands,
    deliveries: observed.count * instances,
    convergedMs: !report ? null : converged.some((c) => c === null) ? null : Math.max(...(converged as number[])),
    lost: done.reduce((sum, r) => sum + r.lost, 0),
    lagMs: Math.max(0, ...done.map((r) => r.lagMs)),
    workerCpuMs: done.reduce((sum, r) => sum + r.cpuMs, 0),
  };
}

async function run(): Promise<void> {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '10,50' },
      nodes: { type: 'string', default: '200' },
      processes: { type: 'string', default: '5' },
      spread: { type: 'string', default: '500' },
      idle: { type: 'string', default: '5000' },
      timeout: { type: 'string', default: '30000' },
      'redis-nice': { type: 'string', default: '0' },
    },
  });
  const nodes = Number(values.nodes);
  const spreadMs = Number(values.spread);
  const phase = { spreadMs, idleMs: Number(values.idle), tailMs: 1000, timeoutMs: Number(values.timeout) };
  const rows: string[] = [];
  for (const instances of values.instances.split(',').map(Number)) {
    const redis = await startRedis(Number(values['redis-nice']));
    const admin = new Redis(redis.url);
    const observer = new Redis(redis.url);
    const observed = { count: 0 };
    observer.on('message', () => (observed.count += 1));
    await observer.subscribe('baton:{scale}:events');
    const processes = Math.min(Number(values.processes), instances);
    const workers = Array.from({ length: processes }, () => new Worker());
    await Promise.all(
      workers.map((w, p) => {
        const ids = Array.from({ length: instances }, (_, i) => `gw-${i}`).filter((_, i) => i % processes === p);
        return w.ask({ cmd: 'start', redis: redis.url, ids, nodes });
      }),
    );
    const all = Array.from({ length: nodes }, (_, i) => i);
    // Settle: every instance has seen every node up.
    await scenario(admin, workers, observed, instances, { nodes: all, verdict: 'up' }, phase);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const measure = async (name: string, report: { nodes: number[]; verdict: Verdict } | undefined) => {
      const f = await scenario(admin, workers, observed, instances, report, phase);
      rows.push(
        `| ${instances} × ${nodes} | ${name} | ${(f.windowMs / 1000).toFixed(1)} | ${f.cpuMs.toFixed(0)} | ${f.scripts} | ${(f.scriptUsec / 1000).toFixed(0)} | ${f.publishes} | ${f.deliveries} | ${f.commands} | ${f.convergedMs === null ? '–' : f.convergedMs.toFixed(0)} | ${f.lost} | ${report ? f.lagMs.toFixed(0) : '–'} | ${report ? f.workerCpuMs.toFixed(0) : '–'} |`,
      );
      console.error(rows.at(-1));
    };
    await measure('idle', undefined);
    await measure('one node down', { nodes: [0], verdict: 'down' });
    await scenario(admin, workers, observed, instances, { nodes: [0], verdict: 'up' }, phase);
    await measure('all nodes down', { nodes: all, verdict: 'down' });
    await measure('all nodes back up', { nodes: all, verdict: 'up' });
    await Promise.all(workers.map((w) => w.ask({ cmd: 'stop' })));
    admin.disconnect();
    observer.disconnect();
    redis.child.kill('SIGKILL');
  }
  console.log(
    `cluster scale, ${values.processes} worker processes, reports spread over ${spreadMs} ms, redis-server at niceness ${values['redis-nice']} (node ${process.version})`,
  );
  console.log(
    '| instances × nodes | scenario | window s | Redis CPU ms | scripts | script ms | PUBLISH | deliveries | commands | converged ms | Redis lost | worker stall ms | worker CPU ms |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

if (process.argv.includes('--worker')) await worker();
else await run();
