import { request } from '../../helpers/http.ts';
import type { Gateway } from './cluster.ts';
import type { History, InstanceView, OperatorAction } from './history.ts';

/** The operators of the nemesis: admin API calls on one instance, each recorded with its answer. */

export async function operate(
  history: History,
  gateway: Gateway,
  action: OperatorAction['action'],
  pool: string,
  options: { node?: string; to?: string; step: number },
): Promise<OperatorAction> {
  const record: OperatorAction = {
    at: history.now(),
    instance: gateway.id,
    action,
    pool,
    node: options.node ?? options.to,
    step: options.step,
  };
  history.operator.push(record);
  const path =
    action === 'drain' || action === 'enable'
      ? `/pools/${pool}/nodes/${options.node}/${action}`
      : `/pools/${pool}/${action}${options.to ? `?to=${options.to}` : ''}`;
  try {
    const reply = await request(`${gateway.adminUrl}${path}`, { method: 'POST', timeoutMs: 5000 });
    record.status = reply.status;
    record.body = reply.body.trim().slice(0, 300);
  } catch (error) {
    record.status = 0;
    record.body = (error as Error).message;
  }
  record.endedAt = history.now();
  return record;
}

/** One instance's view of the shared state from its /status, or why it could not be read. */
export async function readView(gateway: Gateway, timeoutMs = 1000): Promise<InstanceView | { error: string }> {
  try {
    const reply = await request(`${gateway.adminUrl}/status`, { timeoutMs });
    if (reply.status !== 200) return { error: `status ${reply.status}` };
    const doc = reply.json<StatusDoc>();
    const pools: Record<string, InstanceView['pools'][string]> = {};
    for (const [name, pool] of Object.entries(doc.pools)) {
      const nodes: Record<string, { cluster: string; local: string; draining: boolean; usable: boolean }> = {};
      for (const node of pool.nodes)
        nodes[node.id] = { cluster: node.cluster, local: node.local, draining: node.draining, usable: node.usable };
      pools[name] = { active: pool.active, epoch: pool.epoch, nodes };
    }
    return { connected: doc.storeConnected, pools };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

interface StatusDoc {
  storeConnected: boolean;
  pools: Record<
    string,
    {
      active: string | null;
      epoch: number | null;
      nodes: Array<{ id: string; cluster: string; local: string; draining: boolean; usable: boolean }>;
    }
  >;
}
