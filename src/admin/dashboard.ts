import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type Router from '@koa/router';
import { mountAssets } from './dashboard-assets.ts';

/**
 * The operator dashboard: one page (inline CSS and JS) that polls `GET /status` and follows
 * `GET /events`, plus the traffic graphs and failover timeline, which load their modules and
 * uPlot from the admin port's own /assets/ (dashboard-assets.ts; nothing from elsewhere).
 * Read once, when this module loads. Line endings are normalised so the CSP hashes match what
 * the browser hashes.
 */
const html = readFileSync(new URL('./dashboard.html', import.meta.url), 'utf8').replace(/\r\n?/g, '\n');

/** `'sha256-…'` sources for every inline `<tag>…</tag>` block of the page. */
function inlineHashes(page: string, tag: 'script' | 'style'): string[] {
  const blocks = page.matchAll(new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'gi'));
  return [...blocks].map(
    (match) =>
      `'sha256-${createHash('sha256')
        .update(match[1] ?? '', 'utf8')
        .digest('base64')}'`,
  );
}

/**
 * Only the page's own inline script and style may run (by hash, which is stricter than
 * 'unsafe-inline': an injected script would not match); it may only talk to its own origin.
 */
const contentSecurityPolicy = [
  "default-src 'none'",
  `script-src 'self' ${inlineHashes(html, 'script').join(' ')}`,
  `style-src 'self' ${inlineHashes(html, 'style').join(' ')}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** `GET /`: the dashboard page; `GET /assets/…`: its graphs' scripts and styles. */
export function mountDashboard(router: Router): void {
  mountAssets(router);
  router.get('/', (ctx) => {
    ctx.body = html;
    ctx.set({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': contentSecurityPolicy,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    });
  });
}
