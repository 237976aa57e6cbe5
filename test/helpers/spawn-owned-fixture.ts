/**
 * Stands in for an ava worker in test/helpers/spawn-owned.test.ts: starts a child through each
 * helper that spawns, prints their pids as one JSON line, then waits to be killed (or exits
 * without teardown on `exit` in stdin). Its teardowns are never run, as in a killed worker.
 */
import type { ExecutionContext } from 'ava';
import { createInterface } from 'node:readline';
import { startChildUpstream } from './child-upstream.ts';
import { launch } from './process.ts';
import { startRedis } from './redis-server.ts';

const neverTornDown = { teardown() {}, log() {} } as unknown as ExecutionContext;
const termFile = process.argv[2]!;

const redis = await startRedis(neverTornDown);
const upstream = await startChildUpstream(neverTornDown, 'owned');
const launched = launch(neverTornDown, 'sleep', ['600']);
// A child that cleans up after itself: it gets SIGTERM, not SIGKILL, and writes down that it did.
const polite = launch(
  neverTornDown,
  process.execPath,
  [
    '-e',
    `process.on('SIGTERM', () => { require('node:fs').writeFileSync(${JSON.stringify(termFile)}, 'SIGTERM'); process.exit(0); }); console.log('ready'); setInterval(() => {}, 1000);`,
  ],
  { deathSignal: 'SIGTERM' },
);
await polite.waitFor(/ready/);

console.log(
  JSON.stringify({
    redis: redis.pid,
    redisPort: redis.port,
    upstream: upstream.child.pid,
    launched: launched.child.pid,
    polite: polite.child.pid,
  }),
);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'exit') process.exit(1);
});
