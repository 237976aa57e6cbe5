import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

/** Debian's Chromium, driven by playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';
// On a developer machine without Chromium the browser tests are skipped with a warning; on CI
// (.ci/run installs it) a missing browser must fail, not pass silently.
const available = existsSync(CHROMIUM) || Boolean(process.env.CI);
export const browserTest = available ? test.serial : test.serial.skip;
if (!available) console.warn(`browser tests skipped: ${CHROMIUM} not found (apt-get install chromium)`);

export async function openBrowser(t: ExecutionContext): Promise<Browser> {
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

export interface WatchedPage {
  readonly page: Page;
  /** Content-Security-Policy violations, uncaught page errors and failed loads (each means a broken page). */
  readonly problems: string[];
  /** Every URL the page requested. */
  readonly requested: string[];
}

/** Opens `url` in a fresh page that records what would mean a broken page. */
export async function openWatchedPage(
  t: ExecutionContext,
  url: string,
  viewport = { width: 1400, height: 1000 },
): Promise<WatchedPage> {
  const browser = await openBrowser(t);
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  const requested: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Failed to load/i.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  page.on('request', (request) => requested.push(request.url()));
  page.on('requestfailed', (request) => {
    // EventSource streams are cut when the page closes; everything else must load.
    if (!new URL(request.url()).pathname.startsWith('/events'))
      problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  await page.goto(url);
  return { page, problems, requested };
}

/** Polls until `check` is true, reading the page; fails with the last thing seen. */
export async function waitFor(
  describe: string,
  check: () => Promise<boolean | string>,
  timeoutMs = 8000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: boolean | string = false;
  for (;;) {
    last = await check();
    if (last === true) return;
    if (Date.now() >= until) throw new Error(`${describe}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The element's attribute, or undefined when it is not (yet) there. */
export async function attribute(locator: Locator, name: string): Promise<string | undefined> {
  if ((await locator.count()) === 0) return undefined;
  return (await locator.first().getAttribute(name)) ?? undefined;
}
