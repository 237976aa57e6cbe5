/**
 * Baton's public surface (`baton`): what `gateway.config.ts` and plugins import. Built-in
 * policies in plugins/ use nothing else, exactly as a user's plugin would. The package's other
 * entry points are `baton/policies` (policies.ts) and `baton/testing` (testing/).
 */
export { defineConfig } from './config/define-config.ts';
export { definePolicy, definePlugin } from './policy/define.ts';
export { eligibleNodes } from './policy/eligible.ts';
export { slowStartWeight } from './policy/slow-start.ts';
/** zod, for plugin option schemas: the same version the gateway validates with. */
export { z } from './config/zod.ts';
/** zod schemas for option values written like the config's: `duration` ('5s' → 5000), `size` ('64kb' → 65536). */
export { duration, size } from './config/schema.ts';

export type {
  BatonConfig,
  ConfigEnv,
  ConfigFn,
  Duration,
  Size,
  ListenConfig,
  ServerConfig,
  AdminConfig,
  ClusterConfig,
  NodeConfig,
  PoolConfig,
  RouteConfig,
  HealthConfig,
  PassiveConfig,
  BreakerConfig,
  RetryConfig,
  TimeoutsConfig,
  LogConfig,
  PolicyChoice,
} from './config/types.ts';
export type {
  Policy,
  PolicyDefinition,
  PolicyFactory,
  PolicyRef,
  PoolDefaults,
  NodeInfo,
  NodeView,
  PoolInfo,
  PoolView,
  PickContext,
  AttemptOutcome,
  OutcomeKind,
  Election,
  ElectionIntent,
  Health,
  BreakerState,
} from './policy/types.ts';
export type { Plugin, RequestContext, RequestMiddleware, RouteState } from './policy/plugin.ts';
export type { EventScope, GatewayEvent, GatewayEventType } from './events/types.ts';
