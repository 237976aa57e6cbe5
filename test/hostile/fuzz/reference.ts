import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { sha256 } from '../../helpers/raw-upstream.ts';

/**
 * The reference side of the differential check: the same client bytes, parsed by a bare Node
 * server with the gateway's parser settings (strict parser, Host required, 16 KiB heads) and
 * no 'upgrade' listener, so that an upgrade request is parsed as the plain request it is on a
 * plain route. What it sees is what the client sent; an upstream behind the gateway may see a
 * subset of it (the gateway refuses some), never anything else.
 */

export interface ReferenceRequest {
  readonly id: string | undefined;
  readonly method: string;
  readonly url: string;
  /**
   * Answered by Node itself in front of the gateway (400 without Host, 417 for an unknown
   * Expect); its body is not read. A gateway may still forward an upgrade request with an
   * unknown Expect (RFC 9110 §10.1.1: a server MAY answer 417).
   */
  readonly refused?: boolean;
  /** The whole body arrived (the client did not stop mid-body). */
  complete: boolean;
  bytes: number;
  sha256: string;
}

export interface ReferenceParse {
  readonly requests: ReferenceRequest[];
  /** Node's parser gave up on the connection (HPE_* code), after the requests above. */
  readonly error: string | undefined;
}

export interface ReferenceParser {
  parse(writes: readonly Buffer[]): Promise<ReferenceParse>;
  close(): Promise<void>;
}

export async function startReferenceParser(): Promise<ReferenceParser> {
  const byPort = new Map<number, { requests: ReferenceRequest[]; error?: string }>();
  // Host is checked below (not by Node) so that the refused request is recorded too.
  const server = http.createServer({
    maxHeaderSize: 16 * 1024,
    insecureHTTPParser: false,
    requireHostHeader: false,
    keepAliveTimeout: 2000,
  });
  const idOf = (req: http.IncomingMessage) =>
    typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;
  const refuse = (req: http.IncomingMessage, res: http.ServerResponse, status: number) => {
    sessionOf(req.socket)?.requests.push({
      id: idOf(req),
      method: req.method ?? '',
      url: req.url ?? '',
      refused: true,
      complete: true,
      bytes: 0,
      sha256: sha256(''),
    });
    res.writeHead(status, { connection: 'close', 'content-length': '0' }).end();
  };
  const sessionOf = (socket: net.Socket) => byPort.get(socket.remotePort ?? -1);
  server.on('request', (req, res) => {
    // Node's requireHostHeader: an HTTP/1.1 request without Host gets 400 and the connection closes.
    if (req.httpVersion === '1.1' && req.headers.host === undefined) return refuse(req, res, 400);
    const record: ReferenceRequest = {
      id: idOf(req),
      method: req.method ?? '',
      url: req.url ?? '',
      complete: false,
      bytes: 0,
      sha256: sha256(''),
    };
    sessionOf(req.socket)?.requests.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => {});
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      record.complete = true;
      record.bytes = body.length;
      record.sha256 = sha256(body);
      res.writeHead(200, { 'content-length': '0' }).end();
    });
  });
  server.on('checkExpectation', (req, res) => refuse(req, res, 417));
  server.on('upgrade', (req, socket: net.Socket, head: Buffer) => {
    if (head.length > 0) socket.unshift(head);
    socket.unshift(Buffer.from(plainHead(req), 'latin1'));
    server.emit('connection', socket);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const session = sessionOf(socket as net.Socket);
    if (session) session.error ??= error.code ?? error.message;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    async parse(writes) {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      const session: { requests: ReferenceRequest[]; error?: string } = { requests: [] };
      const localPort = socket.localPort!;
      byPort.set(localPort, session);
      socket.on('error', () => {});
      socket.resume();
      for (const bytes of writes) socket.write(bytes);
      socket.end();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => socket.destroy(), 2000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      byPort.delete(localPort);
      return { requests: session.requests, error: session.error };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const upgradeTokens = new Set(['upgrade', 'http2-settings']);

/** The request head again without `Upgrade`, `HTTP2-Settings` and the Connection tokens naming them. */
function plainHead(req: http.IncomingMessage): string {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    let value = req.rawHeaders[i + 1]!;
    if (upgradeTokens.has(name.toLowerCase())) continue;
    if (name.toLowerCase() === 'connection') {
      value = value
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token && !upgradeTokens.has(token.toLowerCase()))
        .join(', ');
      if (!value) continue;
    }
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}
