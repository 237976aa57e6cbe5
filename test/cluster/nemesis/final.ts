import { setTimeout as sleep } from 'node:timers/promises';
import { operate, readView } from './admin.ts';
import type { NemesisCluster } from './cluster.ts';
import { agreeing } from './convergence.ts';
import type { History, StatusSample } from './history.ts';

/**
 * After the last fault healed: sample every instance's /status until they have agreed for a
 * while (or a deadline passes), then check that operators are still in charge: a forced
 * failover through one instance and another through a second one, each followed everywhere.
 * The checker judges the samples; this only collects them.
 */

export interface FinalOptions {
  readonly everyMs?: number;
  /** Agreement must hold this long before the control check. */
  readonly stableMs?: number;
  /** Give up waiting for agreement after this long. */
  readonly maxMs?: number;
}

export async function finalPhase(cluster: NemesisCluster, history: History, options: FinalOptions = {}): Promise<void> {
  const everyMs = options.everyMs ?? 100;
  const stableMs = options.stableMs ?? 2500;
  const started = history.now();
  let agreedSince: number | undefined;
  while (history.now() - started < (options.maxMs ?? 15_000)) {
    const sample = await takeSample(cluster, history);
    const agreed = agreeing(sample);
    if (!agreed) agreedSince = undefined;
    else if (agreedSince === undefined) agreedSince = sample.at;
    else if (sample.at - agreedSince >= stableMs) break;
    await sleep(everyMs);
  }
  history.note('final control check: forced failovers through two instances');
  for (const index of [0, 1]) await forcedFailover(cluster, history, index, everyMs);
}

async function forcedFailover(
  cluster: NemesisCluster,
  history: History,
  index: number,
  everyMs: number,
): Promise<void> {
  const pool = cluster.topology.activePassive;
  const gateway = cluster.gateways[index]!;
  const view = await readView(gateway);
  if ('error' in view) return history.note(`control check skipped on ${gateway.id}: ${view.error}`);
  const state = view.pools[pool]!;
  const to = Object.entries(state.nodes).find(([id, node]) => node.usable && id !== state.active)?.[0];
  if (!to) return history.note(`control check skipped on ${gateway.id}: no usable standby in ${pool}`);
  const action = await operate(history, gateway, 'failover', pool, { to, step: 0 });
  if (action.status !== 200) return;
  const { active, epoch } = JSON.parse(action.body ?? '{}') as { active?: string; epoch?: number };
  const deadline = history.now() + 3000;
  while (history.now() < deadline) {
    const sample = await takeSample(cluster, history);
    if (
      sample.views.every((v) => !('error' in v) && v.pools[pool]?.active === active && v.pools[pool]?.epoch === epoch)
    )
      return;
    await sleep(everyMs);
  }
}

export async function takeSample(cluster: NemesisCluster, history: History): Promise<StatusSample> {
  const at = history.now();
  const views = await Promise.all(cluster.gateways.map((g) => readView(g)));
  const sample = { at, views };
  history.samples.push(sample);
  return sample;
}
