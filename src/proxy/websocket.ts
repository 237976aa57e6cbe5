import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Which pool and node a tunnel goes to: what a promotion or a shutdown closes. */
export interface TunnelTag {
  readonly pool: string;
  readonly node: string;
}

interface Tunnel extends TunnelTag {
  readonly close: () => void;
}

/** After one side ends, the other gets this long to flush and close before both are destroyed. */
const HALF_CLOSE_GRACE_MS = 1000;

/**
 * Websocket tunnels, and client sockets whose handshake is still in progress. Upgraded
 * sockets are not closed by server.close() (Node no longer tracks them), so every one is
 * tracked here: both ends of a tunnel close together (never half-open for long, which leaks
 * descriptors), when idle, on shutdown, and when a promotion demotes the node they go to.
 */
export class WebSocketTunnels {
  readonly #handshakes = new Set<Duplex>();
  readonly #open = new Set<Tunnel>();
  readonly #idleTimeoutMs: number;

  /** A tunnel with no traffic either way for `idleTimeoutMs` is closed. */
  constructor(idleTimeoutMs: number) {
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  /** Open tunnels. */
  get size(): number {
    return this.#open.size;
  }

  /** A client socket taken over for a handshake: tracked until it closes or becomes a tunnel. */
  admit(client: Duplex): void {
    this.#handshakes.add(client);
    client.once('close', () => this.#handshakes.delete(client));
  }

  /** Joins the two sockets after a 101; `onClosed` runs once, when the tunnel is gone. */
  open(
    client: Duplex,
    upstream: Duplex,
    clientHead: Buffer,
    upstreamHead: Buffer,
    tag: TunnelTag,
    onClosed: () => void,
  ): void {
    this.#handshakes.delete(client);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.#open.delete(tunnel);
      client.destroy();
      upstream.destroy();
      onClosed();
    };
    const tunnel: Tunnel = { pool: tag.pool, node: tag.node, close };
    this.#open.add(tunnel);
    const ended = (other: Duplex) => () => {
      // Let what was sent before the end reach the other side, but do not wait on a peer
      // that ignores half-close.
      other.end();
      setTimeout(close, HALF_CLOSE_GRACE_MS).unref();
    };
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      socket.on('error', close);
      socket.on('close', close);
      if (socket.readableEnded) ended(other)();
      else socket.on('end', ended(other));
      const tcp = socket as Partial<Socket>;
      tcp.setNoDelay?.(true);
      tcp.setTimeout?.(this.#idleTimeoutMs, close);
    }
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (clientHead.length > 0) upstream.write(clientHead);
    client.pipe(upstream, { end: false });
    upstream.pipe(client, { end: false });
  }

  /** A promotion made `active` the pool's node: close the pool's tunnels to any other node. */
  closeDemoted(pool: string, active: string | undefined): number {
    let count = 0;
    for (const tunnel of [...this.#open]) {
      if (tunnel.pool !== pool || tunnel.node === active) continue;
      tunnel.close();
      count += 1;
    }
    return count;
  }

  /** Destroys every tunnel (both ends) and every handshake in progress (shutdown). */
  closeAll(): void {
    for (const tunnel of [...this.#open]) tunnel.close();
    for (const socket of this.#handshakes) socket.destroy();
    this.#handshakes.clear();
  }
}
