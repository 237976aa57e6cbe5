import type { Middleware, ParameterizedContext } from 'koa';
import type { GatewaySettings, RouteSettings } from '../config/types.ts';
import type { AttemptOutcome } from '../policy/types.ts';
import type { RequestMiddleware } from '../policy/plugin.ts';
import type { Router } from '../routing/router.ts';
import type { Pool } from '../pool/pool.ts';
import type { PoolSet } from '../pool/pool-set.ts';
import type { TrustedProxies } from '../util/trusted-proxies.ts';
import type { ErrorCode } from '../util/errors.ts';

/** What one configuration gives the request path; swapped as a whole on reload. */
export interface Runtime {
  readonly settings: GatewaySettings;
  readonly router: Router;
  readonly pools: PoolSet;
  readonly trusted: TrustedProxies;
  readonly middleware: readonly RequestMiddleware[];
}

export interface AttemptRecord {
  readonly node: string;
  readonly outcome: AttemptOutcome;
  /** Sent as a hedge. */
  readonly hedge?: boolean;
}

/** `ctx.state` through the pipeline. */
export interface GatewayState {
  requestId: string;
  clientIp: string;
  runtime: Runtime;
  /** The canonical request path (what routing saw), and the query string with its '?'. */
  path: string;
  query: string;
  route?: RouteSettings;
  pool?: Pool;
  /** The path and query the upstream receives (after stripPath). */
  upstreamTarget?: string;
  attempts: AttemptRecord[];
  /** The node whose answer went to the client, when tries raced (a hedged request). */
  winner?: string;
  /** Set when the gateway answered with one of its own errors. */
  error?: ErrorCode;
}

export type Step = Middleware<GatewayState>;

/**
 * A synchronous step before forwarding (identify, guard, match the route). Stages run inside
 * one Koa middleware: each async middleware layer costs a promise per request.
 */
export type Stage = (ctx: ParameterizedContext<GatewayState>) => void;
