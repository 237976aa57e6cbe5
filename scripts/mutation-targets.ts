/**
 * The decision modules that `npm run mutate` mutates, each against only the test files that
 * state its guarantees: a run stays short, and a mutant counts as killed only when a test of
 * that module notices it (not some end-to-end test by chance). Add a module's tests here when
 * you add them; add a module when it takes a decision.
 */
export interface MutationTarget {
  /** The short name for `npm run mutate -- <name>`. */
  readonly name: string;
  readonly module: string;
  readonly tests: readonly string[];
}

const plugin = (name: string, ...extra: string[]): MutationTarget => ({
  name,
  module: `plugins/${name}.ts`,
  tests: [`test/plugins/${name}.test.ts`, ...extra],
});

export const mutationTargets: readonly MutationTarget[] = [
  { name: 'retry-rule', module: 'src/pipeline/retry-rule.ts', tests: ['test/pipeline/retry-rule.test.ts'] },
  { name: 'router', module: 'src/routing/router.ts', tests: ['test/routing/router.test.ts'] },
  { name: 'host', module: 'src/routing/host.ts', tests: ['test/routing/host.test.ts'] },
  { name: 'canonical-path', module: 'src/routing/canonical-path.ts', tests: ['test/routing/canonical-path.test.ts'] },
  { name: 'headers', module: 'src/proxy/headers.ts', tests: ['test/proxy/headers.test.ts'] },
  { name: 'attempt-rules', module: 'src/proxy/attempt-rules.ts', tests: ['test/proxy/attempt-rules.test.ts'] },
  { name: 'verdict', module: 'src/state/verdict.ts', tests: ['test/state/verdict.test.ts'] },
  {
    name: 'cluster-cache',
    module: 'src/state/cluster-cache.ts',
    tests: ['test/state/cluster-cache.test.ts', 'test/state/cluster-cache-versions.test.ts'],
  },
  { name: 'active-order', module: 'src/state/active-order.ts', tests: ['test/state/active-order.test.ts'] },
  { name: 'thresholds', module: 'src/health/thresholds.ts', tests: ['test/health/thresholds.test.ts'] },
  {
    name: 'active-controller',
    module: 'src/pool/active-controller.ts',
    tests: ['test/pool/active-controller.test.ts', 'test/pool/active-failed.test.ts'],
  },
  { name: 'eligible', module: 'src/policy/eligible.ts', tests: ['test/policy/eligible.test.ts'] },
  { name: 'slow-start', module: 'src/policy/slow-start.ts', tests: ['test/policy/slow-start.test.ts'] },
  plugin('round-robin'),
  plugin('weighted-round-robin'),
  plugin('random'),
  plugin('least-connections'),
  plugin('p2c-ewma'),
  plugin('consistent-hash'),
  plugin('hot-standby'),
];
