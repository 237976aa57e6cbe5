import type { NodeStatus, PoolStatus, StatusDocument } from '../admin/status.ts';

/** One worker's part of the machine's /status. */
export interface WorkerStatus {
  readonly worker: number;
  readonly pid: number;
  /** Requests in flight in this worker (all pools). */
  readonly inflight: number;
  readonly status: StatusDocument;
}

/** A node as one worker sees it, listed only where the workers disagree. */
export interface WorkerNodeRow {
  readonly worker: number;
  readonly health: NodeStatus['health'];
  readonly local: NodeStatus['local'];
  readonly breaker: NodeStatus['breaker'];
  readonly usable: boolean;
  readonly suspected: boolean;
  readonly inflight: number;
}

export interface MachineStatus extends Omit<StatusDocument, 'pools'> {
  /** One row per worker process. */
  readonly workers: ReadonlyArray<{
    readonly worker: number;
    readonly pid: number;
    readonly instance: string;
    readonly inflight: number;
  }>;
  readonly pools: Record<
    string,
    Omit<PoolStatus, 'nodes'> & {
      workers?: ReadonlyArray<{ worker: number; active: string | null; epoch: number | null }>;
      nodes: Array<NodeStatus & { workers?: WorkerNodeRow[] }>;
    }
  >;
}

/** What may differ between workers for a moment, or for good (a breaker is per process). */
const nodeKey = (node: NodeStatus) =>
  JSON.stringify([
    node.health,
    node.local,
    node.breaker,
    node.usable,
    node.suspected,
    node.draining,
    node.ejectedUntil,
  ]);

/**
 * The machine's /status from every worker's (pure): the lead worker's document, with in-flight
 * counts summed over the workers, a row per worker, and per-worker rows for the pools and nodes
 * on which the workers do not all agree.
 */
export function machineStatus(reports: readonly WorkerStatus[]): MachineStatus {
  const sorted = [...reports].sort((a, b) => a.worker - b.worker);
  const base = sorted[0];
  if (!base) throw new Error('no worker reported');
  const pools: MachineStatus['pools'] = {};
  for (const [name, pool] of Object.entries(base.status.pools)) {
    const views = sorted.map((r) => ({ worker: r.worker, pool: r.status.pools[name] }));
    const agreeOnActive = new Set(views.map((v) => `${v.pool?.active}@${v.pool?.epoch}`)).size === 1;
    pools[name] = {
      ...pool,
      ...(agreeOnActive
        ? {}
        : {
            workers: views.map((v) => ({
              worker: v.worker,
              active: v.pool?.active ?? null,
              epoch: v.pool?.epoch ?? null,
            })),
          }),
      nodes: pool.nodes.map((node) => {
        const rows = views.flatMap((v) => {
          const seen = v.pool?.nodes.find((n) => n.id === node.id);
          return seen ? [{ worker: v.worker, seen }] : [];
        });
        const inflight = rows.reduce((sum, row) => sum + row.seen.inflight, 0);
        const agree = new Set(rows.map((row) => nodeKey(row.seen))).size === 1;
        if (agree) return { ...node, inflight };
        const workers = rows.map(({ worker, seen }) => ({
          worker,
          health: seen.health,
          local: seen.local,
          breaker: seen.breaker,
          usable: seen.usable,
          suspected: seen.suspected,
          inflight: seen.inflight,
        }));
        return { ...node, inflight, workers };
      }),
    };
  }
  return {
    ...base.status,
    workers: sorted.map((r) => ({ worker: r.worker, pid: r.pid, instance: r.status.instance, inflight: r.inflight })),
    pools,
  };
}
