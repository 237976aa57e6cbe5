import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ListenerSettings } from '../config/types.ts';
import { Http2Sessions, type Http2Deps } from './http2.ts';
import {
  certificateFacts,
  createTlsListener,
  tlsContexts,
  type AlpnProtocol,
  type TlsContexts,
  type TlsListener,
} from './tls.ts';

/**
 * One listener: a port, plain HTTP or TLS. HTTP/1.1 is always served by a Node http.Server
 * (with every guard the gateway sets on it: header and request timeouts, header size, Host
 * required, the upgrade handler). On a TLS listener the TLS server owns the port and hands
 * each connection, once its handshake is done, to that same http.Server (ALPN `http/1.1`, or
 * no ALPN) or to the HTTP/2 sessions (ALPN `h2`): HTTPS/1.1 behaves byte for byte like HTTP/1.1.
 */

/** A certificate a TLS listener serves: what /status and /metrics show. */
export interface CertificateStatus {
  /** `https://127.0.0.1:8443`. */
  readonly listener: string;
  /** The names it is chosen for; [] for the default certificate. */
  readonly hosts: readonly string[];
  readonly subject: string;
  /** Expiry, ms since the epoch. */
  readonly notAfter: number;
}

export interface ListenerDeps {
  readonly serverOptions: http.ServerOptions;
  readonly onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** The upgrade handler, made for this listener's http.Server (it gives connections back to it). */
  readonly upgradeHandler: (server: http.Server) => (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** HTTP/2 limits and hooks (the request handler is `onRequest`). */
  readonly http2: Omit<Http2Deps, 'onRequest'>;
}

const guarded = Symbol('baton.guarded');

/**
 * No socket error may ever become an uncaught exception. A socket handed back to the server
 * after an upgrade request is announced as a connection again: one listener is enough.
 */
function guardSocket(socket: Socket & { [guarded]?: true }): void {
  if (socket[guarded]) return;
  socket[guarded] = true;
  socket.on('error', destroySocket);
}

function destroySocket(this: Socket): void {
  this.destroy();
}

export class Listener {
  settings: ListenerSettings;
  readonly http1: http.Server;
  readonly #tls: TlsListener | undefined;
  readonly #http2: Http2Sessions | undefined;

  constructor(settings: ListenerSettings, deps: ListenerDeps, handshakeTimeoutMs: number) {
    this.settings = settings;
    this.http1 = http.createServer(deps.serverOptions);
    this.http1.on('request', deps.onRequest);
    this.http1.on('upgrade', deps.upgradeHandler(this.http1));
    this.http1.on('connection', guardSocket);
    if (settings.tls) {
      const http2 = settings.http2 ? new Http2Sessions({ ...deps.http2, onRequest: deps.onRequest }) : undefined;
      this.#http2 = http2;
      const alpn: AlpnProtocol[] = http2 ? ['h2', 'http/1.1'] : ['http/1.1'];
      this.#tls = createTlsListener({
        contexts: tlsContexts(settings.tls),
        alpn,
        handshakeTimeoutMs,
        onConnection: (socket, protocol) => {
          guardSocket(socket);
          if (protocol === 'h2' && http2) http2.accept(socket);
          else this.http1.emit('connection', socket);
        },
      });
      this.#tls.server.on('connection', guardSocket);
    }
  }

  get secure(): boolean {
    return this.#tls !== undefined;
  }

  /** The server that owns the port. */
  get #front(): http.Server | TlsListener['server'] {
    return this.#tls?.server ?? this.http1;
  }

  listen(): Promise<void> {
    const server = this.#front;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.settings.port, this.settings.host, () => {
        server.off('error', reject);
        // The http.Server behind TLS never listens itself, but its header and request timeouts
        // (and closeIdleConnections) run on the connection tracking that 'listening' starts.
        if (this.#tls) this.http1.emit('listening');
        resolve();
      });
    });
  }

  get port(): number {
    return (this.#front.address() as AddressInfo | null)?.port ?? this.settings.port;
  }

  get url(): string {
    const host = this.settings.host;
    const display = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `${this.secure ? 'https' : 'http'}://${display}:${this.port}`;
  }

  /** Builds the secure contexts of `next` without applying them; throws what OpenSSL refuses. */
  prepare(next: ListenerSettings): TlsContexts | undefined {
    return next.tls && this.#tls ? tlsContexts(next.tls) : undefined;
  }

  /** New handshakes use `contexts`; connections already open keep theirs. */
  apply(next: ListenerSettings, contexts: TlsContexts | undefined): void {
    this.settings = next;
    if (contexts) this.#tls?.swap(contexts);
  }

  certificates(): CertificateStatus[] {
    const tls = this.settings.tls;
    if (!tls) return [];
    return tls.certificates.map((entry) => ({
      listener: this.url,
      hosts: entry.hosts,
      ...certificateFacts(entry.cert.pem),
    }));
  }

  /** Stop accepting connections; close idle HTTP/1.1 keep-alive connections. */
  close(): void {
    if (this.#tls) this.#tls.server.close();
    else this.http1.close();
    this.http1.closeIdleConnections();
    this.#http2?.close();
  }

  closeAllConnections(): void {
    this.http1.closeAllConnections();
    this.#http2?.destroyAll();
  }
}
