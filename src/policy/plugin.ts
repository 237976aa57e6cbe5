import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayEvent } from '../events/types.ts';
import type { NodeInfo, PoolInfo, PolicyDefinition } from './types.ts';

/**
 * A plugin is a value: a name plus any of a short list of hooks. Policies are the main one;
 * the others let a plugin watch what happens and act at one documented point of a request.
 */

/**
 * Middleware run for every routed request, after route matching and before forwarding: call
 * `await next()` to forward, or answer yourself (set `status` and `body`, do not call `next`).
 */
export type RequestMiddleware = (ctx: RequestContext, next: () => Promise<void>) => unknown;

/**
 * What request middleware sees: a small part of Koa's context (the gateway passes Koa's own
 * object). Declared here so that plugins need neither Koa's types nor Koa itself, and the
 * gateway's HTTP layer can change under them.
 */
export interface RequestContext {
  readonly method: string;
  /** Request headers, names in lower case. */
  readonly headers: Readonly<IncomingHttpHeaders>;
  /** One request header; '' when absent. */
  get(field: string): string;
  /** Sets a response header. */
  set(field: string, value: string | string[]): void;
  status: number;
  body: unknown;
  readonly state: RouteState;
  /** Node's request and response, for what the fields above do not cover. */
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}

/** What a plugin's request middleware may read on `ctx.state`. */
export interface RouteState {
  readonly requestId: string;
  /** The client's address (from `X-Forwarded-For` only behind `listen.trustedProxies`). */
  readonly clientIp: string;
  /** The canonical request path, as routing saw it (before `stripPath`), without the query. */
  readonly path: string;
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
