import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProxyServer, ProxyTarget } from './proxy-server.ts';
import { errorBody, type ErrorCode, errorTable } from '../util/errors.ts';

export interface TunnelSpec {
  readonly target: ProxyTarget;
  readonly agent: Agent;
  readonly connectTimeoutMs: number;
  /** A tunnel with no traffic either way for this long is closed. */
  readonly idleTimeoutMs: number;
  readonly requestId: string;
}

export type TunnelOutcome = { ok: true } | { ok: false; kind: 'connect' | 'reset'; detail: string };

/**
 * Websocket tunnels. Koa never sees upgrades: they arrive on the server's 'upgrade' event.
 * Upgraded sockets are not closed by server.close(), so every tunnel is tracked here and both
 * ends are destroyed together (never half-closed, which leaks descriptors) and on shutdown.
 */
export class WebSocketTunnels {
  readonly #open = new Set<Duplex>();
  readonly #server: ProxyServer;

  constructor(server: ProxyServer) {
    this.#server = server;
  }

  get size(): number {
    return this.#open.size;
  }

  /** Resolves when the handshake succeeded or failed; a failure has already been answered. */
  open(req: IncomingMessage, client: Duplex, head: Buffer, spec: TunnelSpec): Promise<TunnelOutcome> {
    return new Promise((resolve) => {
      let upgraded = false;
      let proxyReq: ClientRequest | undefined;
      const fail = (kind: 'connect' | 'reset', detail: string) => {
        clearTimeout(timer);
        if (upgraded) return;
        upgraded = true; // settle once
        proxyReq?.destroy();
        rejectHandshake(client, kind === 'connect' ? 'UPSTREAM_CONNECT' : 'UPSTREAM_RESET', spec.requestId);
        resolve({ ok: false, kind, detail });
      };
      const timer = setTimeout(() => fail('connect', `no handshake within ${spec.connectTimeoutMs}ms`), spec.connectTimeoutMs);
      this.#track(client);
      client.on('error', () => proxyReq?.destroy());
      this.#server.ws(req, client, head, spec.target, spec.agent, {
        onRequest: (request) => (proxyReq = request),
        onUpgrade: (upstream) => {
          clearTimeout(timer);
          upgraded = true;
          this.#pair(client, upstream, spec.idleTimeoutMs);
          resolve({ ok: true });
        },
        onError: (error) => fail(proxyReq?.socket && !proxyReq.socket.connecting ? 'reset' : 'connect', error.code ?? error.message),
      });
    });
  }

  /** Destroys every open tunnel (both ends). */
  closeAll(): void {
    for (const socket of this.#open) socket.destroy();
    this.#open.clear();
  }

  #track(socket: Duplex): void {
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
  }

  #pair(client: Duplex, upstream: Duplex, idleTimeoutMs: number): void {
    this.#track(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', closeBoth);
      socket.on('close', closeBoth);
      // An end from one side closes the tunnel: peers that ignore half-close would keep it open.
      socket.on('end', closeBoth);
      const net = socket as Duplex & { setTimeout?: (ms: number, cb: () => void) => void };
      net.setTimeout?.(idleTimeoutMs, closeBoth);
    }
  }
}

/** Answers a failed handshake with an HTTP error on the raw socket, then closes it. */
export function rejectHandshake(socket: Duplex, code: ErrorCode, requestId?: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(errorBody(code, undefined, requestId));
  const { status } = errorTable[code];
  socket.end(
    `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // Give the answer a moment to flush, but never leave the socket behind.
  setTimeout(() => socket.destroy(), 1000).unref();
}
