import type Router from '@koa/router';
import type { Context } from 'koa';
import type { PoolSet } from '../pool/pool-set.ts';
import type { Pool } from '../pool/pool.ts';
import type { StateStore } from '../state/types.ts';
import { BatonError } from '../util/errors.ts';
import { parseDuration } from '../util/units.ts';
import { HISTORY_MS } from './event-history.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { AdminViews } from './server.ts';
import { describeWindow } from './series-view.ts';
import { poolTimeline, type PoolTimeline } from './timeline.ts';

interface TrafficDeps {
  readonly pools: () => PoolSet;
  readonly store: StateStore;
  readonly metrics: GatewayMetrics;
  readonly views?: Pick<AdminViews, 'series'>;
  /** The gateway's clock, which stamps events; Date.now by default. */
  readonly now?: () => number;
}

const DEFAULT_WINDOW_MS = HISTORY_MS;

/**
 * `GET /series` (the live graphs' points) and `GET /timeline` (node states, active nodes and
 * outages over time), each for `?pool=` or every pool, over `?window=` (1s … 15m, default 15m).
 */
export function trafficRoutes(router: Router, deps: TrafficDeps): void {
  router.get('/series', async (ctx) => {
    const pool = poolParam(ctx, (name) => deps.metrics.traffic.has(name));
    const seconds = windowParam(ctx) / 1000;
    ctx.set('cache-control', 'no-store');
    const raw = deps.views ? await deps.views.series(seconds, pool) : deps.metrics.traffic.window(seconds, pool);
    ctx.body = describeWindow(raw, deps.store.instanceId);
  });

  router.get('/timeline', (ctx) => {
    const name = poolParam(ctx, (pool) => deps.pools().get(pool) !== undefined);
    const windowMs = windowParam(ctx);
    const now = (deps.now ?? Date.now)(); // the clock that stamps the events
    const pools: Record<string, PoolTimeline> = {};
    for (const pool of deps.pools().all()) {
      if (name === undefined || pool.name === name)
        pools[pool.name] = timelineOf(pool, deps.metrics, now - windowMs, now);
    }
    ctx.set('cache-control', 'no-store');
    ctx.body = { instance: deps.store.instanceId, from: now - windowMs, to: now, pools };
  });
}

function timelineOf(pool: Pool, metrics: GatewayMetrics, from: number, now: number): PoolTimeline {
  return poolTimeline({
    nodes: pool.nodes.map((node) => ({
      id: node.id,
      local: node.local,
      cluster: node.clusterHealth?.verdict,
      draining: node.draining,
    })),
    active: pool.activePassive ? { node: pool.active, epoch: pool.epoch } : null,
    events: metrics.history.events(pool.name),
    completeFrom: metrics.history.completeFrom(pool.name),
    from,
    now,
  });
}

function poolParam(ctx: Context, known: (pool: string) => boolean): string | undefined {
  const pool = ctx.query.pool;
  if (pool === undefined) return undefined;
  if (typeof pool !== 'string' || pool === '') throw new BatonError('INVALID_QUERY', 'pool: one pool name');
  if (!known(pool)) throw new BatonError('POOL_NOT_FOUND', pool);
  return pool;
}

function windowParam(ctx: Context): number {
  const value = ctx.query.window;
  if (value === undefined) return DEFAULT_WINDOW_MS;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || ms < 1000 || ms > HISTORY_MS)
    throw new BatonError(
      'INVALID_QUERY',
      `window: a duration from 1s to 15m, such as 60s or 5m (got ${String(value)})`,
    );
  return ms;
}
