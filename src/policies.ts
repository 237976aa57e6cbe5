/**
 * `baton/policies`: the built-in policies as typed factories, for choosing a policy by value
 * with checked options (`policy: hotStandby({ failbackDelay: '10s' })`). Each is also the
 * policy's definition, and the same policy the gateway knows by name.
 */
export {
  roundRobin,
  weightedRoundRobin,
  random,
  leastConnections,
  p2cEwma,
  consistentHash,
  hotStandby,
} from '../plugins/index.ts';
