import Koa from 'koa';
import type { Logger } from '../util/logger.ts';
import { accessLog } from './access-log.ts';
import { admit } from './admit.ts';
import { errorBoundary } from './error-boundary.ts';
import { forward, type ForwardDeps } from './forward.ts';
import { guard } from './guard.ts';
import { identify } from './identify.ts';
import { matchRoute } from './match-route.ts';
import type { GatewayState, Runtime } from './state.ts';

export interface AppDeps extends ForwardDeps {
  readonly log: Logger;
  readonly accessLog: boolean;
  readonly runtime: () => Runtime;
}

/** The whole request pipeline, in order. */
export function buildApp(deps: AppDeps): Koa<GatewayState> {
  const app = new Koa<GatewayState>();
  // X-Forwarded-* are believed only from trusted proxies, decided by our own code.
  app.proxy = false;
  app.silent = true;
  if (deps.accessLog) app.use(accessLog(deps.log));
  app.use(errorBoundary(deps.log, deps.draining));
  app.use(admit([identify(deps.runtime), guard, matchRoute]));
  app.use(forward(deps));
  return app;
}
