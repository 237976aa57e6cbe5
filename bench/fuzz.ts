/**
 * The differential fuzzer, for long runs: a real `baton start` process in front of a raw
 * upstream, fed mutated client connections (test/hostile/fuzz/generate.ts) and judged by the
 * oracle the suite uses (test/hostile/fuzz/check.ts). Prints inputs/s and every finding with
 * its input seed and bytes, so that it becomes a raw-byte test case.
 *
 *   node --import tsx bench/fuzz.ts --seconds 600 --seed 9
 *   node --import tsx bench/fuzz.ts --replay 123456789      # one input, verbose
 *
 * Exit code 1 when there was a finding.
 */
import { parseArgs } from 'node:util';
import { check, checkContext, describe } from '../test/hostile/fuzz/check.ts';
import { generate, inputSeed } from '../test/hostile/fuzz/generate.ts';
import { startReferenceParser } from '../test/hostile/fuzz/reference.ts';
import { startFuzzTarget, type FuzzTarget } from '../test/hostile/fuzz/target.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    replay: { type: 'string' },
    'max-findings': { type: 'string', default: '20' },
  },
});

async function main(): Promise<number> {
  let target: FuzzTarget = await startFuzzTarget();
  const reference = await startReferenceParser();
  let ctx = checkContext(target, reference);
  try {
    if (values.replay !== undefined) {
      const input = generate(Number(values.replay));
      const outcome = await check(ctx, input);
      console.log(describe(input, outcome));
      console.log(`  reference: ${JSON.stringify(outcome.reference)}`);
      console.log(
        `  answers: ${outcome.responses.map((r) => r.status).join(', ') || 'none'}${outcome.closed ? ', closed' : ''}`,
      );
      console.log(
        `  upstream: ${outcome.upstream.map((r) => `${r.method} ${r.url} ${r.body.length} bytes${r.complete ? '' : ' (cut)'}`).join('; ') || 'nothing'}`,
      );
      return outcome.findings.length ? 1 : 0;
    }
    const runSeed = Number(values.seed);
    const seconds = Number(values.seconds);
    const maxFindings = Number(values['max-findings']);
    const started = performance.now();
    let inputs = 0;
    let findings = 0;
    let lastReport = started;
    console.log(`fuzzing for ${seconds} s, run seed ${runSeed} (node ${process.version})`);
    while (performance.now() - started < seconds * 1000 && findings < maxFindings) {
      const input = generate(inputSeed(runSeed, inputs));
      const outcome = await check(ctx, input);
      inputs += 1;
      if (outcome.findings.length) {
        findings += 1;
        console.log(
          `\nFINDING after ${inputs} inputs\n${describe(input, outcome)}\n  replay: node --import tsx bench/fuzz.ts --replay ${input.seed}`,
        );
        // A dead gateway finds nothing more: start a fresh one.
        if (!target.alive()) {
          await target.stop();
          target = await startFuzzTarget();
          ctx = checkContext(target, reference);
        }
      }
      if (performance.now() - lastReport > 30_000) {
        lastReport = performance.now();
        const elapsed = (lastReport - started) / 1000;
        console.log(
          `${elapsed.toFixed(0)} s: ${inputs} inputs, ${(inputs / elapsed).toFixed(1)} inputs/s, ${findings} findings`,
        );
      }
    }
    const elapsed = (performance.now() - started) / 1000;
    console.log(
      `\nrun seed ${runSeed}: ${inputs} inputs in ${elapsed.toFixed(0)} s, ${(inputs / elapsed).toFixed(1)} inputs/s, ${findings} findings`,
    );
    return findings ? 1 : 0;
  } finally {
    await reference.close();
    await target.stop();
  }
}

process.exitCode = await main();
