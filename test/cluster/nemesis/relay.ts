import net from 'node:net';

/**
 * A TCP relay between one gateway and one upstream node, so that the nemesis can cut that one
 * gateway off that one node (a partition) while the others still reach it. Used only when the
 * faults include `gateway-partition`; otherwise the gateways connect to the upstreams directly.
 *
 * It mirrors the upstream: while the upstream process is dead the relay refuses connections
 * (as the dead port would) and resets the ones it had; while the upstream is hung, the relay
 * connects and waits like any client. Cut, it accepts connections and forwards nothing, in
 * either direction (packets dropped; connections already open go silent too).
 */
export class Relay {
  port = 0;
  readonly #upstreamPort: () => number;
  readonly #pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  #server: net.Server | undefined;
  #cut = false;

  constructor(upstreamPort: () => number) {
    this.#upstreamPort = upstreamPort;
  }

  get cut(): boolean {
    return this.#cut;
  }

  /** Listens (again, on the same port once it has one). */
  async open(): Promise<void> {
    if (this.#server) return;
    const server = net.createServer((client) => this.#accept(client));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** The upstream died: refuse new connections, reset the open ones. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const pair of this.#pairs) this.#drop(pair);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The partition starts: nothing passes any more. */
  partition(): void {
    this.#cut = true;
    for (const { client, upstream } of this.#pairs) {
      client.pause();
      upstream.pause();
      client.unpipe(upstream);
      upstream.unpipe(client);
    }
  }

  /** The partition heals: what was held is lost (reset), new connections pass. */
  heal(): void {
    this.#cut = false;
    for (const pair of this.#pairs) this.#drop(pair);
  }

  #accept(client: net.Socket): void {
    const pair = { client, upstream: new net.Socket() };
    this.#pairs.add(pair);
    client.on('error', () => pair.upstream.destroy());
    client.once('close', () => this.#pairs.delete(pair));
    if (this.#cut) {
      // Accepted and held: the gateway's requests time out, as across a dropped link.
      client.pause();
      return;
    }
    const upstream = net.connect(this.#upstreamPort(), '127.0.0.1');
    pair.upstream = upstream;
    // Refused or reset on the upstream side: the gateway sees a reset, as a dying process would send.
    upstream.on('error', () => client.resetAndDestroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  #drop(pair: { client: net.Socket; upstream: net.Socket }): void {
    this.#pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.upstream.destroy();
  }
}
