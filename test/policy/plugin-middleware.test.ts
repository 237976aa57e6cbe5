import test from 'ava';
import type { ParameterizedContext } from 'koa';
import { definePlugin, type RequestContext } from '../../src/index.ts';
import type { GatewayState } from '../../src/pipeline/state.ts';
import type { RouteSettings } from '../../src/config/types.ts';
import { startGateway } from '../helpers/gateway.ts';
import { request } from '../helpers/http.ts';
import { startUpstream } from '../helpers/upstream.ts';

// The gateway hands request middleware Koa's own context (once the route is matched): it must
// be a RequestContext, the small interface plugins are typed against. A compile-time check.
type Routed = ParameterizedContext<GatewayState & { route: RouteSettings }>;
// biome-ignore lint/suspicious/noExportsInTest: exported only so that tsc keeps the check
export const koaContextIsARequestContext = (ctx: Routed): RequestContext => ctx;

test('request middleware reads the route, canonical path, client and headers; answers itself or forwards', async (t) => {
  const upstream = await startUpstream('api-1');
  t.teardown(() => upstream.close());
  const seen: unknown[] = [];
  const auth = definePlugin({
    name: 'auth',
    async middleware(ctx, next) {
      seen.push({ ...ctx.state, method: ctx.method, token: ctx.get('x-token'), header: ctx.headers['x-token'] });
      if (ctx.get('x-token') !== 'open-sesame') {
        ctx.status = 401;
        ctx.body = { error: 'no token' };
        return;
      }
      ctx.set('x-auth', 'checked');
      await next();
    },
  });
  const { url } = await startGateway(
    t,
    {
      pools: { api: { policy: 'round-robin', nodes: [{ url: upstream.url, id: 'api-1' }], health: false } },
      routes: [{ name: 'api', path: '/v1', pool: 'api' }],
    },
    { plugins: [auth] },
  );

  const refused = await request(`${url}/v1/a/../users?x=1`);
  t.is(refused.status, 401);
  t.deepEqual(refused.json(), { error: 'no token' });
  t.is(upstream.requests.length, 0, 'answered by the plugin, never forwarded');
  t.like(seen[0], {
    path: '/v1/users',
    clientIp: '127.0.0.1',
    method: 'GET',
    token: '',
    header: undefined,
    route: { name: 'api', pool: 'api' },
  });
  t.regex((seen[0] as { requestId: string }).requestId, /\S+/);

  const forwarded = await request(`${url}/v1/users`, { headers: { 'x-token': 'open-sesame' } });
  t.is(forwarded.status, 200);
  t.is(forwarded.json<{ node: string }>().node, 'api-1');
  t.is(forwarded.headers['x-auth'], 'checked');
  t.is(upstream.requests.length, 1);
});
