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
  /** Per listener, in the order of `settings.listeners`. */
  readonly trusted: readonly TrustedProxies[];
  readonly middleware: readonly RequestMiddleware[];
}

/** The listener a request came in on: one pipeline (Koa app) per listener. */
export interface ListenerInfo {
  /** Its index in `settings.listeners`. */
  readonly index: number;
  /** TLS: X-Forwarded-Proto is https; redirect routes are skipped. */
  readonly secure: boolean;
  /** Whether clients may present certificates (the verified subject goes upstream). */
  readonly clientCertificates: boolean;
  /** The port `redirect: 'https'` sends clients to (the first TLS listener's), once listening. */
  readonly httpsPort: () => number | undefined;
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
  listener: ListenerInfo;
  /** The listener's trusted proxies under this request's runtime. */
  trusted: TrustedProxies;
  /** Set by a redirect route: where the client is sent. */
  redirect?: string;
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
