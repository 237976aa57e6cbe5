/**
 * Long nemesis runs: three gateway processes, Redis (with a replica and Sentinel when a fault
 * needs them), a hot-standby and a round-robin pool under steady load, and a random schedule of
 * faults drawn from the seed; then the invariants of issue 10 are checked (see
 * test/cluster/nemesis/checker.ts and docs/nemesis.md). A failing seed replays with `--seed`.
 *
 *   node --import tsx bench/nemesis.ts [--seconds 120] [--seed 7] [--runs 1] [--faults all|passing|a,b,…]
 *                                      [--rate 40] [--max-concurrent 2] [--allow-pool-outage] [--quorum 1|2|majority]
 *                                      [--timeline <dir>] [--plan]
 *
 * `--runs N` runs seeds S, S+1, … S+N-1. `--timeline <dir>` writes each run's full history to
 * <dir>/nemesis-<seed>.txt. `--plan` prints the schedules and exits. Exit code 1 if any run failed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TOPOLOGY } from '../test/cluster/nemesis/cluster.ts';
import { parseFaults, spec } from '../test/cluster/nemesis/faults.ts';
import { planFaults } from '../test/cluster/nemesis/plan.ts';
import { formatPlan } from '../test/cluster/nemesis/report.ts';
import { runNemesis } from '../test/cluster/nemesis/run.ts';
import { processScope } from '../test/helpers/tethered.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    seed: { type: 'string' },
    runs: { type: 'string', default: '1' },
    faults: { type: 'string', default: 'all' },
    rate: { type: 'string', default: '40' },
    'max-concurrent': { type: 'string', default: '2' },
    'allow-pool-outage': { type: 'boolean', default: false },
    quorum: { type: 'string', default: '1' },
    timeline: { type: 'string' },
    plan: { type: 'boolean', default: false },
  },
});

const faults = parseFaults(values.faults);
const firstSeed = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(values.seed);
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const maxConcurrent = Number(values['max-concurrent']);
console.log(`faults: ${faults.join(', ')}`);
for (const kind of faults) {
  const pending = spec(kind).pending;
  if (pending) console.log(`  ${kind} is expected to fail on main: ${pending}`);
}

if (values.plan) {
  for (let seed = firstSeed; seed < firstSeed + runs; seed++) {
    const plan = planFaults({
      seed,
      durationMs: seconds * 1000,
      faults,
      topology: TOPOLOGY,
      maxConcurrent,
      allowPoolOutage: values['allow-pool-outage'],
    });
    console.log(`seed ${seed}:\n${formatPlan(plan)}`);
  }
  process.exit(0);
}

const scope = processScope();
const results: Array<{ seed: number; passed: boolean; line: string }> = [];
for (let seed = firstSeed; seed < firstSeed + runs; seed++) {
  const started = Date.now();
  try {
    const result = await runNemesis({
      seed,
      seconds,
      faults,
      scope,
      rate: Number(values.rate),
      maxConcurrent,
      allowPoolOutage: values['allow-pool-outage'],
      quorum: values.quorum === 'majority' ? 'majority' : Number(values.quorum),
      log: (line) => console.log(line),
    });
    console.log(`\nseed ${seed} plan:\n${result.plainPlan()}\n\n${result.summary()}\n\n${result.verdict()}\n`);
    if (values.timeline) {
      mkdirSync(values.timeline, { recursive: true });
      const file = join(values.timeline, `nemesis-${seed}.txt`);
      writeFileSync(
        file,
        `seed ${seed}, faults ${faults.join(',')}, ${seconds} s\n\n${result.plainPlan()}\n\n${result.summary()}\n\n${result.verdict()}\n\nTIMELINE\n${result.timeline()}\n`,
      );
      console.log(`timeline: ${file}`);
    }
    const kinds = [...new Set(result.violations.map((v) => v.invariant))];
    results.push({
      seed,
      passed: result.passed,
      line: `seed ${seed}: ${result.passed ? 'PASS' : `FAIL (${kinds.join(', ')})`} in ${Math.round((Date.now() - started) / 1000)} s`,
    });
  } catch (error) {
    results.push({ seed, passed: false, line: `seed ${seed}: harness error: ${(error as Error).message}` });
    console.error(error);
  } finally {
    await scope.close();
  }
}
console.log(
  `\n${results.map((r) => r.line).join('\n')}\n${results.filter((r) => r.passed).length} passed, ${results.filter((r) => !r.passed).length} failed`,
);
process.exit(results.every((r) => r.passed) ? 0 : 1);
