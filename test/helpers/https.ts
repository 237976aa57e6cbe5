import https from 'node:https';
import tls from 'node:tls';
import type { Reply, RequestOptions } from './http.ts';

export interface TlsRequestOptions extends RequestOptions {
  /** The CA the client trusts. */
  readonly ca: string;
  /** SNI and the name the certificate is checked against; default: the URL's host. */
  readonly servername?: string;
  /** A client certificate (mutual TLS). */
  readonly cert?: string;
  readonly key?: string;
}

/** One HTTPS/1.1 request, certificate checked against `ca`; never rejects on a status. */
export function httpsRequest(url: string, options: TlsRequestOptions): Promise<Reply & { peerSubject: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: (options.agent as https.Agent | undefined) ?? false,
        ca: options.ca,
        servername: options.servername,
        cert: options.cert,
        key: options.key,
        ...(options.servername
          ? {
              checkServerIdentity: (_host: string, cert: tls.PeerCertificate) =>
                tls.checkServerIdentity(options.servername!, cert),
            }
          : {}),
      },
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const peerSubject = String(socket.getPeerCertificate().subject?.CN ?? '');
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: () => JSON.parse(body),
            peerSubject,
          });
        });
      },
    );
    req.on('error', reject);
    if (options.timeoutMs)
      req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`timeout after ${options.timeoutMs}ms`)));
    req.end(options.body);
  });
}

/** The certificate a TLS handshake with `servername` gets (its CN and expiry), without any HTTP. */
export function servedCertificate(
  port: number,
  servername: string | undefined,
  ca: string,
): Promise<{ cn: string; validTo: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] },
      () => {
        const cert = socket.getPeerCertificate();
        resolve({ cn: String(cert.subject?.CN ?? ''), validTo: cert.valid_to });
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}
