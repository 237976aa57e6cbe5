import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { batonBin, indexUrl, repoRoot } from '../../helpers/process.ts';
import {
  startRedisProcess,
  startReplicatedRedis,
  type RedisProcess,
  type ReplicatedRedis,
} from '../../helpers/redis-topology.ts';
import { spawnTethered, type Scope, type Tethered } from '../../helpers/tethered.ts';
import type { History } from './history.ts';
import type { Topology } from './plan.ts';
import { Relays } from './relays.ts';

/**
 * The system under test, as real processes: three `baton start` gateways sharing one Redis
 * (found through Sentinel when the faults need a replica), a hot-standby pool and a
 * round-robin pool of examples/upstream.ts processes. Each upstream reports every request it
 * receives (method, id, epoch) and each gateway its events; both go into the history.
 */

export const TOPOLOGY: Topology = {
  gateways: 3,
  pools: { hs: ['hs-a', 'hs-b', 'hs-c'], rr: ['rr-a', 'rr-b', 'rr-c'] },
  activePassive: 'hs',
};

/** The hot-standby pool's failbackDelay: long enough that a forced failover outlasts most faults. */
export const FAILBACK_DELAY_MS = 10_000;

const upstreamScript = join(repoRoot, 'examples/upstream.ts');
const clockPreload = pathToFileURL(join(repoRoot, 'test/cluster/nemesis/clock-offset.mjs')).href;

export class Upstream {
  readonly pool: string;
  readonly node: string;
  port = 0;
  /** When partitions are on: each gateway reaches the node through its own relay, on these ports. */
  readonly relayPorts: number[] = [];
  relays: Relays | undefined;
  #process: Tethered | undefined;
  readonly #scope: Scope;
  readonly #history: History;

  constructor(scope: Scope, history: History, pool: string, node: string) {
    [this.#scope, this.#history, this.pool, this.node] = [scope, history, pool, node];
  }

  /** Where gateway `index` sends this node's requests. */
  urlFor(index: number): string {
    return `http://127.0.0.1:${this.relayPorts[index] ?? this.port}`;
  }

  /** Starts (again, on the same port once it has one); a previous process is killed first. */
  async start(): Promise<void> {
    // One process per node, always: a start retried after a timeout must not leave the slow
    // first one running (it would hold the port, or serve as a node nobody records).
    await this.#process?.stop('SIGKILL');
    const process = spawnTethered(
      this.#scope,
      this.node,
      globalThis.process.execPath,
      ['--import', 'tsx', upstreamScript, '--name', this.node, '--port', String(this.port), '--log-requests'],
      { cwd: repoRoot },
    );
    process.onLine((line) => this.#record(line));
    this.#process = process;
    this.port = Number((await process.waitForLine(/^listening (\d+)/, 60_000))[1]);
    if (!this.relays) return;
    if (this.relayPorts.length) await this.relays.send(`up ${this.node}`);
    else
      for (let i = 0; i < TOPOLOGY.gateways; i++)
        this.relayPorts.push(Number(await this.relays.send(`open ${this.node} ${i} ${this.port}`)));
  }

  async kill(): Promise<void> {
    await this.#process?.stop('SIGKILL');
    await this.relays?.send(`down ${this.node}`);
  }

  /** Cuts gateway `index` off this node, or heals that. */
  partition(index: number, cut: boolean): Promise<string> {
    return this.relays!.send(`${cut ? 'cut' : 'heal'} ${this.node} ${index}`);
  }

  pause = () => this.#process?.pause();
  resume = () => this.#process?.resume();

  #record(line: string): void {
    const match = /^REQ (\S+) (\S+) (\S+) (\S+)/.exec(line);
    if (!match) return;
    const epoch = match[4] === '-' ? null : Number(match[4]);
    this.#history.deliveries.push({
      at: this.#history.now(),
      pool: this.pool,
      node: this.node,
      method: match[1]!,
      id: match[2]!,
      epoch,
    });
  }
}

export class Gateway {
  readonly index: number;
  readonly id: string;
  port = 0;
  adminPort = 0;
  /** Whether the load sends requests here (off from just before a fault until it healed). */
  takesLoad = false;
  #process: Tethered | undefined;
  readonly #scope: Scope;
  readonly #history: History;
  readonly #config: string;
  readonly #env: Record<string, string>;

  /** `env`: what the config reads (REDIS, NODES). */
  constructor(scope: Scope, history: History, index: number, config: string, env: Record<string, string>) {
    [this.#scope, this.#history, this.index, this.#config, this.#env] = [scope, history, index, config, env];
    this.id = `gw-${index}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  get alive(): boolean {
    return this.#process?.alive ?? false;
  }

  /** The running process' pid (diagnostics.ts reads /proc with it). */
  get pid(): number | undefined {
    return this.#process?.alive ? this.#process.pid : undefined;
  }

  /** Starts (again, on the same ports once it has them), its clock `offsetMs` off; a previous process is killed first. */
  async start(offsetMs = 0): Promise<void> {
    // One process per instance, always. A heal retried after a start timed out on a starved
    // machine used to start a second `gw-N` while the slow first one came up on the same ports
    // with the same instance id: a gateway nobody watched, and connections to a port the
    // recorded process did not hold (finding F8).
    await this.#process?.stop('SIGKILL');
    const args = [...(offsetMs ? ['--import', clockPreload] : []), batonBin, 'start', '--config', this.#config];
    const env = {
      ...process.env,
      ...this.#env,
      INSTANCE: this.id,
      PORT: String(this.port),
      ADMIN_PORT: String(this.adminPort),
      BATON_CLOCK_OFFSET_MS: String(offsetMs),
    };
    const child = spawnTethered(this.#scope, this.id, process.execPath, args, { cwd: repoRoot, env });
    this.#process = child;
    child.onLine((line) => this.#record(line));
    void child.exited().then(({ code, signal }) => this.#event('process', `exited (${signal ?? `code ${code}`})`));
    // Generous: on a loaded two-core machine a gateway has taken 20 s to start (tsx compiles it).
    const [, url] = await child.waitForLine(/Baton listening on (\S+)/, 90_000);
    const [, admin] = await child.waitForLine(/Admin API on (http:\/\/\S+) /, 90_000);
    this.port = Number(new URL(url!).port);
    this.adminPort = Number(new URL(admin!).port);
    this.#event('process', `listening${offsetMs ? `, clock ${offsetMs > 0 ? '+' : ''}${offsetMs} ms off` : ''}`);
  }

  kill = () => this.#process?.stop('SIGKILL') ?? Promise.resolve();
  /** SIGTERM: drains and leaves the cluster cleanly. */
  stop = () => this.#process?.stop('SIGTERM') ?? Promise.resolve();
  pause = () => this.#process?.pause();
  resume = () => this.#process?.resume();

  #event(type: string, reason: string): void {
    this.#history.events.push({ at: this.#history.now(), instance: this.id, type, reason });
  }

  #record(line: string): void {
    if (!line.startsWith('{')) return;
    let entry: { level?: number; msg?: string; event?: Record<string, unknown>; err?: { message?: string } };
    try {
      entry = JSON.parse(line);
    } catch {
      return;
    }
    const e = entry.event;
    if (e) {
      this.#history.events.push({
        at: this.#history.now(),
        instance: this.id,
        type: String(e.type),
        pool: e.pool as string | undefined,
        node: e.node as string | undefined,
        from: e.from as string | undefined,
        to: e.to as string | undefined,
        epoch: e.epoch as number | undefined,
        reason: String(e.reason ?? ''),
      });
    } else if ((entry.level ?? 0) >= 40) {
      this.#event('log', `${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`);
    }
  }
}

export interface NemesisCluster {
  readonly topology: Topology;
  /** "<pool>/<node>" → its process. */
  readonly upstreams: ReadonlyMap<string, Upstream>;
  readonly gateways: readonly Gateway[];
  /** The current Redis primary. */
  redis(): RedisProcess;
  /** Present when the faults need a replica and Sentinel. */
  readonly replicated: ReplicatedRedis | undefined;
}

export interface ClusterOptions {
  readonly dir: string;
  /** Redis with a replica, found through Sentinel. */
  readonly sentinel: boolean;
  /** `cluster.quorum` of the gateways (default 1, Baton's default). */
  readonly quorum?: number | 'majority';
  /** Each gateway reaches each node through its own relay, so that it can be cut off alone. */
  readonly relays?: boolean;
}

export async function startCluster(scope: Scope, history: History, options: ClusterOptions): Promise<NemesisCluster> {
  let single: RedisProcess | undefined;
  let replicated: ReplicatedRedis | undefined;
  if (options.sentinel) replicated = await startReplicatedRedis(scope);
  else single = await startRedisProcess(scope, { name: 'redis' });
  const redisTarget = JSON.stringify(replicated ? replicated.clientOptions : single!.url);
  history.note(
    replicated
      ? `Redis: primary :${replicated.primary.port}, replica :${replicated.replica.port}, sentinel :${replicated.sentinels.addresses[0]!.port}`
      : `Redis :${single!.port}`,
  );

  const relays = options.relays ? await Relays.start(scope) : undefined;
  const upstreams = new Map<string, Upstream>();
  for (const [pool, nodes] of Object.entries(TOPOLOGY.pools)) {
    for (const node of nodes) {
      const upstream = new Upstream(scope, history, pool, node);
      upstream.relays = relays;
      upstreams.set(`${pool}/${node}`, upstream);
    }
  }
  await Promise.all([...upstreams.values()].map((u) => u.start()));

  const config = join(options.dir, 'gateway.config.ts');
  writeFileSync(config, gatewayConfig(options.quorum ?? 1));
  const nodesFor = (index: number) =>
    JSON.stringify(Object.fromEntries([...upstreams.values()].map((u) => [u.node, u.urlFor(index)])));
  const gateways = Array.from(
    { length: TOPOLOGY.gateways },
    (_, i) => new Gateway(scope, history, i, config, { REDIS: redisTarget, NODES: nodesFor(i) }),
  );
  for (const gateway of gateways) await gateway.start(); // one after another: two cores
  history.note(`gateways ${gateways.map((g) => `${g.id} ${g.url} (admin ${g.adminUrl})`).join(', ')}`);
  return { topology: TOPOLOGY, upstreams, gateways, redis: () => replicated?.primary ?? single!, replicated };
}

function gatewayConfig(quorum: number | 'majority'): string {
  const nodes = (pool: string) =>
    TOPOLOGY.pools[pool]!.map(
      (node, tier) =>
        `{ id: '${node}', url: urls['${node}']${pool === TOPOLOGY.activePassive ? `, tier: ${tier}` : ''} }`,
    ).join(', ');
  return `import { defineConfig } from '${indexUrl}';
// Written by the nemesis (test/cluster/nemesis/cluster.ts). NODES: node id → the URL this instance uses.
export default defineConfig(({ env }) => {
  const urls = JSON.parse(env.NODES);
  return {
    listen: { host: '127.0.0.1', port: Number(env.PORT) },
    admin: { port: Number(env.ADMIN_PORT) },
    log: { level: 'info', access: false },
    server: { drainTimeout: '1s' },
    // Fast, but with room for a loaded two-core machine (a 200 ms timeout there is a false alarm).
    cluster: { name: 'nemesis', instanceId: env.INSTANCE, redis: JSON.parse(env.REDIS), heartbeatInterval: '500ms', resyncInterval: '1s', quorum: ${JSON.stringify(quorum)} },
    pools: {
      hs: {
        policy: { name: 'hot-standby', failbackDelay: ${FAILBACK_DELAY_MS} },
        nodes: [${nodes('hs')}],
        health: { path: '/health', interval: '300ms', timeout: '600ms', fall: 2, rise: 2 },
        timeouts: { response: '2s' },
      },
      rr: {
        policy: 'round-robin',
        nodes: [${nodes('rr')}],
        health: { path: '/health', interval: '500ms', timeout: '600ms', fall: 2, rise: 2 },
        timeouts: { response: '2s' },
      },
    },
    routes: [{ path: '/hs/', pool: 'hs' }, { path: '/rr/', pool: 'rr' }],
  };
});
`;
}
