import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Router from '@koa/router';

const require = createRequire(import.meta.url);
const javascript = 'text/javascript; charset=utf-8';
const css = 'text/css; charset=utf-8';

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

function asset(path: string | URL, type: string): Asset {
  const body = readFileSync(path);
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/**
 * The dashboard's script and style files, served by the admin port itself (no CDN: the page
 * works offline and its CSP allows scripts and styles only from 'self'). uPlot, the chart
 * library, comes from its npm package, pinned in package.json. Read once, when this module loads.
 */
const assets: ReadonlyMap<string, Asset> = new Map([
  ['uplot.js', asset(require.resolve('uplot/dist/uPlot.iife.min.js'), javascript)],
  ['uplot.css', asset(require.resolve('uplot/dist/uPlot.min.css'), css)],
  ...['dashboard-traffic.js', 'dashboard-charts.js', 'dashboard-timeline.js', 'dashboard-util.js'].map(
    (name) => [name, asset(new URL(`./${name}`, import.meta.url), javascript)] as const,
  ),
  ['dashboard-traffic.css', asset(new URL('./dashboard-traffic.css', import.meta.url), css)],
]);

/** `GET /assets/<name>`: revalidated on every load (the gateway may have been upgraded), 304 when unchanged. */
export function mountAssets(router: Router): void {
  router.get('/assets/:name', (ctx, next) => {
    const found = assets.get(ctx.params.name ?? '');
    if (!found) return next();
    ctx.set({ 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    ctx.status = 200; // ctx.fresh compares validators only for a successful answer
    ctx.type = found.type;
    ctx.etag = found.etag;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = found.body;
  });
}
