import test from 'ava';
import http from 'node:http';
import { startGateway } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { eventually, request } from '../helpers/http.ts';

test('stop() lets in-flight requests finish with Connection: close and refuses new connections', async (t) => {
  const up = await startUpstream('up', (req, res) =>
    setTimeout(() => res.end(`done ${req.url}`), req.url === '/slow' ? 400 : 0),
  );
  t.teardown(() => up.close());
  const { url, gateway, stop } = await startGateway(t, {
    server: { drainTimeout: '5s' },
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const agent = new http.Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const slow = request(`${url}/slow`, { agent });
  await eventually(() => gateway.inflightRequests === 1, 1000);
  const stopping = stop();
  await t.throwsAsync(request(`${url}/new`), { code: 'ECONNREFUSED' }, 'no new connections once draining');
  const reply = await slow;
  t.is(reply.status, 200);
  t.is(reply.body, 'done /slow');
  t.is(reply.headers.connection, 'close', 'the keep-alive client is told to close');
  await stopping;
});

test('stop() gives up on requests that outlast the drain timeout', async (t) => {
  const up = await startUpstream('up', () => {
    /* never answers */
  });
  t.teardown(() => up.close());
  const { url, gateway, stop } = await startGateway(t, {
    server: { drainTimeout: 300 },
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [{ path: '/', pool: 'web' }],
  });
  const hung = request(`${url}/hang`);
  await eventually(() => gateway.inflightRequests === 1, 1000);
  const started = Date.now();
  await stop();
  const took = Date.now() - started;
  t.true(took >= 250 && took < 1500, `stopped after ${took}ms`);
  await t.throwsAsync(hung);
});
