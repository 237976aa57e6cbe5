/**
 * Mutation testing of the decision modules (StrykerJS, command runner over ava): each module
 * against only its own tests (scripts/mutation-targets.ts), one Stryker run per module, then a
 * table of scores. Long (minutes per module), so not part of CI; see docs/testing.md.
 *
 *   npm run mutate                         every module
 *   npm run mutate -- router random        some of them
 *   npm run mutate -- verdict --tests test/state/memory-store.test.ts   against other tests
 *   npm run mutate -- --concurrency 2      parallel test runs (default: cores - 1)
 *
 * Exits 1 when a module scores under TARGET. Reports: reports/mutation/<name>.html.
 */
import { Stryker } from '@stryker-mutator/core';
import type { MutantResult, PartialStrykerOptions } from '@stryker-mutator/api/core';
import { parseArgs } from 'node:util';
import { mutationTargets, type MutationTarget } from './mutation-targets.ts';

const TARGET = 90;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tests: { type: 'string', multiple: true }, concurrency: { type: 'string' } },
});

const unknown = positionals.filter((name) => !mutationTargets.some((t) => t.name === name));
if (unknown.length > 0) {
  console.error(`unknown module ${unknown.join(', ')}; known: ${mutationTargets.map((t) => t.name).join(', ')}`);
  process.exit(2);
}
const chosen = positionals.length > 0 ? mutationTargets.filter((t) => positionals.includes(t.name)) : mutationTargets;

interface Score {
  readonly target: MutationTarget;
  readonly tests: readonly string[];
  readonly results: readonly MutantResult[];
  readonly seconds: number;
}

function options(target: MutationTarget, tests: readonly string[]): PartialStrykerOptions {
  return {
    mutate: [target.module],
    testRunner: 'command',
    // --fail-fast: the first failing assertion kills the mutant, no need to run the rest.
    // A mutant that loops ends at Stryker's timeout (counted as detected), generous so that a
    // busy machine does not pass slowness off as a detection; ava's own is longer still, so
    // that a starved worker that has not even loaded its tests does not fail the first run.
    commandRunner: { command: `node node_modules/ava/entrypoints/cli.mjs --fail-fast --timeout=3m ${tests.join(' ')}` },
    timeoutMS: 120_000,
    coverageAnalysis: 'off',
    reporters: ['clear-text', 'html'],
    clearTextReporter: { reportTests: false, reportScoreTable: false, allowEmojis: false },
    htmlReporter: { fileName: `reports/mutation/${target.name}.html` },
    thresholds: { high: TARGET, low: 80, break: null },
    tempDirName: '.stryker-tmp',
    logLevel: 'warn' as PartialStrykerOptions['logLevel'],
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
  };
}

const count = (results: readonly MutantResult[], ...statuses: string[]) =>
  results.filter((r) => statuses.includes(r.status)).length;

/** Stryker's mutation score: detected / (detected + undetected); disabled and broken mutants do not count. */
function score(results: readonly MutantResult[]): number {
  const detected = count(results, 'Killed', 'Timeout');
  const undetected = count(results, 'Survived', 'NoCoverage');
  return detected + undetected === 0 ? 100 : (100 * detected) / (detected + undetected);
}

const scores: Score[] = [];
const failed: string[] = [];
for (const target of chosen) {
  const tests = values.tests ?? target.tests;
  console.log(`\n== ${target.module} against ${tests.join(', ')}`);
  const started = performance.now();
  try {
    const results = await new Stryker(options(target, tests)).runMutationTest();
    scores.push({ target, tests, results, seconds: (performance.now() - started) / 1000 });
    console.log(`== ${target.module}: ${score(results).toFixed(1)} % of ${results.length} mutants`);
  } catch (error) {
    // Usually the tests failing without any mutant (or timing out on a starved machine): say so, go on.
    console.log(`== ${target.module}: not measured: ${(error as Error).message}`);
    failed.push(target.name);
  }
}

const rows = scores.map(({ target, results, seconds }) => [
  target.module,
  String(results.length),
  String(count(results, 'Killed')),
  String(count(results, 'Timeout')),
  String(count(results, 'Survived', 'NoCoverage')),
  String(count(results, 'Ignored')),
  String(count(results, 'CompileError', 'RuntimeError')),
  `${score(results).toFixed(1)} %`,
  `${Math.round(seconds)} s`,
]);
const header = ['module', 'mutants', 'killed', 'timeout', 'survived', 'disabled', 'errors', 'score', 'time'];
console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);

for (const { target, results } of scores) {
  for (const mutant of results.filter((r) => r.status === 'Survived' || r.status === 'NoCoverage')) {
    const { line, column } = mutant.location.start;
    console.log(
      `survived: ${target.module}:${line}:${column} ${mutant.mutatorName} → ${mutant.replacement.replace(/\s+/g, ' ').slice(0, 80)}`,
    );
  }
}
const low = scores.filter((s) => score(s.results) < TARGET);
if (low.length > 0) console.log(`\nunder ${TARGET} %: ${low.map((s) => s.target.name).join(', ')}`);
if (failed.length > 0) console.log(`\nnot measured: ${failed.join(', ')}`);
if (low.length > 0 || failed.length > 0) process.exitCode = 1;
