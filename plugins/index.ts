import { definePlugin } from '../src/index.ts';
import roundRobin from './round-robin.ts';
import weightedRoundRobin from './weighted-round-robin.ts';

/** The policies every gateway knows by name. */
export const builtinPlugins = [
  definePlugin({
    name: 'baton-builtins',
    policies: [roundRobin, weightedRoundRobin],
  }),
];
