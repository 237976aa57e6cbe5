/**
 * CPU cost of one `pick` per policy and pool size, on fake node views with `pool.version` set
 * (as the gateway's pools have it, so per-version caches work). First tries only, which is the
 * common case; clientIp varies so consistent-hash hashes a different key each time.
 *
 *   node --import tsx bench/pick-cost.ts [--picks 200000] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import consistentHash from '../plugins/consistent-hash.ts';
import leastConnections from '../plugins/least-connections.ts';
import p2cEwma from '../plugins/p2c-ewma.ts';
import random from '../plugins/random.ts';
import roundRobin from '../plugins/round-robin.ts';
import weightedRoundRobin from '../plugins/weighted-round-robin.ts';
import type { PickContext, Policy, PolicyDefinition } from '../src/index.ts';
import { fakeNode, fakePool, instantiate, pickContext, type FakePool } from '../test/helpers/fake-pool.ts';

const { values } = parseArgs({
  options: { picks: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '3' } },
});
const PICKS = Number(values.picks);
const ROUNDS = Number(values.rounds);
const SIZES = [10, 100, 1000];

const policies: Array<[label: string, definition: PolicyDefinition, options: object]> = [
  ['round-robin', roundRobin, {}],
  ['weighted-round-robin', weightedRoundRobin, {}],
  ['random', random, {}],
  ['random (weighted)', random, {}],
  ['least-connections', leastConnections, {}],
  ['p2c-ewma', p2cEwma, {}],
  ['consistent-hash (ip)', consistentHash, { key: 'ip' }],
];

/** Weights 1–4 for the weighted rows, else 1; a few requests in flight on each node. */
function poolOf(size: number, weighted: boolean): FakePool {
  const nodes = Array.from({ length: size }, (_, i) =>
    fakeNode(`node-${i}`, { weight: weighted ? 1 + (i % 4) : 1, inflight: (i * 7) % 5 }),
  );
  const pool = fakePool(nodes);
  pool.version = 1;
  return pool;
}

/** Contexts made up front so the timed loop allocates nothing of its own. */
const contexts: PickContext[] = Array.from({ length: 4096 }, (_, i) =>
  pickContext({ clientIp: `10.${i >> 8}.${i & 255}.${(i * 31) & 255}`, now: 1_000_000 }),
);

function prepare(definition: PolicyDefinition, options: object, pool: FakePool): Policy {
  const policy = instantiate(definition, options, pool);
  // Give p2c-ewma a latency history, as a running gateway would have.
  pool.nodes.forEach((node, i) => {
    policy.observe?.(node, { kind: 'ok', latencyMs: 5 + (i % 20), failed: false }, 999_000);
  });
  return policy;
}

/** ns per pick: warm up, then time PICKS picks; the best of ROUNDS rounds. */
function measure(policy: Policy, pool: FakePool): number {
  let sink = 0;
  for (let i = 0; i < 50_000; i++) sink += policy.pick(pool, contexts[i & 4095]!)!.weight;
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < PICKS; i++) sink += policy.pick(pool, contexts[i & 4095]!)!.weight;
    best = Math.min(best, Number(process.hrtime.bigint() - start) / PICKS);
  }
  if (sink < 0) console.log(sink);
  return best;
}

const rows = policies.map(([label, definition, options]) => {
  const cells = SIZES.map((size) => {
    const pool = poolOf(size, label.includes('weight'));
    return measure(prepare(definition, options, pool), pool);
  });
  return { label, cells };
});

const baseline = rows[0]!.cells;
console.log(`\n${PICKS} picks per cell, best of ${ROUNDS}; ns/pick (× round-robin at that size)\n`);
console.log(`| policy | ${SIZES.map((n) => `${n} nodes`).join(' | ')} |`);
console.log(`|---|${SIZES.map(() => '---:').join('|')}|`);
for (const { label, cells } of rows) {
  console.log(
    `| ${label} | ${cells.map((ns, i) => `${ns.toFixed(0)} (${(ns / baseline[i]!).toFixed(1)}×)`).join(' | ')} |`,
  );
}
