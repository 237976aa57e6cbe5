import { hostName, stripPrefix } from '../routing/router.ts';
import { BatonError } from '../util/errors.ts';
import type { Stage } from './state.ts';
import { handshakeHead } from './upgrade.ts';

/** First matching route wins; no route is a coded 404. */
export const matchRoute: Stage = (ctx) => {
  const state = ctx.state;
  const route = state.runtime.router.match(
    ctx.req.headers.host,
    state.path,
    ctx.req.method ?? 'GET',
    state.listener.secure,
  );
  if (!route) throw new BatonError('NO_ROUTE');
  if (route.redirect) {
    state.route = route;
    const port = state.listener.httpsPort();
    if (port === undefined) throw new BatonError('INTERNAL', 'no TLS listener to redirect to');
    // Guarded: Host is a host name or address; without one (HTTP/1.0) there is nowhere to send the client.
    const host = hostName(ctx.req.headers.host);
    if (host === undefined) throw new BatonError('BAD_REQUEST', 'a redirect needs a Host header');
    state.redirect = `https://${host}${port === 443 ? '' : `:${port}`}${ctx.req.url}`;
    return;
  }
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
