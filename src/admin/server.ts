import Koa from 'koa';
import Router from '@koa/router';
import type { EventBus } from '../events/bus.ts';
import type { PoolSet } from '../pool/pool-set.ts';
import type { StateStore } from '../state/types.ts';
import { BatonError, errorBody } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { adminAuth } from './auth.ts';
import { adminHostCheck, browserGuard } from './browser-guard.ts';
import { EventStreams } from './events.ts';
import { statusDocument } from './status.ts';
import { poolActions } from './pool-actions.ts';
import { mountDashboard } from './dashboard.ts';
import { trafficRoutes } from './traffic-routes.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { RawWindow } from './series-window.ts';
import type { CertificateStatus } from '../listen/listener.ts';

export interface AdminDeps {
  readonly token: string | undefined;
  readonly tokenForReads: boolean;
  /** The address the admin API listens on: Host headers must name it (or `allowedHosts`). */
  readonly listenHost: string;
  readonly allowedHosts: readonly string[];
  readonly maxEventStreams: number;
  readonly store: StateStore;
  readonly pools: () => PoolSet;
  readonly bus: EventBus;
  readonly log: Logger;
  /** Config loaded and the gateway listening. */
  readonly ready: () => boolean;
  readonly metrics: GatewayMetrics;
  /** The gateway's clock reading (what suspicion and learned delays are timed with); Date.now by default. */
  readonly now?: () => number;
  /** The TLS listeners' certificates (for /status). */
  readonly certificates?: () => CertificateStatus[];
  /** Workers: the machine's views (all workers together) instead of this process's. */
  readonly views?: AdminViews;
}

/** What an admin API serving a whole machine of workers answers instead of one process's state. */
export interface AdminViews {
  status(): Promise<unknown>;
  metrics(): Promise<string>;
  series(seconds: number, pool: string | undefined): Promise<RawWindow>;
}

/** The admin API on its own port (loopback by default). */
export function buildAdminApp(deps: AdminDeps): Koa {
  const app = new Koa();
  app.silent = true;
  const router = new Router();

  router.get('/healthz', (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/readyz', (ctx) => {
    const ready = deps.ready();
    ctx.status = ready ? 200 : 503;
    ctx.body = { ready };
  });
  router.get('/status', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = deps.views
      ? await deps.views.status()
      : statusDocument(deps.store, deps.pools(), (deps.now ?? Date.now)(), deps.certificates?.() ?? []);
  });
  const streams = new EventStreams(deps.bus, deps.maxEventStreams);
  router.get('/events', (ctx) => streams.serve(ctx));
  router.get('/metrics', async (ctx) => {
    ctx.set('content-type', deps.metrics.registry.contentType);
    ctx.body = deps.views ? await deps.views.metrics() : await deps.metrics.registry.metrics();
  });
  poolActions(router, deps);
  trafficRoutes(router, deps);
  mountDashboard(router);

  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new BatonError('NOT_FOUND', ctx.path);
    } catch (error) {
      const known = error instanceof BatonError ? error : undefined;
      if (!known) deps.log.error({ err: error }, 'admin API error');
      const code = known?.code ?? 'INTERNAL';
      ctx.status = known?.status ?? 500;
      ctx.body = errorBody(code, known?.detail);
    }
  });
  app.use(browserGuard(adminHostCheck(deps.listenHost, deps.allowedHosts)));
  app.use(adminAuth(deps.token, deps.tokenForReads));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
