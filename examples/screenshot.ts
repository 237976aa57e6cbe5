/**
 * `npm run screenshot`: makes the dashboard picture the README shows (docs/dashboard.png) from a
 * real run: the three example upstreams and the gateway of gateway.config.ts (on free ports),
 * steady traffic on both pools, the upstream behind web-1 and orders-primary killed with SIGKILL
 * and started again later, then the dashboard in headless Chromium.
 *
 *   npm run screenshot -- --seconds 130 --kill-at 40 --restart-at 80 --out docs/dashboard.png
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { builtinPlugins } from '../plugins/index.ts';
import { loadConfig } from '../src/config/load.ts';
import { createGateway } from '../src/gateway.ts';
import { silentLogger } from '../src/util/logger.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '130' },
    'kill-at': { type: 'string', default: '40' },
    'restart-at': { type: 'string', default: '80' },
    rate: { type: 'string', default: '40' },
    out: { type: 'string', default: 'docs/dashboard.png' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    width: { type: 'string', default: '1600' },
  },
});
const seconds = Number(values.seconds);
const killAt = Number(values['kill-at']) * 1000;
const restartAt = Number(values['restart-at']) * 1000;
const rate = Number(values.rate);
const root = new URL('..', import.meta.url);
const upstreamScript = fileURLToPath(new URL('examples/upstream.ts', root));

function startUpstream(name: string, port = 0): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', upstreamScript, '--port', String(port), '--name', name], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.once('exit', (code) => reject(new Error(`upstream ${name} exited with ${code}`)));
    child.stdout!.once('data', (data: Buffer) =>
      resolve({ child, port: Number(/listening (\d+)/.exec(data.toString())![1]) }),
    );
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const children: ChildProcess[] = [];
const upstreams = [await startUpstream('web-1'), await startUpstream('web-2'), await startUpstream('web-3')];
children.push(...upstreams.map((u) => u.child));
const env = {
  PORT: '0',
  ADMIN_PORT: '0',
  ...Object.fromEntries(upstreams.map((u, i) => [`UPSTREAM_${i + 1}`, String(u.port)])),
};
const settings = await loadConfig(fileURLToPath(new URL('gateway.config.ts', root)), { builtins: builtinPlugins, env });
const gateway = createGateway(settings, { logger: silentLogger() });
const { url, adminUrl } = await gateway.start();
console.log(`gateway ${url}, dashboard ${adminUrl}/ (upstreams ${upstreams.map((u) => u.port).join(', ')})`);

const browser = await chromium.launch({
  executablePath: values.chromium,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: Number(values.width), height: 1000 } });
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  await page.goto(`${adminUrl}/`);

  // Open-loop traffic: each request on its own schedule, on both pools; now and then a slow
  // answer or an application error (500 is passed through, not retried), as real traffic has.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let sent = 0;
  let failed = 0;
  const started = Date.now();
  const fire = () => {
    const n = sent++;
    const path = n % 3 === 2 ? '/orders' : '/hello';
    const query = n % 97 === 0 ? '?status=500' : n % 5 === 0 ? `?delay=${n % 40}` : '';
    http
      .get(`${url}${path}${query}`, { agent }, (res) => {
        if ((res.statusCode ?? 0) >= 500 && !query.includes('status')) failed += 1;
        res.resume();
      })
      .on('error', () => (failed += 1));
  };
  const load = setInterval(fire, 1000 / rate);
  let killed = false;
  let restarted = false;
  while (Date.now() - started < seconds * 1000) {
    const elapsed = Date.now() - started;
    if (!killed && elapsed >= killAt) {
      killed = true;
      upstreams[0]!.child.kill('SIGKILL');
      console.log(`${(elapsed / 1000).toFixed(0)} s: killed web-1 / orders-primary (SIGKILL)`);
    }
    if (!restarted && elapsed >= restartAt) {
      restarted = true;
      const back = await startUpstream('web-1', upstreams[0]!.port);
      children.push(back.child);
      console.log(`${(elapsed / 1000).toFixed(0)} s: started it again`);
    }
    await sleep(200);
  }

  // Two minutes of graphs and timeline, one outage's details open, the picture.
  await page.selectOption('section[data-pool="web"] select[data-field="traffic-window"]', '120');
  await sleep(2500);
  const outage = page.locator('section[data-pool="web"] table.outages tbody tr').first();
  // biome-ignore lint/performance/useDomNodeTextContent: this is playwright's Locator, not a DOM node
  console.log(`web outage: ${(await outage.innerText()).replace(/\s+/g, ' ')}`);
  await outage.locator('button').click();
  await page.mouse.move(0, 0);
  await sleep(300);
  await page.screenshot({ path: values.out, fullPage: true });
  clearInterval(load);
  console.log(`${sent} requests sent, ${failed} failed (other than the intended 500s)`);
  console.log(`wrote ${values.out}`);
} finally {
  await browser.close();
  await gateway.stop();
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
}
