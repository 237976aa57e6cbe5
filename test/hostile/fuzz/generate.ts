import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/**
 * The differential fuzzer's input generator: from one 32-bit seed, the bytes of one client
 * connection, one to three pipelined requests whose framing is mutated the way request
 * smuggling and desync attacks do it (methods, versions, header order and case, CL/TE
 * combinations, chunk sizes and extensions, line endings, paths with encodings and dot
 * segments, Hosts). The same seed always gives the same bytes, so a finding is replayed by its
 * seed alone.
 *
 * Every request head carries `X-Request-Id: fz-<seed>-<n>` (Baton keeps a sane client id), and
 * a body may itself be a request (`fz-<seed>-s<n>`): whatever an upstream parses is told apart
 * by that id and matched against the access log and the reference parse (check.ts).
 */

export interface FuzzInput {
  readonly seed: number;
  /** The connection's bytes, in the writes the client makes. */
  readonly writes: readonly Buffer[];
  /** Once its answers are in (or after a second), the client ends its side; otherwise it just leaves. */
  readonly halfClose: boolean;
  /** What was mutated, for a human reading a finding. */
  readonly notes: readonly string[];
}

type Rng = ReturnType<typeof xoroshiro128plus>;

class Choices {
  readonly #rng: Rng;
  readonly notes: string[] = [];

  constructor(seed: number) {
    this.#rng = xoroshiro128plus(seed);
  }

  int(from: number, to: number): number {
    return uniformInt(this.#rng, from, to);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.int(0, 9999) < p * 10_000;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  note(what: string): void {
    this.notes.push(what);
  }
}

const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const oddMethods = ['get', 'Post', 'CONNECT', 'TRACE', 'PROPFIND', 'G ET', 'GET\t', 'X'.repeat(40)];
const versions = [
  'HTTP/1.1',
  'HTTP/1.1',
  'HTTP/1.1',
  'HTTP/1.1',
  'HTTP/1.0',
  'HTTP/1.2',
  'HTTP/2.0',
  'http/1.1',
  'HTTP/1.1 ',
  'HTTP/01.1',
];

const prefixes = ['/api', '/files', '/', '/other', '/apix', '/API'];
const segments = [
  'x',
  'users',
  '..',
  '.',
  '%2e%2e',
  '%2E',
  '.%2e',
  '%2F',
  '%2f',
  '%5C',
  '\\',
  '..;',
  ';v=1',
  'a;b',
  '',
  '%00',
  '%zz',
  '%252F',
  '@scope%2Fname',
  'a%20b',
  '%',
  '~',
  '*',
  '%C0%AE',
  'é',
];
const queries = ['', '', '?q=1', '?q=../..%2F', '?', '#frag', '?a=%2F&b=..'];

function path(c: Choices): string {
  if (c.chance(0.03)) return c.pick(['*', '', 'api/x', '//evil.test/x', '/%2e%2e/%2e%2e/etc/passwd']);
  let out = c.pick(prefixes);
  const count = c.int(0, 4);
  for (let i = 0; i < count; i++) out += `${out.endsWith('/') ? '' : '/'}${c.pick(segments)}`;
  out += c.pick(queries);
  if (c.chance(0.08)) {
    const host = c.pick(['fuzz.test', 'a.fuzz.test', 'evil.test', 'a.fuzz.test:1@evil.test', '']);
    out = `${c.pick(['http', 'https', 'HTTP', 'ftp'])}://${host}${out.startsWith('/') ? out : `/${out}`}`;
    c.note('absolute-form target');
  }
  return out;
}

const goodHosts = ['fuzz.test', 'a.fuzz.test', 'A.Fuzz.Test:8080', '127.0.0.1', '[::1]:80', 'b.fuzz.test.'];
const badHosts = [
  'evil.test/.fuzz.test',
  'a.fuzz.test:1@evil.test',
  'evil.test?.fuzz.test',
  'evil.test#.fuzz.test',
  'evil.test\\.fuzz.test',
  'evil.test .fuzz.test',
  'evil.test,a.fuzz.test',
  '',
  'a.fuzz.test:65536',
  'a..fuzz.test',
  '[::1',
  'a%2f.fuzz.test',
  'a_b.fuzz.test',
];

/** Header names Baton owns, replaces or drops, in spellings a client might try. */
const owned = [
  'X-Forwarded-For',
  'X_Forwarded_For',
  'X-Forwarded-Host',
  'x_forwarded_host',
  'X-Real-IP',
  'X_Real_IP',
  'X-Baton-Epoch',
  'X_Baton_Epoch',
  'Forwarded',
  'Proxy-Connection',
  'Keep-Alive',
  'TE',
  'Trailer',
  'Transfer_Encoding',
  'Content_Length',
];

function recase(c: Choices, name: string): string {
  switch (c.int(0, 5)) {
    case 0:
      return name.toLowerCase();
    case 1:
      return name.toUpperCase();
    case 2:
      return [...name].map((ch) => (c.chance(0.5) ? ch.toUpperCase() : ch.toLowerCase())).join('');
    default:
      return name;
  }
}

type Line = [name: string, value: string] | { raw: string };

/** A body that, sent unframed, is a request of its own. */
function smuggledRequest(seed: number, n: number, c: Choices): string {
  const method = c.pick(['GET', 'POST', 'DELETE']);
  const body = method === 'POST' ? 'Content-Length: 3\r\n\r\nabc' : '\r\n';
  return `${method} /api/smuggled HTTP/1.1\r\nHost: fuzz.test\r\nX-Request-Id: fz-${seed}-s${n}\r\nX-Baton-Epoch: 999\r\n${body}`;
}

function bodyOf(seed: number, n: number, c: Choices): Buffer {
  switch (c.int(0, 5)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      c.note(`request ${n}: body is a request`);
      return Buffer.from(smuggledRequest(seed, n, c));
    case 2:
      return Buffer.from('x'.repeat(c.int(1, 5000)));
    case 3:
      return Buffer.from('0\r\n\r\n');
    default: {
      const bytes = Buffer.alloc(c.int(1, 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = c.int(0, 255);
      return bytes;
    }
  }
}

/** Chunked framing of `body` with mutated sizes, extensions, trailers; sometimes invalid on purpose. */
function chunked(c: Choices, body: Buffer, n: number): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  const ext = () =>
    c.chance(0.15) ? c.pick([';a=b', ';a="q;\\"x"', ';', ' ;a', ';a=b;c', '\t;x', `;${'e'.repeat(200)}`]) : '';
  const size = (length: number) => {
    const hex = length.toString(16);
    if (c.chance(0.05)) return `000${hex}`;
    if (c.chance(0.05)) return hex.toUpperCase();
    if (c.chance(0.02)) return `0x${hex}`;
    if (c.chance(0.02)) return `${hex} `;
    if (c.chance(0.01)) return `-${hex}`;
    return hex;
  };
  while (at < body.length) {
    const piece = body.subarray(at, at + c.int(1, Math.max(1, body.length - at)));
    at += piece.length;
    out.push(Buffer.from(`${size(piece.length)}${ext()}\r\n`), piece, Buffer.from(c.chance(0.02) ? '\n' : '\r\n'));
  }
  let last = `0${ext()}\r\n`;
  if (c.chance(0.1))
    last += `${c.pick(['X-Trailer: 1', 'Content-Length: 5', 'Transfer-Encoding: chunked', 'Host: evil.test'])}\r\n`;
  last += '\r\n';
  if (c.chance(0.03)) {
    last = c.pick(['0\r\n', 'ffffffffffffffffff\r\n', 'g\r\n\r\n', '0\n\n']);
    c.note(`request ${n}: broken last chunk`);
  }
  out.push(Buffer.from(last));
  return Buffer.concat(out);
}

function request(seed: number, n: number, c: Choices, last: boolean): Buffer {
  const odd = c.chance(0.06);
  const method = odd ? c.pick(oddMethods) : c.pick(methods);
  const target = path(c);
  const version = c.chance(0.1) ? c.pick(versions) : 'HTTP/1.1';
  const lines: Line[] = [];
  if (!c.chance(0.03)) lines.push(['Host', c.chance(0.15) ? c.pick(badHosts) : c.pick(goodHosts)]);
  if (c.chance(0.03)) lines.push(['Host', c.pick(goodHosts)]);
  lines.push(['X-Request-Id', `fz-${seed}-${n}`]);
  const body = bodyOf(seed, n, c);
  let payload: Buffer = body;
  const framing = c.int(0, 11);
  switch (framing) {
    case 0:
    case 1:
      lines.push(['Content-Length', String(body.length)]);
      break;
    case 2:
    case 3:
      lines.push(['Transfer-Encoding', 'chunked']);
      payload = chunked(c, body, n);
      break;
    case 4: {
      const value = c.pick([
        ` ${body.length}`,
        `+${body.length}`,
        `0${body.length}`,
        `${body.length}, ${body.length}`,
        `${body.length},${body.length + 1}`,
        `${body.length + 3}`,
        `${Math.max(0, body.length - 3)}`,
        '-1',
        '1e2',
        '99999999999999999999',
      ]);
      lines.push(['Content-Length', value]);
      c.note(`request ${n}: Content-Length ${JSON.stringify(value)} for ${body.length} bytes`);
      break;
    }
    case 5: {
      lines.push(['Content-Length', String(body.length)]);
      lines.push(['Content-Length', c.pick([String(body.length), String(body.length + 1)])]);
      c.note(`request ${n}: two Content-Lengths`);
      break;
    }
    case 6: {
      const [cl, te] = [['Content-Length', String(body.length)] as Line, ['Transfer-Encoding', 'chunked'] as Line];
      lines.push(...(c.chance(0.5) ? [cl, te] : [te, cl]));
      payload = c.chance(0.5) ? chunked(c, body, n) : body;
      c.note(`request ${n}: Content-Length and Transfer-Encoding`);
      break;
    }
    case 7: {
      const value = c.pick([
        'Chunked',
        'chunked, chunked',
        ' chunked',
        'chunked ',
        'chunked\t',
        'gzip, chunked',
        'identity',
        'chunked, identity',
        'xchunked',
        'chunked;q=1',
        '"chunked"',
        'chunk',
        'identity, chunked',
      ]);
      lines.push(['Transfer-Encoding', value]);
      if (c.chance(0.3)) lines.push(['Transfer-Encoding', c.pick(['chunked', 'identity', ''])]);
      payload = c.chance(0.7) ? chunked(c, body, n) : body;
      c.note(`request ${n}: Transfer-Encoding ${JSON.stringify(value)}`);
      break;
    }
    case 8:
      // No framing at all: the body bytes are the next request on this connection.
      c.note(`request ${n}: unframed body`);
      break;
    default:
      payload = Buffer.alloc(0);
      if (c.chance(0.3)) lines.push(['Content-Length', '0']);
  }
  if (c.chance(0.08)) lines.push(['Expect', c.pick(['100-continue', '100-Continue', 'nothing'])]);
  if (c.chance(0.1)) {
    const upgrade = c.pick(['h2c', 'websocket', 'foo/1, h2c', 'WebSocket']);
    lines.push(
      ['Connection', c.pick(['Upgrade, HTTP2-Settings', 'upgrade', 'keep-alive, Upgrade'])],
      ['Upgrade', upgrade],
    );
    if (upgrade.includes('h2c')) lines.push(['HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA']);
    if (upgrade.toLowerCase() === 'websocket')
      lines.push(['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']);
    c.note(`request ${n}: Upgrade ${upgrade}`);
  } else if (c.chance(0.15)) {
    lines.push([
      'Connection',
      c.pick([
        'close',
        'keep-alive',
        'x-a, keep-alive',
        'content-length',
        'transfer-encoding',
        'X-Request-Id',
        'host, close',
      ]),
    ]);
  }
  if (c.chance(0.2)) lines.push([c.pick(owned), c.pick(['10.0.0.1', 'evil.test', '999', 'trailers', 'chunked', '5'])]);
  if (c.chance(0.1)) lines.push(['X-A', 'x'.repeat(c.int(1, 200))]);
  if (last && c.chance(0.3)) lines.push(['Connection', 'close']);
  // Malformed lines, each refused by a strict parser.
  if (c.chance(0.05)) {
    const raw = c.pick([
      'X-Folded: a\r\n b',
      'Content-Length : 0',
      'No-Colon',
      ' X-Lead: 1',
      'X-Nul: a\0b',
      'X-Bad\u00ff: 1',
      'X-CR: a\rb',
      ': empty',
      `X-Big: ${'b'.repeat(20_000)}`,
    ]);
    lines.splice(c.int(0, lines.length), 0, { raw });
    c.note(`request ${n}: line ${JSON.stringify(raw.slice(0, 30))}`);
  }
  // Header order is the client's business; shuffle some.
  if (c.chance(0.3)) {
    for (let i = lines.length - 1; i > 0; i--) {
      const j = c.int(0, i);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
    }
  }
  const eol = () => (c.chance(0.01) ? '\n' : '\r\n');
  const text = lines
    .map((line) =>
      'raw' in line ? line.raw : `${recase(c, line[0])}:${c.chance(0.9) ? ' ' : c.pick(['', '\t', '  '])}${line[1]}`,
    )
    .join(eol());
  const head = `${method} ${target} ${version}${eol()}${text}${lines.length ? eol() : ''}${eol()}`;
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

/** One input: a connection's bytes from `seed`. */
export function generate(seed: number): FuzzInput {
  const c = new Choices(seed);
  const count = c.pick([1, 1, 1, 2, 2, 3]);
  const requests: Buffer[] = [];
  for (let n = 0; n < count; n++) requests.push(request(seed, n, c, n === count - 1));
  if (c.chance(0.05)) {
    requests.push(Buffer.from(c.pick(['\r\n', 'GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: fuzz.test\r\n'])));
    c.note('trailing junk');
  }
  const bytes = Buffer.concat(requests);
  // Cut into writes at random points: the parser must not care where packets end.
  const cuts = new Set<number>();
  const pieces = c.int(0, 3);
  for (let i = 0; i < pieces && bytes.length > 1; i++) cuts.add(c.int(1, bytes.length - 1));
  const writes: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    writes.push(bytes.subarray(from, cut));
    from = cut;
  }
  writes.push(bytes.subarray(from));
  const halfClose = !c.chance(0.1);
  if (!halfClose) c.note('client keeps its side open');
  return { seed, writes, halfClose, notes: c.notes };
}

/** The seed of input `index` in a run seeded with `runSeed`: every input replays alone. */
export function inputSeed(runSeed: number, index: number): number {
  return (Math.imul(runSeed ^ 0x9e3779b9, 0x85ebca6b) + index) >>> 0;
}
