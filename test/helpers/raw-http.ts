import net from 'node:net';

/**
 * Raw HTTP/1.1 on real sockets, for tests where framing matters: write exact bytes, read exact
 * bytes back, and parse the answer strictly (RFC 9112 §6.3). A response that is not
 * well-formed is a finding, never something to tolerate: `parseResponses` reports it as
 * `error`. Shared by test/hostile/ and the differential fuzzer built on top of it.
 *
 *   const reply = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
 *   reply.responses[0].status   // 200
 *
 *   const client = await RawClient.connect(port);   // keep-alive, pipelining, upgrades
 *   client.write(bytes); const first = await client.response('GET');
 */

/** `body` in chunked framing, cut into chunks of `sizes` bytes (cycled), with an optional extension per chunk. */
export function chunkedBody(
  body: Buffer | string,
  sizes: readonly number[] = [body.length || 1],
  extension = '',
): Buffer {
  const bytes = Buffer.from(body);
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const piece = bytes.subarray(at, at + Math.max(1, sizes[i % sizes.length]!));
    at += piece.length;
    out.push(Buffer.from(`${piece.length.toString(16)}${extension}\r\n`, 'latin1'), piece, Buffer.from('\r\n'));
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(out);
}

export interface RawResponse {
  readonly httpVersion: string;
  readonly status: number;
  readonly reason: string;
  /** In order; names lower-cased, values as sent (repeated headers keep every value). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  /** How the body was delimited. */
  readonly framing: 'length' | 'chunked' | 'close' | 'none';
}

/** The first value of a header (names are case-insensitive), or undefined. */
export function header(response: RawResponse, name: string): string | undefined {
  const lower = name.toLowerCase();
  return response.headers.find(([n]) => n === lower)?.[1];
}

export interface ParseResult {
  readonly responses: RawResponse[];
  /** Bytes after the last complete response: an incomplete one, a tunnel after a 101, or junk. */
  readonly rest: Buffer;
  /** Set when the bytes cannot be (the start of) a well-formed response, or were cut short. */
  readonly error: string | undefined;
}

export interface ParseOptions {
  /** The request method of each response, in order (HEAD responses have no body). Default GET. */
  readonly methods?: readonly string[];
  /** The connection has ended: a close-delimited body is complete, anything incomplete is an error. */
  readonly ended?: boolean;
}

const statusLine = /^HTTP\/(1\.[01]) ([1-9]\d\d) ([\t\x20-\x7e\x80-\xff]*)$/;
const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const fieldValue = /^[\t\x20-\x7e\x80-\xff]*$/;

class Incomplete extends Error {}

/** Parses consecutive responses from `bytes`; stops after a 101 (what follows is another protocol). */
export function parseResponses(bytes: Buffer, options: ParseOptions = {}): ParseResult {
  const responses: RawResponse[] = [];
  let offset = 0;
  let requestIndex = 0;
  while (offset < bytes.length) {
    const next = parseResponse(bytes, offset, options.methods?.[requestIndex] ?? 'GET', options.ended ?? false);
    if ('error' in next) return { responses, rest: bytes.subarray(offset), error: next.error };
    if ('incomplete' in next) {
      return {
        responses,
        rest: bytes.subarray(offset),
        error: options.ended ? `truncated response: ${next.incomplete}` : undefined,
      };
    }
    responses.push(next.response);
    offset = next.end;
    if (next.response.status >= 200) requestIndex += 1;
    if (next.response.status === 101) break;
  }
  return { responses, rest: bytes.subarray(offset), error: undefined };
}

export type OneResponse = { response: RawResponse; end: number } | { incomplete: string } | { error: string };

/** One response starting at `offset`: complete (with the offset after it), incomplete so far, or malformed. */
export function parseResponse(bytes: Buffer, offset: number, method: string, ended: boolean): OneResponse {
  try {
    return parseOne(bytes, offset, method, ended);
  } catch (error) {
    return error instanceof Incomplete ? { incomplete: error.message } : { error: (error as Error).message };
  }
}

function parseOne(
  bytes: Buffer,
  start: number,
  method: string,
  ended: boolean,
): { response: RawResponse; end: number } {
  const headEnd = bytes.indexOf('\r\n\r\n', start);
  if (headEnd === -1) {
    if (
      bytes.indexOf('\n', start) !== -1 &&
      !/^HTTP\/1\.[01] /.test(bytes.subarray(start, start + 9).toString('latin1'))
    ) {
      throw new Error(`not a status line: ${JSON.stringify(bytes.subarray(start, start + 40).toString('latin1'))}`);
    }
    throw new Incomplete('headers');
  }
  const lines = bytes.subarray(start, headEnd).toString('latin1').split('\r\n');
  const first = statusLine.exec(lines[0]!);
  if (!first) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!token.test(name)) throw new Error(`bad header line ${JSON.stringify(line)}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!fieldValue.test(value) || line.includes('\n')) throw new Error(`bad header value in ${JSON.stringify(line)}`);
    headers.push([name.toLowerCase(), value]);
  }
  const status = Number(first[2]);
  const base = { httpVersion: first[1]!, status, reason: first[3]!, headers };
  const bodyStart = headEnd + 4;
  const te = headers.filter(([n]) => n === 'transfer-encoding').map(([, v]) => v);
  const cl = headers.filter(([n]) => n === 'content-length').map(([, v]) => v);
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) {
    if (status === 204 && (te.length || cl.length)) throw new Error('204 with framing headers');
    return { response: { ...base, body: Buffer.alloc(0), framing: 'none' }, end: bodyStart };
  }
  if (te.length && cl.length) throw new Error('both Transfer-Encoding and Content-Length');
  if (te.length) {
    if (te.join(',').trim().toLowerCase() !== 'chunked')
      throw new Error(`unsupported Transfer-Encoding ${te.join(', ')}`);
    const { body, end } = parseChunked(bytes, bodyStart);
    return { response: { ...base, body, framing: 'chunked' }, end };
  }
  if (cl.length) {
    if (new Set(cl).size !== 1 || !/^\d+$/.test(cl[0]!)) throw new Error(`bad Content-Length ${cl.join(', ')}`);
    const length = Number(cl[0]);
    if (bytes.length < bodyStart + length) throw new Incomplete(`body: ${bytes.length - bodyStart} of ${length} bytes`);
    return {
      response: { ...base, body: bytes.subarray(bodyStart, bodyStart + length), framing: 'length' },
      end: bodyStart + length,
    };
  }
  if (!ended) throw new Incomplete('close-delimited body');
  return { response: { ...base, body: bytes.subarray(bodyStart), framing: 'close' }, end: bytes.length };
}

function parseChunked(bytes: Buffer, start: number): { body: Buffer; end: number } {
  const parts: Buffer[] = [];
  let offset = start;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', offset);
    if (lineEnd === -1) throw new Incomplete('chunk size');
    const line = bytes.subarray(offset, lineEnd).toString('latin1');
    const size = /^([0-9a-fA-F]{1,8})(;[\t\x20-\x7e]*)?$/.exec(line);
    if (!size) throw new Error(`bad chunk size line ${JSON.stringify(line)}`);
    const length = parseInt(size[1]!, 16);
    offset = lineEnd + 2;
    if (length === 0) break;
    if (bytes.length < offset + length + 2) throw new Incomplete('chunk data');
    parts.push(bytes.subarray(offset, offset + length));
    if (bytes[offset + length] !== 13 || bytes[offset + length + 1] !== 10)
      throw new Error('chunk data not followed by CRLF');
    offset += length + 2;
  }
  // Trailer section, then the empty line.
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', offset);
    if (lineEnd === -1) throw new Incomplete('trailers');
    const line = bytes.subarray(offset, lineEnd).toString('latin1');
    offset = lineEnd + 2;
    if (line === '') return { body: Buffer.concat(parts), end: offset };
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(line)) throw new Error(`bad trailer ${JSON.stringify(line)}`);
  }
}

export interface ClosedInfo {
  /** The peer reset the connection (ECONNRESET/EPIPE) instead of closing it cleanly. */
  readonly reset: boolean;
  /** Milliseconds from connect to close. */
  readonly afterMs: number;
}

/**
 * One client connection driven byte by byte. `response()` hands out complete responses in
 * order (give the request method so HEAD is parsed right); `closed` settles when the gateway
 * closes or resets the connection.
 */
export class RawClient {
  readonly socket: net.Socket;
  readonly closed: Promise<ClosedInfo>;
  #received = Buffer.alloc(0);
  #consumed = 0;
  #ended = false;
  #reset = false;
  readonly #connectedAt = Date.now();
  #waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      this.#wake();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') this.#reset = true;
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#ended = true;
        this.#wake();
        resolve({ reset: this.#reset, afterMs: Date.now() - this.#connectedAt });
      }),
    );
  }

  static connect(port: number | string, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), host, () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Every byte received so far. */
  get received(): Buffer {
    return this.#received;
  }

  /** Bytes received after the responses handed out so far (e.g. tunnel data after a 101). */
  get unread(): Buffer {
    return this.#received.subarray(this.#consumed);
  }

  get isClosed(): boolean {
    return this.#ended;
  }

  /** Skips `count` bytes of `unread` (tunnel data a test has checked). */
  consume(count: number): void {
    this.#consumed += count;
  }

  /** The next final (or 101) response; rejects on malformed bytes, on close before it, or after timeoutMs. */
  async response(method = 'GET', timeoutMs = 5000): Promise<RawResponse> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const next = parseResponse(this.#received, this.#consumed, method, this.#ended);
      if ('response' in next) {
        this.#consumed = next.end;
        if (next.response.status >= 200 || next.response.status === 101) return next.response;
        continue; // an interim response (100 Continue)
      }
      if ('error' in next) throw new Error(next.error);
      if (this.#ended)
        throw new Error(
          this.#consumed === this.#received.length
            ? 'connection closed before a response'
            : `truncated response: ${next.incomplete}`,
        );
      if (!(await this.#wait(until - Date.now()))) throw new Error(`no response within ${timeoutMs}ms`);
    }
  }

  /** Resolves with unread bytes once at least `count` arrived, or rejects after timeoutMs. */
  async read(count: number, timeoutMs = 5000): Promise<Buffer> {
    const until = Date.now() + timeoutMs;
    while (this.#received.length - this.#consumed < count) {
      if (this.#ended) throw new Error('connection closed');
      if (!(await this.#wait(until - Date.now()))) throw new Error(`fewer than ${count} bytes within ${timeoutMs}ms`);
    }
    const out = this.#received.subarray(this.#consumed, this.#consumed + count);
    this.#consumed += count;
    return out;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #wait(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

export interface Exchange extends ParseResult {
  /** Every byte the gateway sent. */
  readonly bytes: Buffer;
  /** The gateway closed (or reset) the connection before the wait ended. */
  readonly closed: boolean;
  readonly reset: boolean;
}

/**
 * Sends `bytes` on a fresh connection and collects the answer until the gateway closes the
 * connection, `expect` responses are complete, or `timeoutMs` passes; then parses it all.
 */
export async function exchange(
  port: number | string,
  bytes: string | Buffer | ReadonlyArray<string | Buffer>,
  options: { methods?: readonly string[]; expect?: number; timeoutMs?: number } = {},
): Promise<Exchange> {
  const client = await RawClient.connect(port);
  for (const part of Array.isArray(bytes) ? bytes : [bytes]) client.write(part as string | Buffer);
  const expect = options.expect ?? options.methods?.length;
  const until = Date.now() + (options.timeoutMs ?? 5000);
  while (!client.isClosed && Date.now() < until) {
    if (
      expect !== undefined &&
      parseResponses(client.received, { methods: options.methods }).responses.filter((r) => r.status >= 200).length >=
        expect
    )
      break;
    await Promise.race([client.closed, new Promise((resolve) => setTimeout(resolve, 10))]);
  }
  const closed = client.isClosed;
  client.destroy();
  const info = await client.closed;
  return {
    ...parseResponses(client.received, { methods: options.methods, ended: closed }),
    bytes: client.received,
    closed,
    reset: info.reset && closed,
  };
}
