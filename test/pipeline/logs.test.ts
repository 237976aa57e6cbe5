import test from 'ava';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/util/logger.ts';
import { startGateway } from '../helpers/gateway.ts';
import { closedPort, startUpstream } from '../helpers/upstream.ts';
import { eventually, request } from '../helpers/http.ts';

/** A pino destination that keeps the parsed JSON lines. */
function collector(): { lines: Array<Record<string, any>>; stream: Writable } {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, stream };
}

test('one JSON access-log line per request, with the fields operators need, and event lines', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const dead = await closedPort();
  const { lines, stream } = collector();
  const { url } = await startGateway(
    t,
    {
      log: { level: 'info', access: true },
      pools: {
        web: {
          policy: 'round-robin',
          nodes: [
            { url: `http://127.0.0.1:${dead}`, id: 'dead' },
            { url: up.url, id: 'up' },
          ],
          health: false,
        },
      },
      routes: [{ path: '/api', pool: 'web', name: 'api' }],
    },
    { logger: createLogger({ level: 'info', destination: stream }) },
  );
  await request(`${url}/api/orders?x=1`, { headers: { 'x-request-id': 'log-test-1' } });
  await request(`${url}/nowhere`, { headers: { 'x-request-id': 'log-test-2' } });
  await eventually(() => lines.filter((l) => l.msg === 'request').length === 2, 2000);
  const [first, second] = lines.filter((l) => l.msg === 'request');
  t.like(first, {
    requestId: 'log-test-1',
    method: 'GET',
    path: '/api/orders?x=1',
    client: '127.0.0.1',
    route: 'api',
    pool: 'web',
    node: 'up',
    attempts: 2,
    status: 200,
    aborted: false,
    level: 30,
  });
  t.true(typeof first!.durationMs === 'number');
  t.true(typeof first!.time === 'string', 'ISO timestamps');
  t.like(second, { requestId: 'log-test-2', status: 404, error: 'NO_ROUTE', attempts: 0 });
  const event = lines.find((l) => l.event?.type === 'health' && l.event?.node === 'dead');
  t.truthy(event, 'the node ejected by the refused connection is in the event log');
  t.regex(event!.msg, /^health: local: ejected/);
});

test('log.access: false keeps events but no access lines; LOG_LEVEL wins over the config', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const { lines, stream } = collector();
  const { url, gateway } = await startGateway(
    t,
    {
      log: { level: 'info', access: false },
      pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
      routes: [{ path: '/', pool: 'web' }],
    },
    { logger: createLogger({ level: 'info', destination: stream }), env: { LOG_LEVEL: 'warn' } },
  );
  t.is(gateway.settings.log.level, 'warn');
  await request(`${url}/x`);
  // The access line, if any, is written in the same call that counts the request in the metrics.
  const answered = async () =>
    (await gateway.metrics.registry.getSingleMetric('baton_requests_total')!.get()).values.reduce(
      (sum, v) => sum + v.value,
      0,
    );
  await eventually(async () => (await answered()) === 1, 2000);
  // Events are still logged: the request's health event, at info (a given logger keeps its level until a reload).
  await eventually(() => lines.some((l) => l.event?.type === 'health'), 2000);
  t.deepEqual(
    lines.filter((l) => l.msg === 'request'),
    [],
  );
  // A reload applies LOG_LEVEL: its own event, at info, is emitted (the log subscriber sees it
  // before ours) but not written.
  const emitted: string[] = [];
  gateway.events.subscribe((e) => emitted.push(e.type));
  gateway.reload(gateway.settings);
  t.deepEqual(emitted, ['reload']);
  t.deepEqual(
    lines.filter((l) => l.event?.type === 'reload'),
    [],
  );
});

test('with the memory store alone, a transition is logged once (its cluster echo is on the bus, not in the log)', async (t) => {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  const dead = await closedPort();
  const { lines, stream } = collector();
  const { url, gateway } = await startGateway(
    t,
    {
      log: { level: 'info', access: false },
      pools: {
        web: {
          policy: 'round-robin',
          nodes: [
            { url: `http://127.0.0.1:${dead}`, id: 'dead' },
            { url: up.url, id: 'up' },
          ],
          health: false,
          passive: { failures: 1 },
        },
      },
      routes: [{ path: '/', pool: 'web' }],
    },
    { logger: createLogger({ level: 'info', destination: stream }) },
  );
  const emitted: Array<{ scope: string; to?: string }> = [];
  gateway.events.subscribe((e) => {
    if (e.type === 'health' && e.node === 'dead') emitted.push({ scope: e.scope, to: e.to });
  });
  await request(`${url}/x`);
  await request(`${url}/x`);
  await eventually(() => emitted.some((e) => e.scope === 'cluster' && e.to === 'down'), 2000);
  t.true(
    emitted.some((e) => e.scope === 'local' && e.to === 'down'),
    'both scopes are on the bus',
  );
  const logged = lines.filter((l) => l.event?.type === 'health' && l.event?.node === 'dead');
  t.deepEqual(
    logged.map((l) => `${l.event.scope} ${l.event.to}`),
    ['local down'],
  );
});
