/**
 * A contender: what a user would write in a few lines instead of Baton. One Koa app, one
 * middleware proxying round-robin over the given upstreams through http-proxy with a keep-alive
 * agent, nothing else. `ctx.respond = false` hands the response to http-proxy, as Koa expects
 * when something else writes it.
 */
import http from 'node:http';
import httpProxy from 'http-proxy';
import Koa from 'koa';

const targets = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
const proxy = httpProxy.createProxyServer({ agent });
proxy.on('error', (_error, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
});
let next = 0;
const app = new Koa();
app.use((ctx) => {
  ctx.respond = false;
  proxy.web(ctx.req, ctx.res, { target: targets[next++ % targets.length] });
});
const server = http.createServer(app.callback());
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`));
