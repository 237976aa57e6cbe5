import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Dialog, type Locator, type Page } from 'playwright-core';
import hotStandby from '../../plugins/hot-standby.ts';
import { startGateway } from '../helpers/gateway.ts';
import { eventually, request } from '../helpers/http.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

// The dashboard in a real browser (Debian's Chromium, driven by playwright-core).

const CHROMIUM = '/usr/bin/chromium';
// On a developer machine without Chromium the browser tests are skipped with a warning; on CI
// (.ci/run installs it) a missing browser must fail, not pass silently.
const available = existsSync(CHROMIUM) || Boolean(process.env.CI);
const browserTest = available ? test.serial : test.serial.skip;
if (!available) console.warn(`dashboard browser tests skipped: ${CHROMIUM} not found (apt-get install chromium)`);

const TOKEN = 'dash-token-123';
const WAIT_MS = 5000;
const fastHealth = { path: '/', interval: '100ms', timeout: '100ms', rise: 1, fall: 1 };
/**
 * For the active-passive pool: one slow heartbeat on a busy machine (other test files and
 * Chromium run alongside) must not flip the active node before the test clicks anything.
 */
const steadyHealth = { path: '/', interval: '100ms', timeout: '500ms', rise: 1, fall: 3 };

async function openBrowser(t: ExecutionContext): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.teardown(() => browser.close());
  return browser;
}

interface OpenedPage {
  readonly page: Page;
  /** Content-Security-Policy violations and uncaught page errors (both mean a broken page). */
  readonly problems: string[];
  /** Dialogs the page opened (each answered with the admin token). */
  readonly dialogs: Dialog[];
}

async function openDashboard(t: ExecutionContext, adminUrl: string): Promise<OpenedPage> {
  const browser = await openBrowser(t);
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  const dialogs: Dialog[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog);
    void dialog.accept(TOKEN);
  });
  await page.goto(adminUrl);
  return { page, problems, dialogs };
}

async function upstreams(t: ExecutionContext, ...names: string[]): Promise<Upstream[]> {
  const started = await Promise.all(names.map((name) => startUpstream(name)));
  for (const upstream of started) t.teardown(() => upstream.close());
  return started;
}

/** Polls the element's text until it matches; fails with the last text seen. */
async function waitForText(locator: Locator, expected: string | RegExp, timeoutMs = WAIT_MS): Promise<string> {
  const matches = (text: string) => (typeof expected === 'string' ? text.trim() === expected : expected.test(text));
  let last = '(no element)';
  const until = Date.now() + timeoutMs;
  for (;;) {
    if ((await locator.count()) > 0) {
      last = (await locator.first().textContent()) ?? '';
      if (matches(last)) return last;
    }
    if (Date.now() >= until)
      throw new Error(
        `${String(locator)}: expected ${String(expected)} within ${timeoutMs} ms, last saw ${JSON.stringify(last)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const nodeRow = (page: Page, pool: string, node: string) =>
  page.locator(`tr[data-pool="${pool}"][data-node="${node}"]`);
const nodeField = (page: Page, pool: string, node: string, field: string) =>
  nodeRow(page, pool, node).locator(`[data-field="${field}"]`);
const poolField = (page: Page, pool: string, field: string) =>
  page.locator(`section[data-pool="${pool}"] [data-field="${field}"]`);
const eventEntry = (page: Page, type: string, node: string) =>
  page.locator(`#events li[data-event-type="${type}"][data-node="${node}"]`);

browserTest('shows both nodes up, then a closed upstream as down with a health event in the feed', async (t) => {
  t.timeout(30_000);
  const [a, b] = await upstreams(t, 'a', 'b');
  const { adminUrl, gateway } = await startGateway(t, {
    pools: {
      web: {
        policy: 'round-robin',
        nodes: [
          { url: a!.url, id: 'a' },
          { url: b!.url, id: 'b' },
        ],
        health: fastHealth,
      },
    },
    routes: [{ path: '/', pool: 'web' }],
  });

  const served = await request(`${adminUrl}/`);
  t.is(served.status, 200);
  t.is(served.headers['content-type'], 'text/html; charset=utf-8');
  t.is(served.headers['cache-control'], 'no-store');
  t.regex(String(served.headers['content-security-policy']), /default-src 'none'.*script-src 'self' 'sha256-/);

  const { page, problems } = await openDashboard(t, adminUrl);
  await waitForText(nodeField(page, 'web', 'a', 'health'), 'up');
  await waitForText(nodeField(page, 'web', 'b', 'health'), 'up');
  await waitForText(page.locator('[data-field="store"]'), /memory · connected/);
  await waitForText(nodeField(page, 'web', 'a', 'url'), `${a!.url}/`);
  t.is(await poolField(page, 'web', 'policy').textContent(), 'round-robin');
  t.true(await poolField(page, 'web', 'active').isHidden(), 'no active node shown for a round-robin pool');

  const closedAt = Date.now();
  await a!.close();
  await waitForText(nodeField(page, 'web', 'a', 'health'), 'down');
  t.log(`row shows down ${Date.now() - closedAt} ms after the upstream closed`);
  await eventEntry(page, 'health', 'a').first().waitFor({ timeout: WAIT_MS });
  t.regex((await eventEntry(page, 'health', 'a').first().textContent()) ?? '', /health.*web\/a.*→\s*down/s);
  await waitForText(nodeField(page, 'web', 'b', 'health'), 'up');
  t.is(gateway.status().pools.web!.nodes[0]!.health, 'down');
  t.deepEqual(problems, []);
});

browserTest('Failover asks for the admin token, then shows the new active node and epoch', async (t) => {
  t.timeout(30_000);
  const [primary, standby] = await upstreams(t, 'primary', 'standby');
  const { adminUrl, gateway } = await startGateway(t, {
    admin: { port: 0, token: TOKEN },
    pools: {
      db: {
        policy: hotStandby({ failbackDelay: '1h' }),
        nodes: [
          { url: primary!.url, id: 'primary' },
          { url: standby!.url, id: 'standby', tier: 1 },
        ],
        health: steadyHealth,
      },
    },
    routes: [{ path: '/', pool: 'db' }],
  });
  const status = () => gateway.status().pools.db!;
  await eventually(() => status().active === 'primary' && status().nodes.every((n) => n.health === 'up'), 3000);

  const { page, problems, dialogs } = await openDashboard(t, adminUrl);
  await waitForText(poolField(page, 'db', 'active'), 'primary');
  await waitForText(poolField(page, 'db', 'epoch'), '1');
  await waitForText(nodeField(page, 'db', 'standby', 'health'), 'up');
  t.is(dialogs.length, 0, 'reads need no token here');

  await page.locator('section[data-pool="db"] button[data-action="failover"]').click();
  await waitForText(poolField(page, 'db', 'active'), 'standby');
  await waitForText(poolField(page, 'db', 'epoch'), '2');
  t.is(dialogs.length, 1);
  t.is(dialogs[0]!.type(), 'prompt');
  t.like(status(), { active: 'standby', epoch: 2 });
  await page.locator('#messages .msg.ok').first().waitFor({ timeout: WAIT_MS });
  // Promotion events name the pool and carry from/to (no node).
  await waitForText(
    page.locator('#events li[data-event-type="promotion"][data-pool="db"]'),
    /primary\s*→\s*standby\s*\(epoch 2\)/,
  );
  t.is(await nodeRow(page, 'db', 'standby').getAttribute('data-active'), 'true');

  // A refused failover (to a node that is down) shows the API's error, and the token is
  // remembered (no second prompt).
  await primary!.close();
  await waitForText(nodeField(page, 'db', 'primary', 'health'), 'down');
  await page.locator('section[data-pool="db"] select[data-field="failover-target"]').selectOption('primary');
  await page.locator('section[data-pool="db"] button[data-action="failover"]').click();
  await waitForText(
    page.locator('#messages .msg.error').first(),
    /FAILOVER_REFUSED \(HTTP 409\): The failover could not be applied — primary is down/,
  );
  t.is(dialogs.length, 1);
  t.like(status(), { active: 'standby', epoch: 2 });
  t.deepEqual(problems, []);
});

browserTest('Drain asks for the token, shows the node drained with a drain event; Enable undoes it', async (t) => {
  t.timeout(30_000);
  const [a, b] = await upstreams(t, 'a', 'b');
  const { adminUrl, gateway } = await startGateway(t, {
    admin: { port: 0, token: TOKEN },
    pools: {
      web: {
        policy: 'round-robin',
        nodes: [
          { url: a!.url, id: 'a' },
          { url: b!.url, id: 'b' },
        ],
        health: fastHealth,
      },
    },
    routes: [{ path: '/', pool: 'web' }],
  });

  const { page, problems, dialogs } = await openDashboard(t, adminUrl);
  await waitForText(nodeField(page, 'web', 'b', 'health'), 'up');
  await waitForText(nodeField(page, 'web', 'b', 'draining'), 'no');

  await nodeRow(page, 'web', 'b').locator('button[data-action="drain"]').click();
  await waitForText(nodeField(page, 'web', 'b', 'draining'), 'drained');
  t.is(await nodeRow(page, 'web', 'b').getAttribute('data-draining'), 'true');
  await eventEntry(page, 'drain', 'b').first().waitFor({ timeout: WAIT_MS });
  t.regex((await eventEntry(page, 'drain', 'b').first().textContent()) ?? '', /draining/);
  t.is(dialogs.length, 1);
  t.true(gateway.status().pools.web!.nodes[1]!.draining);

  const enable = nodeRow(page, 'web', 'b').locator('button[data-action="enable"]');
  t.is(await enable.getAttribute('aria-label'), 'Enable node b in pool web');
  await enable.click();
  await waitForText(nodeField(page, 'web', 'b', 'draining'), 'no');
  t.is(dialogs.length, 1, 'the token is kept in sessionStorage');
  t.false(gateway.status().pools.web!.nodes[1]!.draining);
  t.deepEqual(problems, []);
});

browserTest(
  'with tokenForReads, /?token= opens the page, which then reads the status and events with it',
  async (t) => {
    t.timeout(30_000);
    const [a] = await upstreams(t, 'a');
    const { adminUrl } = await startGateway(t, {
      admin: { port: 0, token: TOKEN, tokenForReads: true },
      pools: { web: { policy: 'round-robin', nodes: [{ url: a!.url, id: 'a' }], health: fastHealth } },
      routes: [{ path: '/', pool: 'web' }],
    });
    t.is((await request(`${adminUrl}/status`)).status, 401);

    const { page, problems, dialogs } = await openDashboard(t, `${adminUrl}/?token=${TOKEN}`);
    await waitForText(nodeField(page, 'web', 'a', 'health'), 'up');
    t.false(page.url().includes(TOKEN), 'the token is removed from the address bar');
    await eventEntry(page, 'health', 'a').first().waitFor({ timeout: WAIT_MS });
    await waitForText(page.locator('[data-field="stream"]'), 'live');
    t.is(dialogs.length, 0);
    t.deepEqual(problems, []);
  },
);

browserTest(
  'when GET /status answers 401, the page asks for the token and uses it for /status and /events',
  async (t) => {
    t.timeout(30_000);
    const [a] = await upstreams(t, 'a');
    const { adminUrl } = await startGateway(t, {
      admin: { port: 0, token: TOKEN, tokenForReads: true },
      pools: { web: { policy: 'round-robin', nodes: [{ url: a!.url, id: 'a' }], health: fastHealth } },
      routes: [{ path: '/', pool: 'web' }],
    });
    const browser = await openBrowser(t);
    const page = await browser.newPage();
    const dialogs: Dialog[] = [];
    const eventUrls: string[] = [];
    const statusAuth: Array<string | undefined> = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog);
      void dialog.accept(TOKEN);
    });
    page.on('request', (req) => {
      const path = new URL(req.url()).pathname;
      if (path === '/events') eventUrls.push(req.url());
      if (path === '/status') statusAuth.push(req.headers().authorization);
    });
    // Only the page itself is fetched with the token (as if the operator's proxy added it).
    await page.route(`${adminUrl}/`, async (route) => {
      await route.fulfill({
        response: await route.fetch({ headers: { ...route.request().headers(), authorization: `Bearer ${TOKEN}` } }),
      });
    });
    await page.goto(`${adminUrl}/`);
    await waitForText(nodeField(page, 'web', 'a', 'health'), 'up');
    await eventEntry(page, 'health', 'a').first().waitFor({ timeout: WAIT_MS });
    t.is(dialogs.length, 1);
    t.is(dialogs[0]!.type(), 'prompt');
    t.is(statusAuth[0], undefined, 'the first read goes without a token');
    t.is(statusAuth.at(-1), `Bearer ${TOKEN}`);
    t.true(
      eventUrls.some((u) => new URL(u).searchParams.get('token') === TOKEN),
      'EventSource passes ?token=',
    );
  },
);
