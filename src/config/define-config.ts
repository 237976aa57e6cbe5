import type { BatonConfig, ConfigFn } from './types.ts';

/**
 * Identity helpers that give `gateway.config.ts` types and completion. The function form
 * receives the environment, so one file can serve development and production.
 * Pool names are inferred: a route naming a pool that does not exist is a type error.
 *
 * One signature rather than an overload per form: an overloaded call reports "no overload
 * matches" on `defineConfig(` instead of on the route that names the missing pool, and could
 * not infer pool names through an `async` function's promise. `C` only tells the two forms
 * apart for the return type.
 */
export function defineConfig<const P extends string, C extends BatonConfig<P> | ConfigFn<P>>(
  config: C & (BatonConfig<P> | ConfigFn<P>),
): C extends ConfigFn<P> ? ConfigFn<P> : BatonConfig<P>;
export function defineConfig(config: BatonConfig | ConfigFn): BatonConfig | ConfigFn {
  return config;
}
