import type { BatonConfig, ConfigFn } from './types.ts';

/**
 * Identity helpers that give `gateway.config.ts` types and completion. The function form
 * receives the environment, so one file can serve development and production.
 * Pool names are inferred: a route naming a pool that does not exist is a type error.
 */
export function defineConfig<const P extends string>(config: BatonConfig<P>): BatonConfig<P>;
export function defineConfig<const P extends string>(config: ConfigFn<P>): ConfigFn<P>;
export function defineConfig(config: BatonConfig | ConfigFn): BatonConfig | ConfigFn {
  return config;
}
