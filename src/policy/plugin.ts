import type { Middleware } from 'koa';
import type { GatewayEvent } from '../events/types.ts';
import type { NodeInfo, PoolInfo, PolicyDefinition } from './types.ts';

/**
 * A plugin is a value: a name plus any of a short list of hooks. Policies are the main one;
 * the others let a plugin watch what happens and act at one documented point of a request.
 */

/** Koa middleware run for every routed request, after route matching and before forwarding. */
export type RequestMiddleware = Middleware<RouteState>;

/** What a plugin's request middleware may read on `ctx.state`. */
export interface RouteState {
  readonly requestId: string;
  readonly route: { readonly name: string; readonly pool: string };
}

export interface Plugin {
  readonly name: string;
  readonly policies?: readonly PolicyDefinition[];
  /** Sees every gateway event (health, breaker, promotion, …). Must return quickly and never throw. */
  onEvent?(event: GatewayEvent): void;
  /**
   * Cold standby: called when a node with `standby: 'cold'` is promoted, to bring it up
   * (start a process, call a webhook). Traffic then waits, bounded, for its heartbeat to pass.
   */
  activate?(node: NodeInfo, pool: PoolInfo): Promise<void>;
  middleware?: RequestMiddleware;
  /** Called when the gateway stops or a reload drops the plugin. */
  dispose?(): void | Promise<void>;
}

export const pluginBrand: unique symbol = Symbol.for('baton.plugin') as never;

export interface BrandedPlugin extends Plugin {
  readonly [pluginBrand]: true;
}
