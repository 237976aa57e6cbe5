/**
 * A/B variant for bench/cpu-per-request.ts: Baton's forwarder behind one Koa middleware.
 * The difference to forwarder-only.ts is what Koa itself costs per request.
 */
import http from 'node:http';
import Koa from 'koa';

process.env.AS_MODULE = '1';
const { forwardOnce } = await import('./forwarder-only.ts');
const app = new Koa();
app.use(async (ctx) => {
  ctx.respond = false;
  const result = await forwardOnce(ctx.req, ctx.res);
  await result.done;
});
const server = http.createServer(app.callback());
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`));
