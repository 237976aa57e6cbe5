import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocketTunnels } from '../proxy/websocket.ts';

/**
 * Requests that carry `Connection: upgrade` plus `Upgrade:`. While the server has an 'upgrade'
 * listener, Node hands such a request over with its socket and stops parsing: nothing after
 * the request head is read by the server any more, a body included, and the connection has
 * no parser left for a next request. Two ways on from here:
 *
 * - a websocket handshake (GET, `Upgrade: websocket`) runs through the normal pipeline
 *   (identify, guard, route, plugin middleware, forward) with a response bound to the socket,
 *   so any answer other than a 101 is an ordinary, framed HTTP response; the connection is
 *   closed after it;
 * - anything else (`h2c` from curl --http2 or Java's HttpClient, unknown protocols) is a plain
 *   HTTP/1.1 request, as NGINX treats it: its head is rebuilt without `Upgrade`,
 *   `HTTP2-Settings` and the Connection tokens naming them, put back in front of the bytes
 *   that followed, and the socket handed back to the server, which parses it (body, keep-alive,
 *   pipelining) like any other connection.
 */

export interface UpgradeDeps {
  readonly server: Server;
  /** The request pipeline (the Koa callback). */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => unknown;
  readonly tunnels: WebSocketTunnels;
}

/** Set on a websocket handshake's request: the bytes the client sent after it (tunnel data). */
export const handshakeHead = Symbol('baton.handshakeHead');

export function upgradeHandler(deps: UpgradeDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    whenAnswered(socket as Socket, () => {
      if (isWebsocketHandshake(req)) handshake(deps, req, socket as Socket, head);
      else replayAsPlainRequest(deps.server, req, socket as Socket, head);
    });
  };
}

/**
 * Node hands upgrades over before its own Host check: a handshake without Host goes back to the
 * server as a plain request, which refuses it like any HTTP/1.1 request without Host. A
 * handshake has no body (RFC 6455 §4.1): one that declares a body is a plain request too, so
 * that its body is read as a body (what follows a handshake's head is tunnel data).
 */
function isWebsocketHandshake(req: IncomingMessage): boolean {
  return (
    req.method === 'GET' &&
    req.headers.upgrade?.trim().toLowerCase() === 'websocket' &&
    req.headers.host !== undefined &&
    req.headers['transfer-encoding'] === undefined &&
    (req.headers['content-length'] === undefined || req.headers['content-length'] === '0')
  );
}

/**
 * Pipelined requests before this one may still be answering on the socket: the upgrade waits
 * until the last of them is done, so that answers keep their order (and Node's own queue of
 * responses, which belongs to the parser that just let go, is empty).
 */
function whenAnswered(socket: Socket, then: () => void): void {
  // `_httpMessage` is the response Node is writing on this socket: not documented, but what
  // Node's own server and closeIdleConnections() rely on.
  const pending = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!pending) return then();
  pending.once('finish', () => {
    if (!socket.writable) return void socket.destroy();
    // The finished response armed the keep-alive timer of the parser that let go; disarm it.
    socket.setTimeout(0);
    whenAnswered(socket, then);
  });
}

function handshake(deps: UpgradeDeps, req: IncomingMessage, socket: Socket, head: Buffer): void {
  deps.tunnels.admit(socket);
  (req as IncomingMessage & { [handshakeHead]?: Buffer })[handshakeHead] = head;
  const res = new ServerResponse(req);
  // No parser is left to read a next request: any answer but a 101 closes the connection.
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', closeConnection);
  // A client that ends its side before any answer has given up on the handshake.
  socket.once('end', () => {
    if (!res.headersSent) socket.destroy();
  });
  void deps.handle(req, res);
}

function closeConnection(this: ServerResponse): void {
  this.socket?.destroySoon();
}

const upgradeTokens = new Set(['upgrade', 'http2-settings']);

function replayAsPlainRequest(server: Server, req: IncomingMessage, socket: Socket, head: Buffer): void {
  if (!socket.writable) return void socket.destroy();
  if (head.length > 0) socket.unshift(head);
  socket.unshift(Buffer.from(plainHead(req), 'latin1'));
  server.emit('connection', socket);
}

/** The request head again, without the upgrade (names and values as the client sent them). */
function plainHead(req: IncomingMessage): string {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (upgradeTokens.has(name)) continue;
    let value = raw[i + 1]!;
    if (name === 'connection') {
      value = value
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token && !upgradeTokens.has(token.toLowerCase()))
        .join(', ');
      if (!value) continue;
    }
    text += `${raw[i]}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}
