/**
 * Hand-written hostile inputs, one per thing issue 9 fixed plus the framing Baton always
 * refused, against the fuzz target's routes (target.ts): `*.fuzz.test` + `/api`, `/api`,
 * `/files` (stripPath) and `/`. The suite (test/hostile/fuzz.test.ts) sends each to a real
 * `baton start` process, expects the statuses listed, and runs the differential oracle
 * (check.ts) over it. The behaviour behind each case is specified in detail by the test file
 * named in `pinned`; this table is the same ground seen from outside the process.
 */

export interface CorpusCase {
  readonly name: string;
  /** Where the behaviour is specified in detail. */
  readonly pinned: string;
  /** Data port or admin API. */
  readonly port: 'data' | 'admin';
  readonly bytes: string;
  /** The statuses of the final answers, in order; the connection may close after them. */
  readonly statuses: readonly number[];
}

const id = (name: string) => `X-Request-Id: fz-0-${name}\r\n`;
const smuggled =
  'GET /api/smuggled HTTP/1.1\r\nHost: fuzz.test\r\nX-Request-Id: fz-0-smuggled\r\nX-Baton-Epoch: 999\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n';
const chunk = (body: string) => `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
const ws =
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

export const corpus: readonly CorpusCase[] = [
  // 1. Every forwarded body is framed; unsupported codings get 501.
  ...['GET', 'HEAD', 'DELETE', 'OPTIONS'].map((method) => ({
    name: `chunked ${method} whose chunk is a request (forged epoch and X-Forwarded-For)`,
    pinned: 'test/hostile/framing.test.ts',
    port: 'data' as const,
    bytes: `${method} /api/x HTTP/1.1\r\nHost: fuzz.test\r\n${id(`c1-${method}`)}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk(smuggled)}`,
    statuses: [200],
  })),
  {
    name: 'Transfer-Encoding: gzip, chunked',
    pinned: 'test/hostile/framing.test.ts',
    port: 'data',
    bytes: `POST /api/x HTTP/1.1\r\nHost: fuzz.test\r\n${id('gzip')}Transfer-Encoding: gzip, chunked\r\n\r\n${chunk('hello')}`,
    statuses: [501],
  },
  // The framing Node's strict parser or the gateway always refused.
  {
    name: 'Content-Length with Transfer-Encoding',
    pinned: 'test/hostile/framing.test.ts',
    port: 'data',
    bytes: `POST /api/x HTTP/1.1\r\nHost: fuzz.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    statuses: [400],
  },
  {
    name: 'two different Content-Lengths',
    pinned: 'test/hostile/framing.test.ts',
    port: 'data',
    bytes: `POST /api/x HTTP/1.1\r\nHost: fuzz.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
    statuses: [400],
  },
  {
    name: 'Content-Length: +5',
    pinned: 'test/hostile/fuzz.test.ts',
    port: 'data',
    bytes: `POST /api/x HTTP/1.1\r\nHost: fuzz.test\r\nContent-Length: +5\r\n\r\nhello`,
    statuses: [400],
  },
  {
    name: 'Transfer-Encoding: chunked twice',
    pinned: 'test/hostile/framing.test.ts',
    port: 'data',
    bytes: `POST /api/x HTTP/1.1\r\nHost: fuzz.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    statuses: [400],
  },
  {
    name: 'Transfer-Encoding: identity',
    pinned: 'test/hostile/framing.test.ts',
    port: 'data',
    bytes: `POST /api/x HTTP/1.1\r\nHost: fuzz.test\r\nTransfer-Encoding: identity\r\n\r\nhello`,
    statuses: [400],
  },
  {
    name: 'a chunk size that is not hex',
    pinned: 'test/hostile/framing.test.ts',
    port: 'data',
    bytes: `POST /api/x HTTP/1.1\r\nHost: fuzz.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
    statuses: [400],
  },
  {
    name: 'an obs-folded header',
    pinned: 'test/hostile/framing.test.ts',
    port: 'data',
    bytes: `GET /api/x HTTP/1.1\r\nHost: fuzz.test\r\nX-Folded: a\r\n b\r\n\r\n`,
    statuses: [400],
  },
  {
    name: 'a space before the colon',
    pinned: 'test/hostile/framing.test.ts',
    port: 'data',
    bytes: `POST /api/x HTTP/1.1\r\nHost: fuzz.test\r\nContent-Length : 5\r\n\r\nhello`,
    statuses: [400],
  },
  {
    name: 'bare LF line endings',
    pinned: 'test/hostile/framing.test.ts',
    port: 'data',
    bytes: `GET /api/x HTTP/1.1\nHost: fuzz.test\n\n`,
    statuses: [400],
  },
  {
    name: 'TRACE',
    pinned: 'test/proxy/forwarding.test.ts',
    port: 'data',
    bytes: `TRACE /api/x HTTP/1.1\r\nHost: fuzz.test\r\n${id('trace')}Cookie: secret=1\r\n\r\n`,
    statuses: [405],
  },
  // No 'connect' listener: Node closes the connection without an answer.
  {
    name: 'CONNECT',
    pinned: 'test/hostile/fuzz.test.ts',
    port: 'data',
    bytes: `CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n${id('connect')}\r\n`,
    statuses: [],
  },
  {
    name: 'no Host in HTTP/1.1',
    pinned: 'test/hostile/host.test.ts',
    port: 'data',
    bytes: `GET /api/x HTTP/1.1\r\n${id('nohost')}\r\n`,
    statuses: [400],
  },
  // 2. Websockets run the HTTP path: on a plain route a handshake is a plain request.
  {
    name: 'a websocket handshake on a plain route',
    pinned: 'test/hostile/upgrade.test.ts',
    port: 'data',
    bytes: `GET /api/ws HTTP/1.1\r\nHost: fuzz.test\r\n${id('ws')}${ws}\r\n`,
    statuses: [200],
  },
  {
    name: 'a websocket handshake that declares a body',
    pinned: 'test/hostile/upgrade.test.ts',
    port: 'data',
    bytes: `GET /api/ws HTTP/1.1\r\nHost: fuzz.test\r\n${id('ws-body')}${ws}Content-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
    statuses: [200],
  },
  // 3. Upgrades on plain routes are plain requests.
  {
    name: 'h2c GET (curl --http2)',
    pinned: 'test/hostile/upgrade.test.ts',
    port: 'data',
    bytes: `GET /api/h2c HTTP/1.1\r\nHost: fuzz.test\r\n${id('h2c')}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n`,
    statuses: [200],
  },
  {
    name: 'h2c POST with a chunked body, then a pipelined GET',
    pinned: 'test/hostile/upgrade.test.ts',
    port: 'data',
    bytes: `POST /api/h2c HTTP/1.1\r\nHost: fuzz.test\r\n${id('h2c-post')}Connection: upgrade\r\nUpgrade: h2c\r\nTransfer-Encoding: chunked\r\n\r\n${chunk('hello')}GET /api/next HTTP/1.1\r\nHost: fuzz.test\r\n${id('h2c-next')}\r\n`,
    statuses: [200, 200],
  },
  // 4. Host is a host.
  ...['evil.test/.fuzz.test', 'a.fuzz.test:1@evil.test', 'evil.test\\.fuzz.test', 'evil.test,a.fuzz.test'].map(
    (host) => ({
      name: `Host ${JSON.stringify(host)}`,
      pinned: 'test/hostile/host.test.ts',
      port: 'data' as const,
      bytes: `GET /api/x HTTP/1.1\r\nHost: ${host}\r\n${id('host')}\r\n`,
      statuses: [400],
    }),
  ),
  {
    name: 'an absolute-form target whose authority is not Host',
    pinned: 'test/hostile/host.test.ts',
    port: 'data',
    bytes: `GET http://evil.test/api/x HTTP/1.1\r\nHost: a.fuzz.test\r\n${id('absolute')}\r\n`,
    statuses: [400],
  },
  // 5. A prefix route confines.
  ...['/api/..%2Fadmin', '/api/..;/admin', '/api%2F..%2Fadmin', '/api/%2e%2e#x', '/files/..%2F..%2Fetc/passwd'].map(
    (target) => ({
      name: `GET ${target}`,
      pinned: 'test/hostile/paths.test.ts',
      port: 'data' as const,
      bytes: `GET ${target} HTTP/1.1\r\nHost: fuzz.test\r\n${id('path')}\r\n`,
      statuses: [400],
    }),
  ),
  {
    name: 'visible dot segments are resolved before routing',
    pinned: 'test/hostile/paths.test.ts',
    port: 'data',
    bytes: `GET /api/../files/%2e%2e/x HTTP/1.1\r\nHost: fuzz.test\r\n${id('dots')}\r\n`,
    statuses: [200],
  },
  // 6. Header hygiene.
  {
    name: 'underscore spellings of owned headers, a Connection-listed header',
    pinned: 'test/hostile/headers.test.ts',
    port: 'data',
    bytes: `GET /api/x HTTP/1.1\r\nHost: fuzz.test\r\n${id('underscores')}X_Forwarded_For: 10.0.0.1\r\nX_Baton_Epoch: 999\r\nX_Real_IP: 10.0.0.1\r\nConnection: keep-alive\r\nConnection: x-secret\r\nX-Secret: 1\r\n\r\n`,
    statuses: [200],
  },
  {
    name: 'a Connection header naming Content-Length',
    pinned: 'test/hostile/headers.test.ts',
    port: 'data',
    bytes: `POST /api/x HTTP/1.1\r\nHost: fuzz.test\r\n${id('conn-cl')}Connection: content-length\r\nContent-Length: 5\r\n\r\nhello`,
    statuses: [400],
  },
  // 7. Bodies end cleanly: over maxBody (64 KiB here) before any node.
  {
    name: 'a Content-Length over maxBody',
    pinned: 'test/hostile/slow-client.test.ts',
    port: 'data',
    bytes: `POST /api/x HTTP/1.1\r\nHost: fuzz.test\r\n${id('big')}Content-Length: 70000\r\n\r\nabc`,
    statuses: [413],
  },
  // Pipelining: in turn, and nothing behind an answer that closes the connection.
  {
    name: 'two requests behind a 400 that closes the connection',
    pinned: 'test/hostile/pipelining.test.ts',
    port: 'data',
    bytes: `POST /%zz HTTP/1.1\r\nHost: fuzz.test\r\n${id('p400')}Content-Length: 5\r\n\r\nhelloDELETE /api/q1 HTTP/1.1\r\nHost: fuzz.test\r\n${id('pq1')}\r\nGET /api/q2 HTTP/1.1\r\nHost: fuzz.test\r\n${id('pq2')}\r\n`,
    statuses: [400],
  },
  {
    name: 'three pipelined requests with bodies',
    pinned: 'test/hostile/pipelining.test.ts',
    port: 'data',
    bytes: ['a', 'b', 'c']
      .map(
        (n) =>
          `POST /api/${n} HTTP/1.1\r\nHost: fuzz.test\r\n${id(`pipe-${n}`)}Content-Length: 3\r\n\r\n${n.repeat(3)}`,
      )
      .join(''),
    statuses: [200, 200, 200],
  },
  // 8. The admin API cannot be driven from a browser.
  {
    name: 'admin: a page elsewhere posts a drain (CORS simple request)',
    pinned: 'test/hostile/admin.test.ts',
    port: 'admin',
    bytes: `POST /pools/api/nodes/api/drain HTTP/1.1\r\nHost: 127.0.0.1:ADMIN\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx`,
    statuses: [403],
  },
  {
    name: 'admin: DNS rebinding reads /status',
    pinned: 'test/hostile/admin.test.ts',
    port: 'admin',
    bytes: `GET /status HTTP/1.1\r\nHost: evil.example:ADMIN\r\nConnection: close\r\n\r\n`,
    statuses: [403],
  },
  {
    name: 'admin: a form post without Origin',
    pinned: 'test/hostile/admin.test.ts',
    port: 'admin',
    bytes: `POST /pools/api/nodes/api/drain HTTP/1.1\r\nHost: 127.0.0.1:ADMIN\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=1`,
    statuses: [415],
  },
];
