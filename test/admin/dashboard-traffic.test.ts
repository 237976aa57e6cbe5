import hotStandby from '../../plugins/hot-standby.ts';
import { attribute, browserTest, openWatchedPage, waitFor } from '../helpers/browser.ts';
import { startGateway } from '../helpers/gateway.ts';
import { eventually, request } from '../helpers/http.ts';
import { startUpstream } from '../helpers/upstream.ts';

// The dashboard's live graphs and failover timeline in a real browser (Debian's Chromium).

// Generous timeouts: a busy machine (Chromium runs alongside) must not flap the nodes that stay up.
const fastHealth = { path: '/', interval: '100ms', timeout: '1s', rise: 1, fall: 3 };

browserTest(
  'after traffic and a node killed, the graphs show non-zero rates and the outage is on the timeline, with its details',
  async (t) => {
    t.timeout(45_000);
    const a = await startUpstream('a');
    const b = await startUpstream('b');
    t.teardown(() => Promise.all([a.close(), b.close()]));
    const { url, adminUrl, gateway } = await startGateway(t, {
      pools: {
        web: {
          policy: 'round-robin',
          nodes: [
            { url: a.url, id: 'a' },
            { url: b.url, id: 'b' },
          ],
          health: fastHealth,
        },
      },
      routes: [{ path: '/', pool: 'web' }],
    });
    await eventually(() => gateway.status().pools.web!.nodes.every((n) => n.health === 'up'), 3000);
    const { page, problems, requested } = await openWatchedPage(t, `${adminUrl}/`);
    const web = page.locator('section[data-pool="web"]');
    const chart = (key: string) => web.locator(`figure.chart[data-chart="${key}"]`);

    for (let i = 0; i < 20; i++) t.is((await request(`${url}/x`)).status, 200);
    await a.close();
    for (let i = 0; i < 20; i++)
      t.is((await request(`${url}/x`)).status, 200, 'requests around the dead node still succeed');
    await eventually(() => gateway.status().pools.web!.nodes[0]!.health === 'down', 3000);

    // The graphs: requests and retries drawn from the live series (GET /series, once a second).
    await waitFor(
      'requests/s peak',
      async () =>
        Number(await attribute(chart('requests'), 'data-peak')) > 0 ||
        `${await attribute(chart('requests'), 'data-peak')}`,
    );
    await waitFor(
      'retries/s peak',
      async () =>
        Number(await attribute(chart('retries'), 'data-peak')) > 0 ||
        `${await attribute(chart('retries'), 'data-peak')}`,
    );
    t.regex((await chart('requests').locator('figcaption').textContent()) ?? '', /Requests\/s\s*now \d/);
    t.is(await chart('requests').locator('canvas').count(), 1, 'uPlot drew the chart');
    for (const key of ['errors', 'latency', 'inflight']) t.is(await chart(key).count(), 1, key);
    t.regex((await chart('requests').locator('.u-legend').textContent()) ?? '', /pool.*a.*b/s, 'a line per node');
    const hidden = async (key: string) =>
      (await chart(key).locator('.u-legend .u-series.u-off th').allTextContents()).map((s) => s.trim());
    t.deepEqual(await hidden('errors'), ['a: 5xx', 'b: 5xx'], 'per-node 5xx lines start hidden');
    t.deepEqual(await hidden('latency'), ['a: p50', 'b: p50']);

    // The timeline: a's band ends down (ejected: the refused connection proved it), b stays up.
    const laneA = web.locator('.timeline .lane[data-node="a"]');
    await waitFor(
      'a down on the timeline',
      async () =>
        ['down', 'ejected'].includes((await attribute(laneA.locator('.seg').last(), 'data-state')) ?? '') ||
        String(await attribute(laneA.locator('.seg').last(), 'data-state')),
    );
    t.true((await laneA.locator('.seg[data-state="up"]').count()) >= 1, 'it was up before');
    const drawn = await laneA
      .locator('.seg')
      .evaluateAll((segs) => segs.map((s) => s.getAttribute('data-state') ?? 'none'));
    t.true(
      drawn.length <= 5 && new Set(drawn).size === drawn.length,
      `one element per segment, redrawn in place: ${drawn.join(', ')}`,
    );
    t.deepEqual(
      await web
        .locator('.timeline .lane[data-node="b"] .seg[data-state]')
        .evaluateAll((segs) =>
          [...new Set(segs.map((s) => s.getAttribute('data-state')))].filter((s) => s !== 'unknown'),
        ),
      ['up'],
    );
    const outage = web.locator('table.outages tbody tr[data-node="a"]').first();
    await outage.waitFor({ timeout: 5000 });
    t.regex(
      (await outage.locator('[data-field="detected-after"]').textContent()) ?? '',
      /^\d+ ms$/,
      'the time from fault to verdict',
    );
    t.regex((await outage.textContent()) ?? '', /still down/);
    t.is(await laneA.locator('.detect').count(), 1, 'fault → verdict drawn on the band');

    // Each event is clickable to its details (events a few pixels apart share a marker, and its
    // details list them all); the same events are marked in the feed.
    const downEvent = gateway.events
      .recent()
      .find(
        ({ event }) =>
          event.type === 'health' && event.node === 'a' && event.to === 'down' && event.reason.startsWith('local'),
      )!;
    await laneA.locator(`.marker[data-seqs~="${downEvent.seq}"]`).click();
    const details = web.locator('[data-field="event-details"]');
    await details.waitFor({ state: 'visible', timeout: 3000 });
    const shown = details.locator(`section.event[data-event-seq="${downEvent.seq}"]`);
    t.is(await shown.locator('[data-field="change"]').textContent(), `${downEvent.event.from} → down`);
    t.is(await shown.locator('[data-field="reason"]').textContent(), downEvent.event.reason);
    t.regex(
      (await shown.locator('[data-field="detected-after"]').textContent()) ?? '',
      new RegExp(`^${downEvent.event.detectedAfterMs} ms`),
    );
    t.true(
      (
        await page
          .locator('#events li.highlighted')
          .evaluateAll((items) => items.map((i) => i.getAttribute('data-event-id')))
      ).includes(String(downEvent.seq)),
    );
    await details.locator('button[data-action="close-details"]').click();
    t.true(await details.isHidden());

    // The page works offline: every request it made went to the admin port.
    const origin = new URL(adminUrl).origin;
    t.deepEqual(
      requested.filter((u) => new URL(u).origin !== origin),
      [],
    );
    t.true(
      requested.some((u) => u.endsWith('/assets/uplot.js')),
      'uPlot from the admin port',
    );
    t.deepEqual(problems, []);
  },
);

browserTest(
  'a hot-standby pool: the active lane shows the failover and the new epoch, and the promotion opens its details',
  async (t) => {
    t.timeout(45_000);
    const primary = await startUpstream('primary');
    const standby = await startUpstream('standby');
    t.teardown(() => Promise.all([primary.close(), standby.close()]));
    const { adminUrl, gateway } = await startGateway(t, {
      pools: {
        db: {
          policy: hotStandby({ failbackDelay: '1h' }),
          nodes: [
            { url: primary.url, id: 'primary' },
            { url: standby.url, id: 'standby', tier: 1 },
          ],
          health: false,
        },
      },
      routes: [{ path: '/', pool: 'db' }],
    });
    await eventually(() => gateway.status().pools.db!.active === 'primary', 2000);
    const { page, problems } = await openWatchedPage(t, `${adminUrl}/`);
    const lane = page.locator('section[data-pool="db"] .timeline .lane[data-lane="active"]');
    await waitFor(
      'primary active, epoch 1',
      async () => (await attribute(lane.locator('.seg').last(), 'data-node')) === 'primary',
    );
    t.is(await attribute(lane.locator('.seg').last(), 'data-epoch'), '1');

    t.is((await request(`${adminUrl}/pools/db/failover`, { method: 'POST' })).status, 200);
    await waitFor(
      'standby active, epoch 2',
      async () => (await attribute(lane.locator('.seg').last(), 'data-epoch')) === '2',
    );
    t.is(await attribute(lane.locator('.seg').last(), 'data-node'), 'standby');
    const failover = gateway.events.recent().find(({ event }) => event.type === 'promotion' && event.epoch === 2)!;
    const markers = lane.locator('.marker[data-event-type="promotion"]');
    const marked = (await markers.evaluateAll((items) => items.map((i) => i.getAttribute('data-seqs'))))
      .join(' ')
      .split(' ');
    t.is(marked.length, 2, 'the election and the failover are marked');
    await lane.locator(`.marker[data-seqs~="${failover.seq}"]`).click();
    const shown = page.locator(
      `section[data-pool="db"] [data-field="event-details"] section.event[data-event-seq="${failover.seq}"]`,
    );
    await shown.waitFor({ state: 'visible', timeout: 3000 });
    t.is(await shown.locator('[data-field="epoch"]').textContent(), '2');
    t.is(await shown.locator('[data-field="change"]').textContent(), 'primary → standby');
    t.deepEqual(problems, []);
  },
);

browserTest('the window selector narrows the graphs and the timeline to the last minute', async (t) => {
  t.timeout(30_000);
  const a = await startUpstream('a');
  t.teardown(() => a.close());
  const { adminUrl } = await startGateway(t, {
    pools: { web: { policy: 'round-robin', nodes: [{ url: a.url, id: 'a' }], health: fastHealth } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const { page, problems } = await openWatchedPage(t, `${adminUrl}/`);
  const web = page.locator('section[data-pool="web"]');
  await web.locator('figure.chart[data-chart="requests"]').waitFor({ timeout: 5000 });
  const axisSpan = async () => {
    const ticks = await web.locator('.timeline .axis .tick').allTextContents();
    const seconds = ticks.map((text) => text.split(':').map(Number)).map(([h, m, s]) => h! * 3600 + m! * 60 + s!);
    return Math.max(...seconds) - Math.min(...seconds);
  };
  t.true((await axisSpan()) > 300, '15 minutes by default');
  await web.locator('select[data-field="traffic-window"]').selectOption('60');
  await waitFor('a one-minute axis', async () => (await axisSpan()) <= 60 || String(await axisSpan()));
  t.deepEqual(problems, []);
});

browserTest('with tokenForReads, the graphs and the timeline read with the token the page was given', async (t) => {
  t.timeout(30_000);
  const a = await startUpstream('a');
  t.teardown(() => a.close());
  const { adminUrl } = await startGateway(t, {
    admin: { port: 0, token: 'graphs-token-1', tokenForReads: true },
    pools: { web: { policy: 'round-robin', nodes: [{ url: a.url, id: 'a' }], health: fastHealth } },
    routes: [{ path: '/', pool: 'web' }],
  });
  t.is((await request(`${adminUrl}/series`)).status, 401);
  const { page, problems } = await openWatchedPage(t, `${adminUrl}/?token=graphs-token-1`);
  const web = page.locator('section[data-pool="web"]');
  await web.locator('.timeline .lane[data-node="a"] .seg[data-state="up"]').first().waitFor({ timeout: 8000 });
  await web.locator('figure.chart[data-chart="requests"] canvas').waitFor({ timeout: 5000 });
  await waitFor(
    'traffic view updating',
    async () =>
      /^updated/.test((await web.locator('[data-field="traffic-state"]').textContent()) ?? '') ||
      String(await web.locator('[data-field="traffic-state"]').textContent()),
  );
  t.deepEqual(problems, []);
});
