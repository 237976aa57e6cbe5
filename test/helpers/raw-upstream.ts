import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * An upstream that records exactly what it parsed, per connection: the raw bytes it received,
 * every request Node's own (strict) parser found in them, and every parse error. A smuggled
 * request shows up as one request too many on a connection; a body framed wrongly shows up
 * as a parse error or a body that differs from what the client sent.
 *
 *   const up = await startRawUpstream();
 *   ... drive the gateway ...
 *   up.requests()            // every parsed request, in arrival order
 *   up.connections[0].raw()  // the bytes of the first connection
 */

export interface ParsedRequest {
  /** Index of the connection it arrived on (0-based, in accept order), and its place on it. */
  readonly connection: number;
  readonly index: number;
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  /** The body so far; complete once `complete` is true. */
  body: Buffer;
  complete: boolean;
}

export interface UpstreamConnection {
  readonly id: number;
  readonly requests: ParsedRequest[];
  /** Codes of parse errors Node's parser raised on this connection (HPE_*). */
  readonly errors: string[];
  closed: boolean;
  /** Every byte received on this connection. */
  raw(): Buffer;
}

/** Answers a request; `body` is the complete body. Default: `echoRequest`. */
export type RawHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
  request: ParsedRequest,
) => void;
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface RawUpstream {
  readonly url: string;
  readonly port: number;
  readonly server: http.Server;
  readonly connections: UpstreamConnection[];
  /** Every request parsed on any connection, in arrival order. */
  requests(): ParsedRequest[];
  close(): Promise<void>;
}

/** Answers 200 with JSON: what was parsed, and the body's length and SHA-256. */
export const echoRequest: RawHandler = (req, res, body) => {
  const payload = JSON.stringify({
    method: req.method,
    url: req.url,
    headers: req.headers,
    bytes: body.length,
    sha256: sha256(body),
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
};

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function startRawUpstream(
  handler: RawHandler = echoRequest,
  options: { onUpgrade?: UpgradeHandler } = {},
): Promise<RawUpstream> {
  const connections: UpstreamConnection[] = [];
  const all: ParsedRequest[] = [];
  const of = new WeakMap<object, UpstreamConnection>();
  const server = http.createServer({ keepAliveTimeout: 5000 });
  const sockets = new Set<Duplex>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const chunks: Buffer[] = [];
    const connection: UpstreamConnection = {
      id: connections.length,
      requests: [],
      errors: [],
      closed: false,
      raw: () => Buffer.concat(chunks),
    };
    connections.push(connection);
    of.set(socket, connection);
    socket.on('error', () => {});
    socket.on('close', () => (connection.closed = true));
    // A 'data' listener makes Node's server read through JS events too, so this sees every byte.
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    of.get(socket)?.errors.push(error.code ?? error.message);
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  server.on('request', (req, res) => {
    const connection = of.get(req.socket);
    const request: ParsedRequest = {
      connection: connection?.id ?? -1,
      index: connection?.requests.length ?? 0,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
      complete: false,
    };
    connection?.requests.push(request);
    all.push(request);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => {});
    req.on('end', () => {
      request.body = Buffer.concat(chunks);
      request.complete = true;
      handler(req, res, request.body, request);
    });
  });
  if (options.onUpgrade) server.on('upgrade', options.onUpgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    connections,
    requests: () => all,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Upgraded sockets are no longer the server's: close them too.
        for (const socket of sockets) socket.destroy();
      }),
  };
}
