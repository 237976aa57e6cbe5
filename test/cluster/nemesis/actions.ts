import { operate, readView } from './admin.ts';
import type { Gateway, NemesisCluster } from './cluster.ts';
import type { FaultKind } from './faults.ts';
import type { FaultRecord, History } from './history.ts';
import type { FaultStep } from './plan.ts';

/**
 * How each fault is applied and healed on the running cluster (execute.ts runs them on
 * schedule). Each marks when its target is out of service: the checker excuses what a fault
 * explains, and nothing else.
 */

export interface Context {
  readonly cluster: NemesisCluster;
  readonly history: History;
  readonly step: FaultStep;
  readonly record: FaultRecord;
  /** The target is out of service from now … */
  out(): void;
  /** … until now. */
  back(): void;
  /** What apply leaves for heal (the snapshot to roll back to). */
  readonly memo: { snapshot?: string };
  /** The gateway for the step's `i`-th admin call: the planned one, or the next that is up. */
  via(i: number): Gateway | undefined;
}

export interface FaultAction {
  apply(c: Context): Promise<void>;
  heal(c: Context): Promise<void>;
}

const nothing = async () => {};

const upstream = (c: Context) => c.cluster.upstreams.get(c.step.target)!;
const gateway = (c: Context) => c.cluster.gateways[Number(c.step.target.slice('gw-'.length))]!;
const redis = (c: Context) => c.cluster.redis();
/** Cuts (or heals) the gateway and the node of a `gw-<i>→<pool>/<node>` target. */
const partition = (c: Context, cut: boolean) => {
  const [gw, node] = c.step.target.split('→') as [string, string];
  return c.cluster.upstreams.get(node)!.partition(Number(gw.slice('gw-'.length)), cut);
};

/** While a gateway is down or restarting, the load goes through the others. */
async function offLoad(c: Context, during: () => Promise<void>): Promise<void> {
  const g = gateway(c);
  g.takesLoad = false;
  c.out();
  await during();
  c.back();
  g.takesLoad = true;
}

async function failoverVia(c: Context, i: number, to?: string): Promise<void> {
  const g = c.via(i);
  if (!g) return void c.record.notes.push('no instance up for the operator');
  const result = await operate(c.history, g, 'failover', c.cluster.topology.activePassive, { step: c.step.n, to });
  c.record.notes.push(`failover${to ? ` to ${to}` : ''} via ${g.id}: ${result.status} ${result.body}`);
}

/** The standbys of the hot-standby pool as the step's first instance sees them (two operators pick different ones). */
async function standbys(c: Context): Promise<string[]> {
  const g = c.via(0);
  const view = g && (await readView(g));
  if (!view || 'error' in view) return [];
  const pool = view.pools[c.cluster.topology.activePassive]!;
  return Object.keys(pool.nodes).filter((id) => id !== pool.active);
}

export const actions: Record<FaultKind, FaultAction> = {
  'upstream-kill': {
    apply: async (c) => {
      c.out();
      await upstream(c).kill();
    },
    heal: async (c) => {
      await upstream(c).start();
      c.back();
    },
  },
  'upstream-hang': {
    apply: async (c) => {
      c.out();
      upstream(c).pause();
    },
    heal: async (c) => {
      upstream(c).resume();
      c.back();
    },
  },
  'redis-kill': {
    apply: async (c) => {
      c.out();
      await redis(c).kill();
    },
    heal: async (c) => {
      await redis(c).start();
      c.back();
    },
  },
  'redis-restart-empty': {
    apply: async (c) => {
      c.out();
      await redis(c).start();
      c.back();
    },
    heal: nothing,
  },
  'redis-pause': {
    apply: async (c) => {
      c.out();
      redis(c).pause();
    },
    heal: async (c) => {
      redis(c).resume();
      c.back();
    },
  },
  'redis-client-pause': {
    apply: async (c) => {
      const targets = await standbys(c);
      c.out();
      await redis(c).cli(['CLIENT', 'PAUSE', String(c.step.holdMs), 'ALL']);
      // Two operators at once, on two instances, each to another standby, while Redis holds every command.
      await Promise.all([failoverVia(c, 0, targets[0]), failoverVia(c, 1, targets[1] ?? targets[0])]);
    },
    heal: async (c) => {
      await redis(c).cli(['CLIENT', 'UNPAUSE']);
      c.back();
    },
  },
  'redis-rollback': {
    apply: async (c) => {
      const snapshot = await redis(c).snapshot();
      c.record.notes.push(`snapshot ${snapshot}`);
      c.memo.snapshot = snapshot;
      await failoverVia(c, 0); // the epoch rises past the snapshot's
    },
    heal: async (c) => {
      c.out();
      await redis(c).start({ snapshot: c.memo.snapshot });
      c.back();
      c.record.notes.push('Redis restarted from the snapshot');
    },
  },
  'redis-lagging-failover': {
    apply: async (c) => {
      await c.cluster.replicated!.holdReplica();
      await failoverVia(c, 0); // reaches the primary, never the held replica
    },
    heal: async (c) => {
      const replicated = c.cluster.replicated!;
      c.out();
      try {
        await replicated.failover({ killPrimary: true });
      } catch (error) {
        // Sentinel would not promote the replica: bring the killed primary back (empty, as
        // `redis-kill` does) so the run goes on with a Redis, and say so in the history.
        c.record.notes.push(`harness: no Sentinel failover (${(error as Error).message}); primary restarted empty`);
        await replicated.primary.start();
        c.back();
        return;
      }
      c.back();
      c.record.notes.push(`Sentinel promoted ${replicated.primary.name} (:${replicated.primary.port})`);
      await replicated.rejoin();
    },
  },
  'gateway-kill': {
    apply: async (c) => {
      const g = gateway(c);
      g.takesLoad = false;
      c.out();
      await g.kill();
    },
    heal: async (c) => {
      const g = gateway(c);
      await g.start();
      c.back();
      g.takesLoad = true;
    },
  },
  'gateway-pause': {
    apply: async (c) => {
      const g = gateway(c);
      g.takesLoad = false;
      c.out();
      g.pause();
    },
    heal: async (c) => {
      const g = gateway(c);
      g.resume();
      c.back();
      g.takesLoad = true;
    },
  },
  'gateway-clock-skew': {
    apply: (c) =>
      offLoad(c, async () => {
        await gateway(c).stop();
        await gateway(c).start(c.step.offsetMs);
      }),
    heal: (c) =>
      offLoad(c, async () => {
        await gateway(c).stop();
        await gateway(c).start();
      }),
  },
  'gateway-partition': {
    apply: async (c) => {
      c.out();
      await partition(c, true);
    },
    heal: async (c) => {
      await partition(c, false);
      c.back();
    },
  },
  'operator-failover': {
    apply: (c) => failoverVia(c, 0),
    heal: nothing,
  },
  'operator-drain': {
    apply: async (c) => {
      const g = c.via(0);
      if (!g) return void c.record.notes.push('no instance up for the operator');
      c.out();
      const [pool, node] = c.step.target.split('/') as [string, string];
      const result = await operate(c.history, g, 'drain', pool, { node, step: c.step.n });
      c.record.notes.push(`drain via ${g.id}: ${result.status} ${result.body}`);
    },
    heal: async (c) => {
      const g = c.via(1);
      if (!g) return void c.record.notes.push('no instance up to enable the node');
      const [pool, node] = c.step.target.split('/') as [string, string];
      const result = await operate(c.history, g, 'enable', pool, { node, step: c.step.n });
      c.record.notes.push(`enable via ${g.id}: ${result.status} ${result.body}`);
      c.back();
    },
  },
};
