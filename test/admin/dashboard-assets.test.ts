import test from 'ava';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startGateway } from '../helpers/gateway.ts';
import { request } from '../helpers/http.ts';
import { repoRoot } from '../helpers/process.ts';

// The dashboard's scripts and styles come from the admin port itself: no CDN, a strict CSP.

const setup = (t: Parameters<typeof startGateway>[0]) =>
  startGateway(t, {
    pools: { web: { policy: 'round-robin', nodes: [{ url: 'http://127.0.0.1:9' }], health: false } },
    routes: [{ path: '/', pool: 'web' }],
  });

test('every script and stylesheet the page and its modules load is served by the admin port', async (t) => {
  const { adminUrl } = await setup(t);
  const page = await request(`${adminUrl}/`);
  const referenced = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)]
    .map((m) => m[1]!)
    .filter((ref) => !ref.startsWith('data:'));
  t.deepEqual(
    referenced.filter((ref) => /^[a-z]+:|^\/\//i.test(ref)),
    [],
    'nothing from another origin',
  );
  t.true(referenced.includes('assets/uplot.js') && referenced.includes('assets/dashboard-traffic.js'));
  const queue = [...referenced];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const ref = queue.shift()!;
    if (seen.has(ref)) continue;
    seen.add(ref);
    const reply = await request(`${adminUrl}/${ref}`);
    t.is(reply.status, 200, ref);
    t.regex(String(reply.headers['content-type']), ref.endsWith('.css') ? /^text\/css/ : /^text\/javascript/, ref);
    t.is(reply.headers['x-content-type-options'], 'nosniff');
    // ES module imports are relative to the module: follow them.
    for (const [, imported] of reply.body.matchAll(/^import .* from '\.\/([^']+)';$/gm))
      queue.push(`assets/${imported}`);
  }
  t.true(
    seen.has('assets/dashboard-charts.js') &&
      seen.has('assets/dashboard-timeline.js') &&
      seen.has('assets/dashboard-util.js'),
  );
});

test('uPlot is served from its npm package, pinned to an exact version, and revalidated with an ETag', async (t) => {
  const { adminUrl } = await setup(t);
  const pinned = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).dependencies.uplot as string;
  t.regex(pinned, /^\d+\.\d+\.\d+$/, 'an exact version, installed in production images too');
  const file = createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js');
  const reply = await request(`${adminUrl}/assets/uplot.js`);
  t.is(reply.body, readFileSync(file, 'utf8'));
  t.is(reply.headers['cache-control'], 'no-cache');
  const etag = String(reply.headers.etag);
  t.regex(etag, /^"[\w-]+"$/);
  const again = await request(`${adminUrl}/assets/uplot.js`, { headers: { 'if-none-match': etag } });
  t.is(again.status, 304);
  t.is(again.body, '');
});

test('unknown assets are 404s; the page keeps its strict CSP (scripts from itself and by hash only)', async (t) => {
  const { adminUrl } = await setup(t);
  for (const path of ['assets/nope.js', 'assets/../dashboard.ts', 'assets/dashboard.html']) {
    const reply = await request(`${adminUrl}/${path}`);
    t.is(reply.status, 404, path);
  }
  const csp = String((await request(`${adminUrl}/`)).headers['content-security-policy']);
  t.regex(csp, /default-src 'none'/);
  t.regex(csp, /script-src 'self' 'sha256-[^;]*;/);
  t.regex(csp, /connect-src 'self'/);
  t.notRegex(csp, /unsafe-inline|unsafe-eval|https?:/);
});

test('with tokenForReads the assets stay open (they hold no data; the page could not load them otherwise), the data does not', async (t) => {
  const { adminUrl } = await startGateway(t, {
    admin: { port: 0, token: 'assets-token-1', tokenForReads: true },
    pools: { web: { policy: 'round-robin', nodes: [{ url: 'http://127.0.0.1:9' }], health: false } },
    routes: [{ path: '/', pool: 'web' }],
  });
  t.is((await request(`${adminUrl}/assets/uplot.js`)).status, 200);
  t.is((await request(`${adminUrl}/assets/dashboard-traffic.js`)).status, 200);
  for (const path of ['/', '/series', '/timeline', '/status'])
    t.is((await request(`${adminUrl}${path}`)).status, 401, path);
});
