import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { startChildUpstream } from '../helpers/child-upstream.ts';
import { eventually, request } from '../helpers/http.ts';
import { steadyLoad } from '../helpers/load.ts';
import { batonBin, indexUrl, launch, tempDir, writeFile, type Running } from '../helpers/process.ts';

/**
 * `workers: 2` with real processes: `baton start` runs a supervisor and two workers sharing
 * the port. Which worker answered is read from the access log (every line names its worker).
 * Starting takes long on a busy machine (each worker loads the TypeScript config): generous bounds.
 */

interface Machine {
  readonly baton: Running;
  readonly url: string;
  readonly admin: string;
  /** Which worker served each request id so far (from the access log). */
  servedBy(): Map<string, number>;
}

async function startMachine(t: ExecutionContext, nodes: string, extra = ''): Promise<Machine> {
  const dir = tempDir(t);
  const config = writeFile(
    dir,
    'gateway.config.ts',
    `import { defineConfig } from '${indexUrl}';
export default defineConfig(() => ({
  workers: 2,
  listen: { host: '127.0.0.1', port: 0 },
  admin: { port: 0 },
  server: { drainTimeout: '5s' },
  pools: { api: { ${nodes}, health: { interval: '1s', timeout: '900ms', rise: 1, fall: 2 } } },
  routes: [{ path: '/', pool: 'api' }],${extra}
}));`,
  );
  const baton = launch(t, process.execPath, [batonBin, 'start', '--config', config]);
  const [, url] = await baton.waitFor(/Baton listening on (http:\/\/\S+) \(2 workers/, 150_000);
  const [, admin] = await baton.waitFor(/Admin API on (http:\/\/\S+)/);
  return {
    baton,
    url: url!,
    admin: admin!,
    servedBy() {
      const served = new Map<string, number>();
      for (const line of baton.output().split('\n')) {
        if (!line.startsWith('{') || !line.includes('"requestId"')) continue;
        const record = JSON.parse(line) as { worker?: number; requestId?: string };
        if (record.worker !== undefined && record.requestId) served.set(record.requestId, record.worker);
      }
      return served;
    },
  };
}

/** Requests on fresh connections (the primary hands each connection to the next worker). */
async function send(
  machine: Machine,
  count: number,
): Promise<Array<{ id: string; status: number; epoch: string | undefined }>> {
  const replies = [];
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    const reply = await request(`${machine.url}/work`, { headers: { 'x-request-id': id } });
    replies.push({
      id,
      status: reply.status,
      epoch: reply.status === 200 ? (reply.json<{ epoch?: string }>().epoch ?? undefined) : undefined,
    });
  }
  return replies;
}

/** Waits until the access log names a worker for each of these request ids; returns the workers. */
async function workersOf(machine: Machine, ids: readonly string[]): Promise<Set<number>> {
  await eventually(() => ids.every((id) => machine.servedBy().has(id)), 10_000, 50);
  return new Set(ids.map((id) => machine.servedBy().get(id)!));
}

const adminJson = async <T>(machine: Machine, path: string): Promise<T> =>
  (await request(`${machine.admin}${path}`)).json<T>();

test.serial('two workers follow one failover with one epoch; /status and /metrics show the machine', async (t) => {
  t.timeout(180_000);
  const primary = await startChildUpstream(t, 'primary');
  const standby = await startChildUpstream(t, 'standby');
  const machine = await startMachine(
    t,
    `policy: 'hot-standby', nodes: [{ id: 'primary', url: '${primary.url}' }, { id: 'standby', url: '${standby.url}', tier: 1 }]`,
  );

  const before = await send(machine, 12);
  t.true(
    before.every((r) => r.status === 200),
    JSON.stringify(before),
  );
  t.deepEqual(
    [
      ...(await workersOf(
        machine,
        before.map((r) => r.id),
      )),
    ].sort(),
    [1, 2],
    'both workers served',
  );

  // An operator's failover through the admin port (worker 1) applies once, for the machine:
  // worker 2 forwards with the epoch it minted too (separate stores would disagree from here on).
  type Api = { pools: { api: { active: string; epoch: number } } };
  await eventually(async () => (await adminJson<Api>(machine, '/status')).pools.api.active === 'primary', 20_000, 100);
  const forcing = await request(`${machine.admin}/pools/api/failover?to=standby`, { method: 'POST' });
  t.is(forcing.status, 200, forcing.body);
  const forced = forcing.json<{ epoch: number }>();
  const onStandby = await send(machine, 12);
  t.deepEqual(
    [...new Set(onStandby.map((r) => `${r.status} epoch ${r.epoch}`))],
    [`200 epoch ${forced.epoch}`],
    'one epoch after the forced failover',
  );
  t.deepEqual(
    [
      ...(await workersOf(
        machine,
        onStandby.map((r) => r.id),
      )),
    ].sort(),
    [1, 2],
    'both workers served',
  );
  const back = (await request(`${machine.admin}/pools/api/failback`, { method: 'POST' })).json<{
    active: string;
    epoch: number;
  }>();
  t.like(back, { active: 'primary', epoch: forced.epoch + 1 });

  await primary.kill('SIGKILL');
  await eventually(async () => (await adminJson<Api>(machine, '/status')).pools.api.active === 'standby', 20_000, 100);
  const epoch = (await adminJson<Api>(machine, '/status')).pools.api.epoch;
  t.true(epoch > back.epoch, 'the failover raised the epoch');
  const after = await send(machine, 12);
  t.deepEqual(
    [...new Set(after.map((r) => `${r.status} epoch ${r.epoch}`))],
    [`200 epoch ${epoch}`],
    'every worker forwards with the one new epoch',
  );
  t.deepEqual(
    [
      ...(await workersOf(
        machine,
        after.map((r) => r.id),
      )),
    ].sort(),
    [1, 2],
    'both workers served after the failover',
  );

  const status = await adminJson<{
    workers: Array<{ worker: number }>;
    pools: { api: { active: string; epoch: number; workers?: unknown } };
  }>(machine, '/status');
  t.deepEqual(
    status.workers.map((w) => w.worker),
    [1, 2],
    'a row per worker',
  );
  t.like(status.pools.api, { active: 'standby', epoch });
  t.is(status.pools.api.workers, undefined, 'the workers agree on the active node');

  const metrics = (await request(`${machine.admin}/metrics`)).body;
  const answered = [...metrics.matchAll(/^baton_requests_total\{[^}]*status_class="2xx"[^}]*\} (\d+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
  t.is(
    answered,
    36,
    `the admin port counts both workers' requests:\n${metrics
      .split('\n')
      .filter((l) => l.startsWith('baton_requests_total'))
      .join('\n')}`,
  );
});

test.serial('a worker killed with SIGKILL is replaced; the other keeps serving; the crash is an event', async (t) => {
  t.timeout(180_000);
  const up = await startChildUpstream(t, 'up');
  const machine = await startMachine(t, `policy: 'round-robin', nodes: [{ url: '${up.url}' }]`);
  const status = await adminJson<{ workers: Array<{ worker: number; pid: number }> }>(machine, '/status');
  const victim = status.workers.find((w) => w.worker === 2)!;

  process.kill(victim.pid, 'SIGKILL');
  await machine.baton.waitFor(/worker 2 \(pid \d+\) exited with signal SIGKILL; replacing it/, 10_000);
  const during = await send(machine, 10);
  t.deepEqual(
    during.filter((r) => r.status !== 200),
    [],
    'worker 1 answers while worker 2 is gone',
  );

  await machine.baton.waitFor(/worker 2 is back \(pid (\d+)\)/, 150_000);
  const now = await adminJson<{ workers: Array<{ worker: number; pid: number }> }>(machine, '/status');
  t.deepEqual(
    now.workers.map((w) => w.worker),
    [1, 2],
  );
  t.not(now.workers[1]!.pid, victim.pid, 'a new process');
  const after = await send(machine, 12);
  t.deepEqual(
    after.filter((r) => r.status !== 200),
    [],
  );
  t.deepEqual(
    [
      ...(await workersOf(
        machine,
        after.map((r) => r.id),
      )),
    ].sort(),
    [1, 2],
    'the replacement serves',
  );

  const events = await new Promise<string>((resolve, reject) => {
    let text = '';
    const controller = new AbortController();
    fetch(`${machine.admin}/events`, { signal: controller.signal })
      .then(async (res) => {
        for await (const chunk of res.body!) {
          text += Buffer.from(chunk).toString();
          if (text.includes('"to":"started"')) break;
        }
        controller.abort();
        resolve(text);
      })
      .catch(reject);
    setTimeout(() => {
      controller.abort();
      resolve(text);
    }, 5000);
  });
  t.regex(events, /"type":"worker"[^\n]*"to":"crashed"[^\n]*SIGKILL/, 'the crash is in /events');
});

test.serial('SIGHUP reloads every worker under load and SIGTERM drains them: nothing dropped, exit 0', async (t) => {
  t.timeout(180_000);
  const up = await startChildUpstream(t, 'up', { mode: 'slow:50' });
  const machine = await startMachine(t, `policy: 'round-robin', nodes: [{ url: '${up.url}' }]`);

  const reloadLoad = steadyLoad(`${machine.url}/r`, { rate: 40, durationMs: 4000 });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  machine.baton.child.kill('SIGHUP');
  await machine.baton.waitFor(/2 of 2 workers reloaded/, 60_000);
  const reloaded = await reloadLoad;
  t.deepEqual(reloaded.failures, [], 'no request failed across the reload');
  t.true(reloaded.ok > 0);

  await up.setMode('slow:1500');
  const inFlight = Array.from({ length: 6 }, () => request(`${machine.url}/slow`));
  await eventually(
    async () => {
      const s = await adminJson<{ pools: { api: { nodes: Array<{ inflight: number }> } } }>(machine, '/status');
      return s.pools.api.nodes[0]!.inflight === 6;
    },
    10_000,
    50,
  );
  machine.baton.child.kill('SIGTERM');
  const replies = await Promise.all(inFlight);
  t.deepEqual(
    replies.map((r) => r.status),
    [200, 200, 200, 200, 200, 200],
    'every request in flight finished',
  );
  const exit = await machine.baton.exited();
  t.is(exit.code, 0, machine.baton.output().slice(-2000));
});
