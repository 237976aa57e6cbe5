import test, { type ExecutionContext } from 'ava';
import http2 from 'node:http2';
import tls from 'node:tls';
import { makePki, type Issued, type TestPki } from '../helpers/certificates.ts';
import { startGateway } from '../helpers/gateway.ts';
import { settingsFor } from '../helpers/settings.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

/**
 * The slow-client timeouts of HTTP/1.1 (server.headersTimeout, requestTimeout, sendTimeout)
 * per HTTP/2 stream and header block: only the late stream or connection is cut, its
 * neighbours go on. Real TLS gateway, real h2 clients (raw frames for the header block).
 */

let pki: TestPki;
let cert: Issued;
test.before(async () => {
  pki = makePki();
  cert = await pki.server('h2t', ['127.0.0.1', 'localhost']);
});
test.after.always(() => pki?.remove());

const BIG = Buffer.alloc(4 * 1024 * 1024, 'b');

function startSite(): Promise<Upstream> {
  return startUpstream('site', (req, res) => {
    if (req.url === '/big') res.end(BIG);
    else res.end(`fine ${req.url}`);
  });
}

/**
 * Timeouts are short to keep the tests quick, but a headersTimeout under 2 s is not: a TLS
 * handshake must finish within it, which a busy machine may not manage.
 */
function config(up: Upstream, server: Record<string, unknown>) {
  return {
    listen: { host: '127.0.0.1', port: 0, tls: { cert: cert.certFile, key: cert.keyFile } },
    pools: { web: { policy: 'round-robin', nodes: [{ url: up.url }], health: false } },
    routes: [{ path: '/', pool: 'web' }],
    // A long keep-alive: what closes a connection here is never the idle timer.
    server: { drainTimeout: '1s', keepAliveTimeout: '30s', ...server },
  };
}

function connect(url: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url, { ca: pki.ca.cert });
  session.on('error', () => {});
  return new Promise((resolve) =>
    session.once('connect', () => {
      // A wide connection window: a stream the client leaves unread must not block the others.
      session.setLocalWindowSize(64 * 1024 * 1024);
      resolve(session);
    }),
  );
}

function get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let status = 0;
    let body = '';
    stream.on('response', (head) => (status = Number(head[':status'])));
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
  });
}

/** Resolves with what happened to a stream: its status (if any) and reset code, and when it closed. */
function outcome(
  stream: http2.ClientHttp2Stream,
  started: number,
): Promise<{ status: number; rst: number; ms: number }> {
  return new Promise((resolve) => {
    let status = 0;
    stream.on('response', (head) => (status = Number(head[':status'])));
    stream.on('error', () => {});
    stream.once('close', () => resolve({ status, rst: stream.rstCode ?? -1, ms: performance.now() - started }));
  });
}

/** A POST whose body starts and never ends; what became of it, timed from its start. */
function unfinishedPost(session: http2.ClientHttp2Session): Promise<{ status: number; rst: number; ms: number }> {
  const started = performance.now();
  const slow = session.request({ ':method': 'POST', ':path': '/upload' }, { endStream: false });
  slow.write('the start of a body that never ends');
  return outcome(slow, started);
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

test('a stream whose request body never ends gets 408 after requestTimeout; the same connection serves another stream meanwhile and after', async (t) => {
  t.timeout(40_000);
  const up = await startSite();
  t.teardown(() => up.close());
  const { url } = await startGateway(t, config(up, { headersTimeout: '2s', requestTimeout: '2s' }));
  const session = await connect(url);
  t.teardown(() => session.destroy());
  const slowOutcome = unfinishedPost(session);
  const other = await get(session, '/meanwhile');
  t.deepEqual(other, { status: 200, body: 'fine /meanwhile' });
  const result = await within(slowOutcome, 15_000, 'the unfinished request');
  t.is(result.status, 408);
  t.true(result.ms >= 1600, `answered after ${Math.round(result.ms)} ms, not before requestTimeout`);
  t.false(session.destroyed || session.closed, 'the connection stays open');
  t.deepEqual(await get(session, '/after'), { status: 200, body: 'fine /after' });
});

test('a stream whose client reads none of a large response is reset after sendTimeout; the connection and its other streams go on', async (t) => {
  t.timeout(40_000);
  const up = await startSite();
  t.teardown(() => up.close());
  const { url } = await startGateway(t, config(up, { sendTimeout: '400ms', http2: { maxPings: 1000 } }));
  const session = await connect(url);
  t.teardown(() => session.destroy());
  const started = performance.now();
  const stalled = session.request({ ':path': '/big' });
  // Never read: node stops granting window, and the gateway's stream window falls to 0.
  stalled.on('response', () => stalled.pause());
  const stalledOutcome = outcome(stalled, started);
  // The connection itself stays busy (PINGs answered, other streams served): the stall is
  // this stream's alone, as it is on a connection shared with a page's other requests.
  const busy = setInterval(() => session.ping(() => {}), 50);
  t.teardown(() => clearInterval(busy));
  const others: Promise<{ status: number; body: string }>[] = [];
  const more = setInterval(() => others.push(get(session, `/other${others.length}`)), 100);
  t.teardown(() => clearInterval(more));
  const result = await within(stalledOutcome, 15_000, 'the unread stream');
  clearInterval(busy);
  clearInterval(more);
  t.is(result.status, 200);
  t.is(result.rst, http2.constants.NGHTTP2_CANCEL);
  t.true(result.ms >= 300, `reset after ${Math.round(result.ms)} ms, not before sendTimeout`);
  for (const reply of await Promise.all(others)) t.is(reply.status, 200);
  t.false(session.destroyed || session.closed, 'the connection stays open');
  t.deepEqual(await get(session, '/after'), { status: 200, body: 'fine /after' });
});

test('streams the gateway resets for sendTimeout do not count as client resets (server.http2.maxResets)', async (t) => {
  t.timeout(40_000);
  const up = await startSite();
  t.teardown(() => up.close());
  const { url } = await startGateway(
    t,
    config(up, { sendTimeout: '400ms', http2: { maxResets: 1, floodWindow: '1m' } }),
  );
  const session = await connect(url);
  t.teardown(() => session.destroy());
  const started = performance.now();
  const stalled = [0, 1, 2].map(() => {
    const stream = session.request({ ':path': '/big' });
    stream.on('response', () => stream.pause());
    return outcome(stream, started);
  });
  for (const result of await within(Promise.all(stalled), 15_000, 'the unread streams'))
    t.is(result.rst, http2.constants.NGHTTP2_CANCEL);
  t.false(session.destroyed || session.closed, 'the connection stays open');
  t.deepEqual(await get(session, '/after'), { status: 200, body: 'fine /after' });
});

/** An HTTP/2 frame: 9-byte header (length, type, flags, stream id) and payload. */
function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const PING = 0x6;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;

test('a header block trickled in CONTINUATION frames closes the connection after headersTimeout, even if the client never closes its side', async (t) => {
  t.timeout(40_000);
  const up = await startSite();
  t.teardown(() => up.close());
  const { url } = await startGateway(t, config(up, { headersTimeout: '2s' }));
  const socket = tls.connect({
    host: '127.0.0.1',
    port: Number(new URL(url).port),
    ca: pki.ca.cert,
    servername: 'localhost',
    ALPNProtocols: ['h2'],
  });
  // A hostile client: the server's FIN does not make it close its own side.
  socket.allowHalfOpen = true;
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  t.is(socket.alpnProtocol, 'h2');
  const received: Buffer[] = [];
  socket.on('data', (data: Buffer) => received.push(data));
  const ended = new Promise<number>((resolve) => socket.once('end', () => resolve(performance.now())));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  const started = performance.now();
  socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  socket.write(frame(SETTINGS, 0, 0, Buffer.alloc(0)));
  // HPACK: :method GET, :scheme https, :path /, then a literal header `x-slow` whose 100-byte
  // value comes one byte per CONTINUATION frame, none with END_HEADERS. At most 7 of them:
  // nghttp2 itself closes a connection after 8 in one block (CVE-2024-27316), however slow.
  socket.write(
    frame(HEADERS, END_STREAM, 1, Buffer.from([0x82, 0x87, 0x84, 0x40, 0x06, ...Buffer.from('x-slow'), 100])),
  );
  let continuations = 0;
  let finReceived = false;
  void ended.then(() => (finReceived = true));
  const trickle = setInterval(() => {
    if (socket.destroyed) return;
    // Until the server's FIN, the header block goes on; after it, bytes the server must refuse
    // (a socket only half-closed would take them in silence).
    if (finReceived) socket.write(frame(CONTINUATION, 0, 1, Buffer.from('a')));
    else if (continuations < 7) {
      socket.write(frame(CONTINUATION, 0, 1, Buffer.from('a')));
      continuations += 1;
    }
  }, 250);
  t.teardown(() => clearInterval(trickle));
  const endedAt = await within(ended, 15_000, 'the trickled header block (FIN)');
  const closedAt = await within(closed, 15_000, 'the half-open connection (reset)');
  clearInterval(trickle);
  t.true(endedAt - started >= 1600, `closed after ${Math.round(endedAt - started)} ms, not before headersTimeout`);
  t.true(closedAt >= endedAt);
  // A GOAWAY PROTOCOL_ERROR came before the close (the server sent few frames: walk them).
  const bytes = Buffer.concat(received);
  const goaways: number[] = [];
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3))
    if (bytes[at + 3] === GOAWAY && at + 17 <= bytes.length) goaways.push(bytes.readUInt32BE(at + 13));
  t.true(goaways.includes(http2.constants.NGHTTP2_PROTOCOL_ERROR), `GOAWAY codes ${goaways.join(', ')}`);
});

/** A raw h2 client over TLS that answers the server's SETTINGS and PINGs, and collects its frames. */
async function rawClient(t: ExecutionContext, url: string) {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: Number(new URL(url).port),
    ca: pki.ca.cert,
    servername: 'localhost',
    ALPNProtocols: ['h2'],
  });
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  const frames: Array<{ type: number; flags: number; id: number; payload: Buffer }> = [];
  const waiters: Array<() => void> = [];
  let pending = Buffer.alloc(0);
  socket.on('data', (data: Buffer) => {
    pending = Buffer.concat([pending, data]);
    while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
      const length = pending.readUIntBE(0, 3);
      const got = {
        type: pending.readUInt8(3),
        flags: pending.readUInt8(4),
        id: pending.readUInt32BE(5) & 0x7fffffff,
        payload: pending.subarray(9, 9 + length),
      };
      pending = pending.subarray(9 + length);
      frames.push(got);
      if (got.type === SETTINGS && !(got.flags & ACK)) socket.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
      if (got.type === PING && !(got.flags & ACK)) socket.write(frame(PING, ACK, 0, got.payload));
    }
    for (const wake of waiters.splice(0)) wake();
  });
  socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  socket.write(frame(SETTINGS, 0, 0, Buffer.alloc(0)));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    frames,
    /** Resolves with the first frame (in order of arrival) that matches. */
    async frame(match: (f: (typeof frames)[number]) => boolean, what: string) {
      const look = async () => {
        for (;;) {
          const found = frames.find(match);
          if (found) return found;
          if (socket.destroyed) throw new Error(`${what}: the connection closed first`);
          await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), closed]);
        }
      };
      return within(look(), 15_000, what);
    },
  };
}

/** HPACK for GET https://localhost{path} (literals without indexing, no Huffman), and extra literal headers. */
function request(path: string, extra: Array<[string, string]> = []): Buffer {
  const literal = (name: string, value: string) =>
    Buffer.concat([
      Buffer.from([0x00, name.length]),
      Buffer.from(name),
      Buffer.from([value.length]),
      Buffer.from(value),
    ]);
  return Buffer.concat([
    Buffer.from([0x82, 0x87]),
    Buffer.from([0x04, path.length]),
    Buffer.from(path),
    Buffer.from([0x01, 'localhost'.length]),
    Buffer.from('localhost'),
    ...extra.map(([name, value]) => literal(name, value)),
  ]);
}

test('a header block refused once complete does not count as incomplete: the connection and its other streams go on past headersTimeout', async (t) => {
  t.timeout(40_000);
  const up = await startUpstream('site', (req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('fine /slow'), 5000);
    else res.end(`fine ${req.url}`);
  });
  t.teardown(() => up.close());
  const { url } = await startGateway(t, config(up, { headersTimeout: '2s' }));
  const client = await rawClient(t, url);
  client.socket.write(frame(HEADERS, END_STREAM | END_HEADERS, 1, request('/slow')));
  // An upper-case field name makes the request malformed (RFC 9113 §8.2.1): nghttp2 resets the
  // stream as its block is decoded, and node never announces it.
  client.socket.write(frame(HEADERS, END_STREAM | END_HEADERS, 3, request('/bad', [['X-Bad', 'v']])));
  const reset = await client.frame((f) => f.type === RST_STREAM && f.id === 3, 'the malformed request');
  t.is(reset.payload.readUInt32BE(0), http2.constants.NGHTTP2_PROTOCOL_ERROR);
  // Stream 1 is answered after 5 s, well past headersTimeout, and the connection stays.
  const end = await client.frame(
    (f) => f.type === DATA && f.id === 1 && (f.flags & END_STREAM) !== 0,
    'the slow answer',
  );
  t.truthy(end);
  client.socket.write(frame(PING, 0, 0, Buffer.from('stillok!')));
  const pong = await client.frame(
    (f) => f.type === PING && (f.flags & ACK) !== 0 && f.payload.toString() === 'stillok!',
    'PING ACK',
  );
  t.truthy(pong);
  t.false(
    client.frames.some((f) => f.type === GOAWAY),
    'no GOAWAY',
  );
});

test('a reload that shortens requestTimeout holds for HTTP/2 streams too', async (t) => {
  t.timeout(40_000);
  const up = await startSite();
  t.teardown(() => up.close());
  const { url, gateway } = await startGateway(t, config(up, { headersTimeout: '2s', requestTimeout: '5m' }));
  gateway.reload(settingsFor(config(up, { headersTimeout: '2s', requestTimeout: '2s' })));
  const session = await connect(url);
  t.teardown(() => session.destroy());
  const result = await within(unfinishedPost(session), 15_000, 'the unfinished request after the reload');
  t.is(result.status, 408);
  t.true(result.ms >= 1600, `answered after ${Math.round(result.ms)} ms, not before requestTimeout`);
});
