/**
 * Type test, checked by `tsc --noEmit` (`npm run typecheck`), never run: ava runs only
 * `test/**\/*.test.ts`. Each `@ts-expect-error` line must be an error, or tsc fails ("unused
 * directive"); every other line must compile. It pins what `gateway.config.ts` authors get from
 * the types: a route naming a pool that does not exist, or a built-in policy given an option it
 * does not take, is caught by the editor before `baton check`.
 */
import { type BatonConfig, type ConfigFn, defineConfig } from '../../src/index.ts';
import { consistentHash, hotStandby, p2cEwma, random, roundRobin, weightedRoundRobin } from '../../src/policies.ts';

const nodes = [{ url: 'http://127.0.0.1:9' }];

// --- Pool names in routes ---------------------------------------------------------------

defineConfig({
  listen: { port: 0 },
  pools: { web: { policy: 'round-robin', nodes }, api: { policy: 'round-robin', nodes } },
  routes: [
    { path: '/api', pool: 'api' },
    { path: '/', pool: 'web' },
    { host: 'plain.example.com', redirect: 'https' },
  ],
});

defineConfig({
  listen: { port: 0 },
  pools: { web: { policy: 'round-robin', nodes } },
  // @ts-expect-error 'wbe' is not a pool of this config
  routes: [{ path: '/', pool: 'wbe' }],
});

// The function form (the environment decides) checks the same.
defineConfig(({ env }) => ({
  listen: { port: Number(env.PORT ?? 0) },
  pools: { web: { policy: 'round-robin', nodes } },
  routes: [{ path: '/', pool: 'web' }],
}));

// A function's result is checked as a whole: the error is on the function, not the route.
// @ts-expect-error 'wbe' is not a pool of this config
defineConfig(() => ({
  listen: { port: 0 },
  pools: { web: { policy: 'round-robin', nodes } },
  routes: [{ path: '/', pool: 'wbe' }],
}));

defineConfig(async () => ({
  listen: { port: 0 },
  pools: { web: { policy: 'round-robin', nodes } },
  routes: [{ path: '/', pool: 'web' }],
}));

// @ts-expect-error 'wbe' is not a pool of this config
defineConfig(async () => ({
  listen: { port: 0 },
  pools: { web: { policy: 'round-robin', nodes } },
  routes: [{ path: '/', pool: 'wbe' }],
}));

// Without defineConfig's inference, a config typed by hand takes any pool name (the check is
// then `baton check`'s): existing configs written that way keep compiling.
export const byHand: BatonConfig = {
  listen: { port: 0 },
  pools: { web: { policy: 'round-robin', nodes } },
  routes: [{ path: '/', pool: 'elsewhere' }],
};
export const byHandFn: ConfigFn = () => byHand;
defineConfig(byHand);
defineConfig(byHandFn);

// --- Built-in policies' options ---------------------------------------------------------

defineConfig({
  listen: { port: 0 },
  pools: {
    a: { policy: hotStandby({ failback: 'manual', failbackDelay: '10s', maxFailbackDelay: 600_000 }), nodes },
    b: { policy: hotStandby(), nodes },
    c: { policy: roundRobin(), nodes },
    d: { policy: weightedRoundRobin({ slowStart: '30s' }), nodes },
    e: { policy: random({ slowStart: 0 }), nodes },
    f: { policy: consistentHash(), nodes },
    g: { policy: p2cEwma(), nodes },
    // By name, options are checked when the config is loaded (`baton check`), not by the types.
    h: { policy: { name: 'hot-standby', failback: 'manual' }, nodes },
    i: { policy: 'least-connections', nodes },
  },
  routes: [{ path: '/', pool: 'a' }],
});

// @ts-expect-error failbackDelay is a duration, not a boolean
hotStandby({ failbackDelay: true });
// @ts-expect-error failback is 'auto' or 'manual'
hotStandby({ failback: 'sometimes' });
// @ts-expect-error a misspelled option name (failbak) is not an option
hotStandby({ failbak: 'manual' });
// @ts-expect-error slowStart is a duration
weightedRoundRobin({ slowStart: true });
// @ts-expect-error round-robin takes no options (the gateway refuses any)
roundRobin({ slowStart: '1s' });

defineConfig({
  listen: { port: 0 },
  pools: {
    // @ts-expect-error failback is 'auto' or 'manual', inside a config too
    web: { policy: hotStandby({ failback: 'sometimes' }), nodes },
  },
  routes: [{ path: '/', pool: 'web' }],
});

// --- Pool sections ----------------------------------------------------------------------

defineConfig({
  listen: { port: 0 },
  pools: {
    web: {
      policy: 'round-robin',
      nodes,
      health: { path: '/health', interval: '1s', expect: ['2xx', 304] },
      passive: false,
      retry: { attempts: 2, waitForNode: '2s' },
      hedge: { after: 'auto', budget: '5%' },
      timeouts: { connect: 500, response: '10s' },
    },
  },
  routes: [{ path: '/', pool: 'web' }],
});

defineConfig({
  listen: { port: 0 },
  pools: {
    // @ts-expect-error a misspelled section option (intervall) is not an option
    web: { policy: 'round-robin', nodes, health: { intervall: '1s' } },
  },
  routes: [{ path: '/', pool: 'web' }],
});
