import { stripPrefix } from '../routing/router.ts';
import { BatonError } from '../util/errors.ts';
import type { Stage } from './state.ts';
import { handshakeHead } from './upgrade.ts';

/** First matching route wins; no route is a coded 404. */
export const matchRoute: Stage = (ctx) => {
  const state = ctx.state;
  const route = state.runtime.router.match(ctx.req.headers.host, state.path, ctx.req.method ?? 'GET');
  if (!route) throw new BatonError('NO_ROUTE');
  // A websocket handshake on a route without `websocket: true` is a plain request, as NGINX
  // treats it: forwarded without Upgrade (the connection still closes after the answer, since
  // Node parses nothing after a handshake's head).
  if (!route.websocket) delete (ctx.req as { [handshakeHead]?: Buffer })[handshakeHead];
  const pool = state.runtime.pools.get(route.pool);
  if (!pool) throw new BatonError('INTERNAL', `route ${route.name} names a pool that is not running`);
  state.route = route;
  state.pool = pool;
  state.upstreamTarget = (route.stripPath ? stripPrefix(route.path, state.path) : state.path) + state.query;
};
