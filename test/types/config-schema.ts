/**
 * Type test, checked by `tsc --noEmit` (`npm run typecheck`), never run: ava runs only
 * `test/**\/*.test.ts`. A failing assertion here is a compile error.
 *
 * The config types users write against (documented, in src/vocabulary.ts and
 * src/config/types.ts) are declared by hand, and the zod schemas that validate the same config
 * are declared again in src/config/schema.ts. Each line below ties one interface to its schema:
 * an option added to one and not the other, or typed differently, fails to compile here. The
 * last block ties each pool section's options to the fields of its settings type. With the
 * converters (src/config/pool-settings.ts names every settings field) and the defaults (typed
 * as the settings), one option missed in any of the five places is a compile error; only the
 * README is left to a reviewer.
 */
import type { z } from '../../src/config/zod.ts';
import type {
  AdminConfig,
  BatonConfig,
  BreakerConfig,
  ClusterConfig,
  HealthConfig,
  HedgeConfig,
  Http2Config,
  ListenConfig,
  ListenerTlsConfig,
  LogConfig,
  NodeConfig,
  PassiveConfig,
  PoolConfig,
  RetryConfig,
  RouteConfig,
  ServerConfig,
  TimeoutsConfig,
  UpstreamTlsConfig,
} from '../../src/config/types.ts';
import type {
  BreakerSettings,
  HealthSettings,
  HedgeSettings,
  PassiveSettings,
  RetrySettings,
  TimeoutSettings,
} from '../../src/vocabulary.ts';
import type {
  breakerSchema,
  configSchema,
  healthSchema,
  hedgeSchema,
  listenerSchema,
  listenerTlsSchema,
  nodeSchema,
  passiveSchema,
  poolSchema,
  retrySchema,
  routeSchema,
  timeoutsSchema,
  upstreamTlsSchema,
} from '../../src/config/schema.ts';

/** Exactly the same type: deep, optional and readonly modifiers included. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only with `true`. */
function same<_ extends true>(): void {}

type In<S extends z.ZodType> = z.input<S>;
type Section<S extends z.ZodType> = Exclude<z.input<S>, false>;
type TopLevel = NonNullable<In<typeof configSchema>>;

// One pool's sections.
same<Equal<NodeConfig, In<typeof nodeSchema>>>();
same<Equal<HealthConfig, Section<typeof healthSchema>>>();
same<Equal<PassiveConfig, Section<typeof passiveSchema>>>();
same<Equal<BreakerConfig, Section<typeof breakerSchema>>>();
same<Equal<RetryConfig, In<typeof retrySchema>>>();
same<Equal<HedgeConfig, Section<typeof hedgeSchema>>>();
same<Equal<TimeoutsConfig, In<typeof timeoutsSchema>>>();
same<Equal<UpstreamTlsConfig, In<typeof upstreamTlsSchema>>>();
// `false` turns a section off in both.
same<Equal<false, Extract<In<typeof healthSchema>, false>>>();
same<Equal<false, Extract<In<typeof passiveSchema>, false>>>();
same<Equal<false, Extract<In<typeof breakerSchema>, false>>>();
same<Equal<false, Extract<In<typeof hedgeSchema>, false>>>();

// A pool: the same keys; `policy` differs on purpose (the schema checks a policy value at run
// time with a guard, the type names PolicyRef), so it is compared by its keys only.
same<Equal<keyof PoolConfig, keyof In<typeof poolSchema>>>();
same<Equal<Omit<PoolConfig, 'policy'>, Omit<In<typeof poolSchema>, 'policy'>>>();

// Routes, listeners and TLS.
same<Equal<RouteConfig, In<typeof routeSchema>>>();
same<Equal<ListenConfig, In<typeof listenerSchema>>>();
same<Equal<ListenerTlsConfig, In<typeof listenerTlsSchema>>>();

// The top level. `listen`, `plugins`, `pools` and `routes` are parsed one by one (validate.ts),
// so the schema only knows their keys.
same<Equal<keyof BatonConfig, keyof TopLevel>>();
same<Equal<ServerConfig, NonNullable<TopLevel['server']>>>();
same<Equal<Http2Config, NonNullable<NonNullable<TopLevel['server']>['http2']>>>();
same<Equal<AdminConfig | false, NonNullable<TopLevel['admin']>>>();
same<Equal<ClusterConfig, NonNullable<TopLevel['cluster']>>>();
same<Equal<LogConfig, NonNullable<TopLevel['log']>>>();
same<Equal<NonNullable<BatonConfig['workers']>, NonNullable<TopLevel['workers']>>>();

// Every option of a pool section has its field in the settings (durations gain `Ms`), and
// every settings field comes from an option.
interface Renamed {
  interval: 'intervalMs';
  timeout: 'timeoutMs';
  ejectTime: 'ejectTimeMs';
  maxEjectTime: 'maxEjectTimeMs';
  resetTimeout: 'resetTimeoutMs';
  window: 'windowMs';
  waitForNode: 'waitForNodeMs';
  deadline: 'deadlineMs';
  connect: 'connectMs';
  response: 'responseMs';
}
type SettingsKeys<C> = { [K in keyof C]-?: K extends keyof Renamed ? Renamed[K] : K }[keyof C];

same<Equal<SettingsKeys<HealthConfig>, keyof HealthSettings>>();
same<Equal<SettingsKeys<PassiveConfig>, keyof PassiveSettings>>();
same<Equal<SettingsKeys<BreakerConfig>, keyof BreakerSettings>>();
same<Equal<SettingsKeys<RetryConfig>, keyof RetrySettings>>();
same<Equal<SettingsKeys<HedgeConfig>, keyof HedgeSettings>>();
same<Equal<SettingsKeys<TimeoutsConfig>, keyof TimeoutSettings>>();
