import { stripPrefix } from '../routing/router.ts';
import { BatonError } from '../util/errors.ts';
import type { Stage } from './state.ts';

/** First matching route wins; no route is a coded 404. */
export const matchRoute: Stage = (ctx) => {
  const state = ctx.state;
  const route = state.runtime.router.match(ctx.req.headers.host, state.path, ctx.req.method ?? 'GET');
  if (!route) throw new BatonError('NO_ROUTE');
  // A websocket handshake (only those reach the pipeline as upgrades) needs a websocket route.
  if ((ctx.req as { upgrade?: boolean }).upgrade && !route.websocket) throw new BatonError('NO_ROUTE', 'no websocket route matches');
  const pool = state.runtime.pools.get(route.pool);
  if (!pool) throw new BatonError('INTERNAL', `route ${route.name} names a pool that is not running`);
  state.route = route;
  state.pool = pool;
  state.upstreamTarget = (route.stripPath ? stripPrefix(route.path, state.path) : state.path) + state.query;
};
