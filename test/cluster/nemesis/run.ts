import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Scope } from '../../helpers/tethered.ts';
import { until } from '../../helpers/tethered.ts';
import { readView } from './admin.ts';
import { check, type CheckOptions, type Violation } from './checker.ts';
import { FAILBACK_DELAY_MS, startCluster, TOPOLOGY } from './cluster.ts';
import { executePlan } from './execute.ts';
import { spec, type FaultKind } from './faults.ts';
import { finalPhase } from './final.ts';
import { History } from './history.ts';
import { startLoad } from './load.ts';
import { watchGateways } from './diagnostics.ts';
import { watchStalls } from './stalls.ts';
import { planFaults, type FaultStep } from './plan.ts';
import { formatLines, formatPlan, summary, timeline, verdict } from './report.ts';

/**
 * One nemesis run: start the cluster, put it under steady load, carry out the seed's fault
 * schedule, let the last fault heal, watch the instances converge, check the invariants.
 * Shared by test/cluster/nemesis.test.ts and bench/nemesis.ts.
 */

export interface NemesisOptions {
  readonly seed: number;
  /** How long faults go on (setup and the final checks come on top). */
  readonly seconds: number;
  readonly faults: readonly FaultKind[];
  /** Processes die with the scope (a test's `t`, or processScope() in a script). */
  readonly scope: Scope;
  /** Requests per second through the gateways (default 40). */
  readonly rate?: number;
  readonly maxConcurrent?: number;
  readonly allowPoolOutage?: boolean;
  /** The gateways' `cluster.quorum` (default 1). */
  readonly quorum?: number | 'majority';
  /** Progress lines (fault starts and heals as they happen). */
  readonly log?: (line: string) => void;
  readonly check?: Partial<Pick<CheckOptions, 'convergenceMs' | 'staleGraceMs' | 'recoveryMs'>>;
}

export interface NemesisResult {
  readonly seed: number;
  readonly plan: readonly FaultStep[];
  readonly history: History;
  readonly violations: readonly Violation[];
  /** Timing rules broken while the machine stalled (stalls.ts): reported, not counted. */
  readonly setAside: readonly Violation[];
  /** The harness could not do its part (a process would not start): the run proves nothing. */
  readonly inconclusive: boolean;
  /** No violation, and conclusive. */
  readonly passed: boolean;
  /** Fault counts, requests, epochs per node. */
  summary(): string;
  /** PASS, or FAIL with the violations and the history around them. */
  verdict(): string;
  /** Everything that happened, in order. */
  timeline(): string;
  plainPlan(): string;
}

const WARMUP_MS = 2000;

export async function runNemesis(options: NemesisOptions): Promise<NemesisResult> {
  const log = options.log ?? (() => {});
  const plan = planFaults({
    seed: options.seed,
    durationMs: options.seconds * 1000,
    faults: options.faults,
    topology: TOPOLOGY,
    maxConcurrent: options.maxConcurrent,
    allowPoolOutage: options.allowPoolOutage,
  });
  const history = new History();
  const dir = mkdtempSync(join(tmpdir(), 'baton-nemesis-'));
  options.scope.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sentinel = options.faults.some((kind) => spec(kind).sentinel);
  const relays = options.faults.some((kind) => spec(kind).relays);
  log(
    `nemesis seed ${options.seed}: ${plan.length} faults over ${options.seconds} s from ${options.faults.join(', ')}${sentinel ? ' (Redis through Sentinel)' : ''}, quorum ${options.quorum ?? 1}`,
  );

  const stopWatching = watchStalls(history);
  options.scope.teardown(stopWatching);
  const cluster = await startCluster(options.scope, history, { dir, sentinel, relays, quorum: options.quorum });
  await until(
    'every instance on Redis with hs-a active',
    async () => {
      const views = await Promise.all(cluster.gateways.map((g) => readView(g)));
      return views.every((v) => !('error' in v) && v.connected && v.pools.hs?.active === 'hs-a');
    },
    30_000,
    100,
  );
  for (const gateway of cluster.gateways) gateway.takesLoad = true;
  const stopDiagnostics = watchGateways(cluster.gateways, history);
  options.scope.teardown(stopDiagnostics);
  history.note(`cluster up; load starts (${options.rate ?? 40} requests/s)`);
  const load = startLoad(cluster.gateways, history, {
    rate: options.rate ?? 40,
    pools: Object.keys(TOPOLOGY.pools),
    seed: options.seed,
  });
  await sleep(WARMUP_MS);

  const t0 = history.now();
  history.note(`faults start (seed ${options.seed})`);
  const progress = setInterval(
    () =>
      log(
        `  ${Math.round((history.now() - t0) / 1000)} s: ${history.faults.length}/${plan.length} faults started, ${history.requests.length} requests`,
      ),
    10_000,
  );
  try {
    await executePlan(cluster, history, plan, t0);
  } finally {
    clearInterval(progress);
  }
  const healedAt = history.now();
  history.note('the last fault healed');
  await finalPhase(cluster, history);
  await load.stop();
  await sleep(300); // the upstreams' last REQ lines
  history.note('load stopped; checking');
  stopWatching();
  stopDiagnostics();

  const all = check(history, {
    topology: TOPOLOGY,
    healedAt,
    failbackDelayMs: FAILBACK_DELAY_MS,
    quorum: options.quorum,
    ...options.check,
  });
  const violations = all.filter((v) => !v.stalled);
  return {
    seed: options.seed,
    plan,
    history,
    violations,
    setAside: all.filter((v) => v.stalled),
    inconclusive: history.harnessErrors.length > 0,
    passed: violations.length === 0 && history.harnessErrors.length === 0,
    summary: () => summary(history),
    verdict: () => verdict(violations, history, { setAside: all.filter((v) => v.stalled) }),
    timeline: () => formatLines(timeline(history)),
    plainPlan: () => formatPlan(plan),
  };
}
