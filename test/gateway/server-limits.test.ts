import test from 'ava';
import net from 'node:net';
import { startGateway } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';

/** Writes raw bytes to the gateway; resolves what came back when the server closes or after `ms`. */
function raw(url: string, text: string, ms = 3000): Promise<{ data: string; closedAfter: number }> {
  const { port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(text));
    let data = '';
    const done = () => resolve({ data, closedAfter: Date.now() - started });
    socket.on('data', (chunk) => (data += chunk));
    socket.on('close', done);
    socket.on('error', () => {});
    setTimeout(() => socket.destroy(), ms);
  });
}

async function gateway(t: Parameters<typeof startGateway>[0], server: object) {
  const up = await startUpstream('up');
  t.teardown(() => up.close());
  return startGateway(t, {
    server,
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [{ path: '/', pool: 'web' }],
  });
}

test('headers that do not arrive within headersTimeout: 408 and the connection is closed (slowloris)', async (t) => {
  const { url } = await gateway(t, { headersTimeout: '500ms', requestTimeout: '2s' });
  const reply = await raw(url, 'GET / HTTP/1.1\r\nHost: x\r\n', 5000);
  t.regex(reply.data, /^HTTP\/1.1 408/);
  t.true(reply.closedAfter < 2500, `closed after ${reply.closedAfter} ms`);
});

test('request headers larger than maxHeaderSize: 431', async (t) => {
  const { url } = await gateway(t, { maxHeaderSize: '4kb' });
  const reply = await raw(url, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
  t.regex(reply.data, /^HTTP\/1.1 431/);
});

test('Expect: 100-continue is answered by the gateway; an unknown expectation gets 417', async (t) => {
  const { url } = await gateway(t, {});
  const continued = await raw(
    url,
    'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok',
    3000,
  );
  t.regex(continued.data, /^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 200/);
  t.regex(continued.data, /"bytes":2/, 'the body reached the upstream');
  const unknown = await raw(
    url,
    'POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
  );
  t.regex(unknown.data, /^HTTP\/1.1 417/);
});

test('Content-Length together with Transfer-Encoding is refused (request smuggling)', async (t) => {
  const { url } = await gateway(t, {});
  const reply = await raw(
    url,
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  );
  t.regex(reply.data, /^HTTP\/1.1 400/);
});
