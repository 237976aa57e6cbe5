import test from 'ava';
import { startGateway } from '../helpers/gateway.ts';
import { request } from '../helpers/http.ts';
import { startUpstream } from '../helpers/upstream.ts';

// A retryable status is held back from the client only when a retry can happen and a node
// could take it. Asking that must not cost a pick: a stateful policy's pick moves it on.

test('a held 503 does not move round-robin on: each request costs one pick per attempt', async (t) => {
  const busy = await startUpstream('a', (_req, res) => {
    res.writeHead(503, { 'content-length': 0 });
    res.end();
  });
  const b = await startUpstream('b');
  const c = await startUpstream('c');
  t.teardown(() => Promise.all([busy.close(), b.close(), c.close()]));
  const attempts: string[] = [];
  const { url } = await startGateway(
    t,
    {
      pools: {
        web: {
          policy: 'round-robin',
          nodes: [
            { url: busy.url, id: 'a' },
            { url: b.url, id: 'b' },
            { url: c.url, id: 'c' },
          ],
          health: false,
          passive: false,
          hedge: false,
          retry: { attempts: 2 },
        },
      },
      routes: [{ path: '/', pool: 'web' }],
    },
    { onAttempt: (_pool, node) => attempts.push(node.id) },
  );
  for (let i = 0; i < 4; i++) t.is((await request(`${url}/x`)).status, 200);
  // Round-robin's counter n picks candidates[n % length] and moves by one per pick:
  // n=0 a of [a,b,c] (503, held), n=1 c of [b,c]; n=2 c; n=3 a (503, held), n=4 b of [b,c]; n=5 c.
  // A probing pick per held 503 would make every request start on a: a b, a c, a b, a c.
  t.deepEqual(attempts, ['a', 'c', 'c', 'a', 'b', 'c']);
});
