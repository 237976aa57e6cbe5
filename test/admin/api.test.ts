import test from 'ava';
import http from 'node:http';
import { startGateway } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { eventually, request } from '../helpers/http.ts';
import type { GatewayEvent } from '../../src/events/types.ts';

const token = 'admin-secret-1';

async function setup(t: Parameters<typeof startGateway>[0], admin: object = { port: 0, token }, slowB = 0) {
  const a = await startUpstream('a');
  const b = await startUpstream('b', (_req, res) => setTimeout(() => res.end('b'), slowB));
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const running = await startGateway(t, {
    admin,
    pools: {
      web: {
        policy: 'round-robin',
        nodes: [
          { url: a.url, id: 'a' },
          { url: b.url, id: 'b' },
        ],
        health: false,
      },
    },
    routes: [{ path: '/', pool: 'web' }],
  });
  return { a, b, ...running };
}

const post = (url: string, auth?: string) =>
  request(url, { method: 'POST', headers: auth ? { authorization: auth } : {} });

test('healthz and readyz answer without a token', async (t) => {
  const { adminUrl } = await setup(t);
  t.deepEqual((await request(`${adminUrl}/healthz`)).json(), { ok: true });
  const ready = await request(`${adminUrl}/readyz`);
  t.is(ready.status, 200);
  t.deepEqual(ready.json(), { ready: true });
});

test('mutating calls: 401 without a token, 403 with a wrong one, 200 with the right one', async (t) => {
  const { adminUrl } = await setup(t);
  const missing = await post(`${adminUrl}/pools/web/nodes/a/drain`);
  t.is(missing.status, 401);
  t.is(missing.json().error.code, 'UNAUTHORIZED');
  t.regex(String(missing.headers['www-authenticate']), /^Bearer/);
  const wrong = await post(`${adminUrl}/pools/web/nodes/a/drain`, 'Bearer not-the-token');
  t.is(wrong.status, 403);
  t.is(wrong.json().error.code, 'FORBIDDEN');
  const ok = await post(`${adminUrl}/pools/web/nodes/a/drain`, `Bearer ${token}`);
  t.is(ok.status, 200);
  t.like(ok.json(), { pool: 'web', node: 'a', draining: true, scope: 'cluster' });
  t.is((await request(`${adminUrl}/status`)).status, 200, 'reads stay open unless tokenForReads');
});

test('tokenForReads: reads need the token too, by header or ?token= (for EventSource)', async (t) => {
  const { adminUrl } = await setup(t, { port: 0, token, tokenForReads: true });
  t.is((await request(`${adminUrl}/status`)).status, 401);
  t.is((await request(`${adminUrl}/status`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  t.is((await request(`${adminUrl}/status?token=${token}`)).status, 200);
  t.is((await request(`${adminUrl}/metrics?token=wrong`)).status, 403);
  t.is((await request(`${adminUrl}/healthz`)).status, 200, 'orchestrator probes stay open');
  t.is(
    (await post(`${adminUrl}/pools/web/nodes/a/drain?token=${token}`)).status,
    401,
    'a mutating call never takes the token from the URL',
  );
});

test('a drained node gets no new requests while its in-flight ones finish; enable brings it back', async (t) => {
  const { url, adminUrl, a, b, gateway } = await setup(t, { port: 0, token }, 300);
  const slow = [request(`${url}/1`), request(`${url}/2`)]; // one each: b holds its request 300 ms
  await eventually(() => gateway.status().pools.web!.nodes[1]!.inflight === 1, 1000);
  const drained = await post(`${adminUrl}/pools/web/nodes/b/drain`, `Bearer ${token}`);
  t.like(drained.json(), { draining: true, inflight: 1 });
  const replies = await Promise.all(slow);
  t.true(
    replies.every((r) => r.status === 200),
    'the in-flight request on b finished',
  );
  const before = b.requests.length;
  for (let i = 0; i < 6; i++) await request(`${url}/x`);
  t.is(b.requests.length, before, 'no new request reached the drained node');
  t.true(gateway.status().pools.web!.nodes[1]!.draining);
  await post(`${adminUrl}/pools/web/nodes/b/enable`, `Bearer ${token}`);
  for (let i = 0; i < 4; i++) await request(`${url}/x`);
  t.true(b.requests.length > before);
  t.true(a.requests.length > 0);
});

test('unknown pools, nodes and paths: coded 404s', async (t) => {
  const { adminUrl } = await setup(t);
  const auth = `Bearer ${token}`;
  t.is((await post(`${adminUrl}/pools/nope/nodes/a/drain`, auth)).json().error.code, 'POOL_NOT_FOUND');
  t.is((await post(`${adminUrl}/pools/web/nodes/zz/drain`, auth)).json().error.code, 'NODE_NOT_FOUND');
  const missing = await request(`${adminUrl}/nothing-here`);
  t.is(missing.status, 404);
  t.is(missing.json().error.code, 'NOT_FOUND');
  const notActivePassive = await post(`${adminUrl}/pools/web/failover`, auth);
  t.is(notActivePassive.status, 409);
  t.is(notActivePassive.json().error.code, 'NOT_ACTIVE_PASSIVE');
});

/**
 * Opens an event stream; resolves once the gateway has subscribed it to the bus (it writes
 * `retry:` and the recent history first, then subscribes in the same call), so that whatever
 * happens from then on reaches it live. `until(count)` waits for that many data events.
 */
function openEvents(
  url: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<{ events: Array<{ id: number; event: GatewayEvent }>; until(count: number): Promise<void>; close(): void }> {
  return new Promise((resolve, reject) => {
    const events: Array<{ id: number; event: GatewayEvent }> = [];
    const waiters: Array<{ count: number; done: () => void }> = [];
    const req = http.get(url, { headers }, (res) => {
      let buffer = '';
      let subscribed = false;
      res.on('data', (chunk) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: (\d+)$/m.exec(block);
          const data = /^data: (.*)$/m.exec(block);
          if (id && data) events.push({ id: Number(id[1]), event: JSON.parse(data[1]!) });
        }
        for (const waiter of waiters.filter((w) => events.length >= w.count)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.done();
        }
        if (!subscribed) {
          subscribed = true;
          resolve({
            events,
            until: (count) =>
              new Promise<void>((done, fail) => {
                if (events.length >= count) return done();
                const timer = setTimeout(() => fail(new Error(`${events.length} of ${count} events within 5 s`)), 5000);
                waiters.push({ count, done: () => (clearTimeout(timer), done()) });
              }),
            close: () => req.destroy(),
          });
        }
      });
    });
    req.on('error', reject);
  });
}

test('GET /events streams every transition as it happens, and resumes after Last-Event-ID', async (t) => {
  const { adminUrl } = await setup(t);
  const stream = await openEvents(`${adminUrl}/events`);
  t.deepEqual(stream.events, [], 'nothing happened before: no history to replay');
  await post(`${adminUrl}/pools/web/nodes/a/drain`, `Bearer ${token}`);
  await stream.until(1);
  t.like(
    stream.events[0]!.event,
    { type: 'drain', pool: 'web', node: 'a', to: 'draining' },
    'sent as it happens, before the next change',
  );
  await post(`${adminUrl}/pools/web/nodes/a/enable`, `Bearer ${token}`);
  await stream.until(2);
  stream.close();
  const { events } = stream;
  t.is(events.length, 2);
  t.like(events[0]!.event, { type: 'drain', pool: 'web', node: 'a', to: 'draining' });
  t.like(events[1]!.event, { type: 'drain', pool: 'web', node: 'a', to: 'enabled' });
  t.true(typeof events[0]!.event.time === 'number' && typeof events[0]!.event.instance === 'string');
  // A client that reconnects with the id of the first event gets only what came after it.
  const resumed = await openEvents(`${adminUrl}/events`, { 'last-event-id': String(events[0]!.id) });
  await resumed.until(1);
  resumed.close();
  t.is(resumed.events.length, 1);
  t.like(resumed.events[0]!.event, { to: 'enabled' });
});
