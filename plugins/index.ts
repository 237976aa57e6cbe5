import { definePlugin } from '../src/index.ts';
import roundRobin from './round-robin.ts';
import weightedRoundRobin from './weighted-round-robin.ts';
import random from './random.ts';
import leastConnections from './least-connections.ts';
import p2cEwma from './p2c-ewma.ts';
import consistentHash from './consistent-hash.ts';
import hotStandby from './hot-standby.ts';

/** The built-in policies as factories: `policy: hotStandby({ failback: 'manual' })` (published as `baton/policies`). */
export { roundRobin, weightedRoundRobin, random, leastConnections, p2cEwma, consistentHash, hotStandby };

/** The policies every gateway knows by name. */
export const builtinPlugins = [
  definePlugin({
    name: 'baton-builtins',
    policies: [roundRobin, weightedRoundRobin, random, leastConnections, p2cEwma, consistentHash, hotStandby],
  }),
];
