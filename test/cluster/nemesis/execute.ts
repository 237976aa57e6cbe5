import { setTimeout as sleep } from 'node:timers/promises';
import { actions, type Context } from './actions.ts';
import type { NemesisCluster } from './cluster.ts';
import type { FaultRecord, History } from './history.ts';
import type { FaultStep } from './plan.ts';

/**
 * The nemesis proper: carries out a fault schedule on the running cluster, each step at its
 * time (later if its target is still healing from the previous one), and records when every
 * fault started, took hold, began to heal and healed, and when its target was out of service.
 */

/** Runs the schedule; resolves when every fault has healed. `t0` is the history time of `at` 0. */
export async function executePlan(
  cluster: NemesisCluster,
  history: History,
  plan: readonly FaultStep[],
  t0: number,
): Promise<void> {
  const healing = new Map<string, Promise<void>>();
  const running: Array<Promise<void>> = [];
  for (const step of plan) {
    const wait = t0 + step.at - history.now();
    if (wait > 0) await sleep(wait);
    const resource =
      step.kind === 'gateway-partition'
        ? step.target.split('→')[1]!
        : step.kind.startsWith('gateway')
          ? 'gateway'
          : step.target;
    const previous = healing.get(resource) ?? Promise.resolve();
    const run = previous.then(() => runStep(cluster, history, step));
    healing.set(resource, run);
    running.push(run);
  }
  await Promise.all(running);
}

async function runStep(cluster: NemesisCluster, history: History, step: FaultStep): Promise<void> {
  const record: FaultRecord = {
    n: step.n,
    kind: step.kind,
    target: step.target,
    startedAt: history.now(),
    outages: [],
    notes: [],
  };
  history.faults.push(record);
  const context: Context = {
    cluster,
    history,
    step,
    record,
    memo: {},
    out: () => void record.outages.push({ from: history.now() }),
    back() {
      const outage = record.outages.at(-1);
      if (outage && outage.until === undefined) outage.until = history.now();
    },
    via(i) {
      const planned = step.via[i] ?? step.via[0] ?? 0;
      const gateways = cluster.gateways;
      for (let k = 0; k < gateways.length; k++) {
        const candidate = gateways[(planned + k) % gateways.length]!;
        if (candidate.takesLoad) return candidate;
      }
      return undefined;
    },
  };
  const action = actions[step.kind];
  try {
    await action.apply(context);
    record.appliedAt = history.now();
    await sleep(step.holdMs);
    record.healingAt = history.now();
    await action.heal(context);
  } catch (error) {
    // The harness failed, not the system under test: the run is inconclusive. Try to heal
    // once more so that the rest of the run can go on.
    history.harnessErrors.push({
      at: history.now(),
      message: `#${step.n} ${step.kind} ${step.target}: ${(error as Error).message}`,
    });
    record.notes.push(`harness error: ${(error as Error).message.split('\n')[0]}`);
    await action
      .heal(context)
      .catch((again: Error) =>
        history.harnessErrors.push({ at: history.now(), message: `#${step.n} heal retry: ${again.message}` }),
      );
  }
  record.healedAt = history.now();
}
