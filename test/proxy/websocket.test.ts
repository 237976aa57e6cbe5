import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/http.ts';

/** An upstream that accepts websocket handshakes and echoes every byte back, upper-cased. */
async function echoUpstream(): Promise<{
  url: string;
  sockets: Set<net.Socket>;
  headers: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  const headers: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req, socket: net.Socket) => {
    headers.push(req.headers);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('end', () => socket.end());
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: test\r\n\r\n',
    );
    socket.on('data', (data) => socket.write(data.toString().toUpperCase()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets,
    headers,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Opens a raw handshake through the gateway; resolves the socket and the response head. */
function handshake(url: string, path: string): Promise<{ socket: net.Socket; head: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    let data = '';
    const onData = (chunk: Buffer) => {
      data += chunk.toString();
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      resolve({ socket, head: data.slice(0, end) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

function nextData(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => socket.once('data', (d) => resolve(d.toString())));
}

test('websocket routes tunnel bytes both ways; on other routes a handshake is a plain request', async (t) => {
  const up = await echoUpstream();
  t.teardown(() => up.close());
  const { url, gateway } = await startGateway(t, {
    pools: { ws: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [
      { path: '/ws', pool: 'ws', websocket: true },
      { path: '/', pool: 'ws' },
    ],
  });
  const { socket, head } = await handshake(url, '/ws/chat');
  t.teardown(() => socket.destroy());
  t.regex(head, /^HTTP\/1.1 101/);
  t.is(up.headers[0]!.upgrade, 'websocket');
  t.is(up.headers[0]!['x-forwarded-for'], '127.0.0.1');
  socket.write('hello');
  t.is(await nextData(socket), 'HELLO');
  t.is(gateway.pools.get('ws')!.node(new URL(up.url).host)!.inflight, 1);

  const plain = await handshake(url, '/other');
  t.regex(plain.head, /^HTTP\/1.1 200/);
  t.is(up.headers.length, 1, 'the upstream saw no second handshake');
  plain.socket.destroy();
});

test('closing either end closes the other; shutdown closes open tunnels', async (t) => {
  const up = await echoUpstream();
  t.teardown(() => up.close());
  const { url, stop } = await startGateway(t, {
    pools: { ws: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [{ path: '/', pool: 'ws', websocket: true }],
  });
  const first = await handshake(url, '/');
  first.socket.destroy();
  await eventually(() => up.sockets.size === 0, 1000);

  const second = await handshake(url, '/');
  const closed = new Promise<void>((resolve) => second.socket.once('close', () => resolve()));
  second.socket.on('error', () => {});
  await stop();
  await closed;
  await eventually(() => up.sockets.size === 0, 1000);
  t.pass();
});

test('a websocket node that refuses connections gets a 502 answer', async (t) => {
  const { url } = await startGateway(t, {
    pools: { ws: { policy: 'round-robin', nodes: [{ url: 'http://127.0.0.1:1' }], health: false } },
    routes: [{ path: '/', pool: 'ws', websocket: true }],
  });
  const { socket, head } = await handshake(url, '/');
  socket.destroy();
  t.regex(head, /^HTTP\/1.1 502/);
});
