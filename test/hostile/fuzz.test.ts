import test from 'ava';
import { check, checkContext, describe, type CheckContext } from './fuzz/check.ts';
import { corpus } from './fuzz/corpus.ts';
import { generate, inputSeed } from './fuzz/generate.ts';
import { startReferenceParser, type ReferenceParser } from './fuzz/reference.ts';
import { startFuzzTarget, type FuzzTarget } from './fuzz/target.ts';
import { exchange } from '../helpers/raw-http.ts';

/**
 * Hostile traffic against a real `baton start` process (test/hostile/fuzz/target.ts), judged
 * by the differential oracle (check.ts): the process stays up, the client gets well-formed
 * answers or a close, and the upstream parses nothing but requests the client sent, each in
 * the access log, with the body the client sent. First the hand-written table (corpus.ts),
 * then a fixed-seed run of the fuzzer (bench/fuzz.ts does long runs with other seeds).
 */

const SEED = 9;
const INPUTS = 300;

let target: FuzzTarget;
let reference: ReferenceParser;
let ctx: CheckContext;

test.before(async () => {
  target = await startFuzzTarget();
  reference = await startReferenceParser();
  ctx = checkContext(target, reference);
});

test.after.always(async () => {
  await reference?.close();
  await target?.stop();
});

// Serial: one gateway, and the oracle attributes what the upstream parses input by input.
corpus.forEach((c, index) => {
  test.serial(
    `${c.port === 'admin' ? 'admin API' : 'edge'}: ${c.name} → ${c.statuses.join(', ') || 'closed, no answer'}`,
    async (t) => {
      const methods = [...c.bytes.matchAll(/(?:^|\r\n\r\n|\n\n)(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) /g)].map(
        (m) => m[1]!,
      );
      if (c.port === 'admin') {
        const reply = await exchange(target.adminPort, c.bytes.replaceAll('ADMIN', String(target.adminPort)), {
          methods,
        });
        t.is(reply.error, undefined);
        t.deepEqual(
          reply.responses.map((r) => r.status),
          [...c.statuses],
        );
        return;
      }
      // Request ids name their input (fz-<seed>-…): one seed per case.
      const seed = index + 1;
      const input = {
        seed,
        writes: [Buffer.from(c.bytes.replaceAll('fz-0-', `fz-${seed}-`), 'latin1')],
        halfClose: true,
        notes: [c.name],
      };
      const outcome = await check(ctx, input);
      t.deepEqual(outcome.findings, [], describe(input, outcome));
      t.deepEqual(
        outcome.responses.map((r) => r.status),
        [...c.statuses],
      );
      // Nothing the client hid in a body ever reached the upstream as a request.
      t.deepEqual(
        outcome.upstream.filter((r) => r.url.includes('smuggled')).map((r) => r.url),
        [],
      );
    },
  );
});

test.serial(`the fuzzer, seed ${SEED}: ${INPUTS} inputs without a finding`, async (t) => {
  t.timeout(120_000);
  const reports: string[] = [];
  for (let i = 0; i < INPUTS && reports.length < 3; i++) {
    const input = generate(inputSeed(SEED, i));
    const outcome = await check(ctx, input);
    if (outcome.findings.length) reports.push(describe(input, outcome));
  }
  t.deepEqual(reports, []);
  t.true(target.alive());
});

test('the generator is deterministic: one seed, one input', (t) => {
  const a = generate(inputSeed(SEED, 7));
  const b = generate(inputSeed(SEED, 7));
  t.deepEqual(Buffer.concat(a.writes), Buffer.concat(b.writes));
  t.not(
    Buffer.concat(generate(inputSeed(SEED, 8)).writes).toString('latin1'),
    Buffer.concat(a.writes).toString('latin1'),
  );
});
