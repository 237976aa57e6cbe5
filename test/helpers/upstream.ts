import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
  /** Over TLS: the CN of the client certificate the gateway presented, if any. */
  readonly clientCertCn?: string;
}

export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

export interface Upstream {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly server: http.Server;
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
  readonly connections: () => number;
  close(): Promise<void>;
}

/** Answers with JSON naming the upstream and echoing what it received. */
export const echo =
  (name: string): UpstreamHandler =>
  (req, res, body) => {
    const payload = JSON.stringify({
      node: name,
      method: req.method,
      url: req.url,
      headers: req.headers,
      bytes: body.length,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  };

export interface UpstreamTls {
  readonly cert: string;
  readonly key: string;
  /** Ask for client certificates signed by this CA, and refuse clients without one. */
  readonly clientCa?: string;
}

/** A real HTTP server on 127.0.0.1, port 0, that records every request it gets. */
export function startUpstream(name: string, handler: UpstreamHandler = echo(name)): Promise<Upstream> {
  return startRecording(name, handler, undefined);
}

/** The same over TLS (an `https://` node). */
export function startHttpsUpstream(
  name: string,
  tls: UpstreamTls,
  handler: UpstreamHandler = echo(name),
): Promise<Upstream> {
  return startRecording(name, handler, tls);
}

async function startRecording(name: string, handler: UpstreamHandler, tls: UpstreamTls | undefined): Promise<Upstream> {
  const requests: RecordedRequest[] = [];
  let connections = 0;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const peer = tls ? (req.socket as TLSSocket).getPeerCertificate() : undefined;
      const clientCertCn = peer?.subject?.CN === undefined ? undefined : String(peer.subject.CN);
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
        clientCertCn,
      });
      handler(req, res, body);
    });
    req.on('error', () => {});
  };
  const server: http.Server = tls
    ? https.createServer(
        {
          cert: tls.cert,
          key: tls.key,
          ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
        },
        onRequest,
      )
    : http.createServer(onRequest);
  server.on(tls ? 'secureConnection' : 'connection', (socket) => {
    connections += 1;
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    server,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
