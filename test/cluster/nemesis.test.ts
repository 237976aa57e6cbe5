import test, { type ExecutionContext } from 'ava';
import { PASSING_FAULTS, type FaultKind } from './nemesis/faults.ts';
import { runNemesis, type NemesisOptions } from './nemesis/run.ts';

// Issue 10's nemesis in the normal suite: three gateway processes, Redis, a hot-standby and a
// round-robin pool under steady load, and one fixed seed's schedule of the faults `main`
// survives (faults.ts marks the others `pending`). bench/nemesis.ts runs long, with every fault
// and any seed (docs/nemesis.md); a seed that fails there becomes a case in `regressions`.

const SEED = 40;

async function nemesis(t: ExecutionContext, options: Omit<NemesisOptions, 'scope' | 'log'>): Promise<void> {
  t.timeout(8 * 60_000); // ~1 min alone; a loaded two-core machine starts gateways slowly
  const result = await runNemesis({ ...options, scope: t, log: (line) => t.log(line) });
  t.log(`${result.summary()}\n${result.verdict()}`);
  t.deepEqual(result.history.harnessErrors, [], 'the harness did its part');
  t.deepEqual(
    result.violations.map((v) => `${v.invariant}: ${v.message}`),
    [],
    `seed ${options.seed} broke an invariant; replay: node --import tsx bench/nemesis.ts --seed ${options.seed} --seconds ${options.seconds} --faults ${options.faults.join(',')}${options.quorum ? ` --quorum ${options.quorum}` : ''}`,
  );
}

test.serial(`nemesis: seed ${SEED}, the faults main survives, no invariant broken`, (t) =>
  nemesis(t, { seed: SEED, seconds: 40, faults: PASSING_FAULTS }),
);

/**
 * Seeds bench/nemesis.ts found failing on main, with the faults that make them fail in a short
 * run (the comment says what each showed). `pending` names the issue 10 fix they wait for: such
 * a case is skipped unless NEMESIS_PENDING=1; once its fix is merged, delete `pending`.
 */
const regressions: Array<{
  seed: number;
  seconds: number;
  faults: FaultKind[];
  quorum?: number | 'majority';
  pending?: string;
}> = [
  // Two operators' failovers during CLIENT PAUSE both answered 200 with epoch 2, to hs-b and hs-c; both got traffic.
  // Fixed; the seed now shows another finding, open: after the last pause, every instance finds
  // every node up but the cluster verdicts stay unknown (up votes missing in Redis). docs/nemesis.md, F10.
  { seed: 12, seconds: 40, faults: ['redis-client-pause'] },
  // Redis restarted from a snapshot keeps its boot id: every later CAS loses, forced failovers 409 forever.
  { seed: 12, seconds: 40, faults: ['redis-rollback'] },
  // The same through Sentinel promoting a replica that was held back.
  { seed: 12, seconds: 40, faults: ['redis-lagging-failover'] },
  // gw-2 restarted 57 s ahead fails back 3–292 ms after operators' forced failovers (hold-down 10 s).
  { seed: 5, seconds: 45, faults: ['gateway-clock-skew', 'operator-failover'] },
  // Quorum majority, gw-0 cut off hs-a: gw-0 alone fails over for everyone.
  { seed: 14, seconds: 25, faults: ['gateway-partition'], quorum: 'majority' },
];

for (const r of regressions) {
  const run = r.pending && !process.env.NEMESIS_PENDING ? test.skip : test.serial;
  run(
    `nemesis regression: seed ${r.seed} with ${r.faults.join(', ')}${r.pending ? ` (pending: ${r.pending})` : ''}`,
    (t) => nemesis(t, r),
  );
}
