/**
 * Failover benchmark: steady GET load over three upstream processes, then one node is killed
 * (kill -9) or hung (accepts, never answers). Reports the time until the gateway marks the node
 * down, the failed requests, and how much latency the retried requests paid.
 *
 * With --policy hot-standby, the pool is a primary and a standby, the fault hits the primary,
 * and the time measured is until the standby is promoted (every instance would switch then).
 *
 * With --fault stop, the hung node is SIGSTOPped (a paused process: its kernel still accepts
 * connections), with every setting at its default, once with hedging (the default) and once
 * with `hedge: false`; the table then shows latency after the fault and the extra upstream
 * requests hedging costs in steady state (before the fault).
 *
 *   node --import tsx bench/failover.ts [--rate 200] [--seconds 6] [--fault-after 2] [--fault kill|hang|both|stop] [--policy round-robin|hot-standby]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { builtinPlugins } from '../plugins/index.ts';
import { validateConfig } from '../src/config/validate.ts';
import { createGateway } from '../src/gateway.ts';
import { createLogger } from '../src/util/logger.ts';
import { steadyLoad } from '../test/helpers/load.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '6' },
    fault: { type: 'string', default: 'both' },
    policy: { type: 'string', default: 'round-robin' },
    'fault-after': { type: 'string', default: '2' },
  },
});
const faultAfterMs = Number(values['fault-after']) * 1000;
const rate = Number(values.rate);
const durationMs = Number(values.seconds) * 1000;
const standbyMode = values.policy === 'hot-standby';
const upstreamScript = fileURLToPath(new URL('../examples/upstream.ts', import.meta.url));

function startUpstream(name: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', upstreamScript, '--name', name], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}`)));
    child.stdout!.once('data', (d: Buffer) =>
      resolve({ child, url: `http://127.0.0.1:${/listening (\d+)/.exec(d.toString())![1]}` }),
    );
  });
}

interface Access {
  attempts: number;
  durationMs: number;
  status: number;
  /** When the request ended (the log line's ISO time). */
  time: string;
  at: number;
}

const profiles = {
  defaults: standbyMode
    ? {
        note: "hot-standby's default heartbeats (250ms, timeout 200ms, fall 2), response timeout 1s",
        health: { path: '/health' },
        timeouts: { response: '1s' },
      }
    : {
        note: 'default heartbeats (1s, timeout 500ms, fall 3), response timeout 1s',
        health: { path: '/health' },
        timeouts: { response: '1s' },
      },
  fast: {
    note: 'heartbeats 250ms, timeout 200ms, fall 2; response timeout 500ms',
    health: { path: '/health', interval: '250ms', timeout: '200ms', fall: 2 },
    timeouts: { response: '500ms' },
  },
  hedged: { note: 'all defaults: hedging on (auto, 5 %), response timeout 30s', health: { path: '/health' } },
  unhedged: { note: 'all defaults but hedge: false', health: { path: '/health' }, hedge: false },
};

async function scenario(fault: 'kill' | 'hang' | 'stop', profile: keyof typeof profiles) {
  const nodes = await Promise.all((standbyMode ? ['primary', 'standby'] : ['n1', 'n2', 'n3']).map(startUpstream));
  const victim = standbyMode ? 0 : 1;
  const access: Access[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line.includes('"msg":"request"')) continue;
        const entry = JSON.parse(line) as Access;
        entry.at = Date.parse(entry.time);
        access.push(entry);
      }
      done();
    },
  });
  const { note, ...pool } = profiles[profile];
  const result = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: false,
      pools: {
        api: standbyMode
          ? {
              policy: { name: 'hot-standby', failbackDelay: '1h' },
              nodes: [
                { url: nodes[0]!.url, id: 'primary' },
                { url: nodes[1]!.url, id: 'standby', tier: 1 },
              ],
              ...pool,
            }
          : { policy: 'round-robin', nodes: nodes.map((n, i) => ({ url: n.url, id: `n${i + 1}` })), ...pool },
      },
      routes: [{ path: '/', pool: 'api' }],
    },
    { plugins: builtinPlugins.map((plugin) => ({ plugin, path: '' })), env: {} },
  );
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  const gateway = createGateway(result.settings, { logger: createLogger({ level: 'info', destination: sink }) });
  const { url } = await gateway.start();
  let downAt = 0;
  gateway.events.subscribe((event) => {
    if (downAt) return;
    if (!standbyMode && event.type === 'health' && event.node === 'n2' && event.to === 'down')
      downAt = performance.now();
    if (standbyMode && event.type === 'promotion' && event.to === 'standby') downAt = performance.now();
  });
  await new Promise((resolve) => setTimeout(resolve, 1500)); // heartbeats settle
  const loadAt = Date.now();
  const load = steadyLoad(`${url}/work`, { rate, durationMs, timeoutMs: 60_000 });
  await new Promise((resolve) => setTimeout(resolve, faultAfterMs));
  const faultAt = performance.now();
  const faultWallAt = Date.now();
  const delayAtFault = gateway.status().pools.api!.hedge?.delayMs ?? null;
  if (fault === 'kill') nodes[victim]!.child.kill('SIGKILL');
  else if (fault === 'stop') nodes[victim]!.child.kill('SIGSTOP');
  else nodes[victim]!.child.stdin!.write('mode hang\n');
  const outcome = await load;
  await gateway.stop();
  for (const node of nodes) node.child.kill('SIGKILL');
  const ok = access
    .filter((a) => a.attempts === 1 && a.status === 200)
    .map((a) => a.durationMs)
    .sort((a, b) => a - b);
  const retried = access
    .filter((a) => a.attempts > 1)
    .map((a) => a.durationMs)
    .sort((a, b) => a - b);
  const pct = (list: number[], p: number) =>
    list.length ? list[Math.min(list.length - 1, Math.floor(list.length * p))]! : NaN;
  // Steady state: from 1 s into the load (the hedge delay is learned by then) to the fault.
  const steady = access.filter((a) => a.at >= loadAt + 1000 && a.at < faultWallAt);
  const extra = steady.reduce((sum, a) => sum + a.attempts - 1, 0);
  const afterFault = access
    .filter((a) => a.at >= faultWallAt)
    .map((a) => a.durationMs)
    .sort((a, b) => a - b);
  return {
    extraPercent: steady.length ? Math.round((1000 * extra) / steady.length) / 10 : NaN,
    steadyRequests: steady.length,
    afterP50: pct(afterFault, 0.5),
    afterP99: pct(afterFault, 0.99),
    afterMax: pct(afterFault, 1),
    /** Requests after the fault that waited (almost) a whole response timeout. */
    stuck: afterFault.filter((ms) => ms >= 25_000).length,
    delayAtFault,
    fault,
    profile,
    note,
    detectionMs: downAt ? Math.round(downAt - faultAt) : NaN,
    sent: outcome.sent,
    failed: outcome.failures.length,
    retried: retried.length,
    baselineP50: pct(ok, 0.5),
    retriedP50: pct(retried, 0.5),
    retriedMax: pct(retried, 1),
  };
}

if (values.fault === 'stop') {
  const rows = [];
  for (const profile of ['hedged', 'unhedged'] as const) rows.push(await scenario('stop', profile));
  console.log(
    `\n${rate} req/s for ${durationMs / 1000} s over 3 nodes (round-robin); one node SIGSTOPped after ${faultAfterMs / 1000} s (node ${process.version})\n`,
  );
  console.log(
    '| settings | failed / sent | after the fault: p50 / p99 / max | waited ≥ 25 s | marked down after | hedge delay at the fault | extra upstream requests in steady state |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.note} | ${r.failed} / ${r.sent} | ${r.afterP50} / ${r.afterP99} / ${r.afterMax} ms | ${r.stuck} | ${r.detectionMs} ms | ${r.delayAtFault ?? '–'} ms | ${r.extraPercent} % (of ${r.steadyRequests}) |`,
    );
  }
  process.exit(0);
}

const faults = values.fault === 'both' ? (['kill', 'hang'] as const) : [values.fault as 'kill' | 'hang'];
const rows = [];
for (const fault of faults)
  for (const profile of ['defaults', 'fast'] as const) rows.push(await scenario(fault, profile));
const what = standbyMode
  ? 'a primary and a standby (hot-standby); fault on the primary'
  : '3 nodes (round-robin); fault on one node';
console.log(`\n${rate} req/s for ${durationMs / 1000} s over ${what} after 2 s (node ${process.version})\n`);
console.log(
  `| fault | settings | ${standbyMode ? 'standby active after' : 'marked down after'} | failed / sent | retried requests | latency p50 (not retried) | retried p50 / max |`,
);
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.fault === 'kill' ? 'kill -9' : 'hang'} | ${r.note} | ${r.detectionMs} ms | ${r.failed} / ${r.sent} | ${r.retried} | ${r.baselineP50} ms | ${r.retriedP50} / ${r.retriedMax} ms |`,
  );
}
process.exit(0);
