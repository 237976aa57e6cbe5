import Koa from 'koa';
import type { Logger } from '../util/logger.ts';
import { admit } from './admit.ts';
import { errorBoundary } from './error-boundary.ts';
import { forward, type ForwardDeps } from './forward.ts';
import { guard } from './guard.ts';
import { identify } from './identify.ts';
import { matchRoute } from './match-route.ts';
import { recordRequest, type RequestRecord } from './record-request.ts';
import type { GatewayState, ListenerInfo, Runtime } from './state.ts';

export interface AppDeps extends ForwardDeps {
  readonly log: Logger;
  /** Asked per request: a reload may switch the access log on or off. */
  readonly accessLog: () => boolean;
  readonly runtime: () => Runtime;
  readonly listener: ListenerInfo;
  /** Every finished request (metrics). */
  readonly onRequest: (record: RequestRecord) => void;
}

/** The whole request pipeline, in order; one per listener. */
export function buildApp(deps: AppDeps): Koa<GatewayState> {
  const app = new Koa<GatewayState>();
  // X-Forwarded-* are believed only from trusted proxies, decided by our own code.
  app.proxy = false;
  app.silent = true;
  app.use(recordRequest(deps.onRequest, deps.log, deps.accessLog));
  app.use(errorBoundary(deps.log, deps.draining));
  app.use(admit([identify(deps.runtime, deps.listener), guard, matchRoute]));
  app.use(forward(deps));
  return app;
}
