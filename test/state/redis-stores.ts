import net from 'node:net';
import type { ExecutionContext } from 'ava';
import { RedisStore, type RedisStoreOptions } from '../../src/state/redis-store.ts';
import type { StoreChange } from '../../src/state/types.ts';
import { systemClock, type Clock } from '../../src/util/clock.ts';
import { silentLogger } from '../../src/util/logger.ts';

/** A Redis store of cluster 'test' on `url`, stopped when the test ends (not started). */
export function redisStore(
  t: ExecutionContext,
  url: string,
  instanceId: string,
  options: Partial<RedisStoreOptions> = {},
): RedisStore {
  const store = new RedisStore({
    instanceId,
    cluster: 'test',
    redis: url,
    quorum: 1,
    resyncIntervalMs: 1000,
    heartbeatIntervalMs: 200,
    clock: systemClock(),
    log: silentLogger(),
    ...options,
  });
  t.teardown(() => store.stop());
  return store;
}

/** Every change a store announces, in order. */
export function changesOf(store: RedisStore): StoreChange[] {
  const changes: StoreChange[] = [];
  store.onChange((change) => changes.push(change));
  return changes;
}

/**
 * The system clock whose timers can be held: while paused, nothing scheduled through it runs
 * (what a SIGSTOPped process or a long GC pause looks like to the store's heartbeat loop).
 */
export class PausableClock implements Clock {
  readonly #system = systemClock();
  readonly #held: Array<() => void> = [];
  #paused = false;
  /** Milliseconds added to the system clock (a host whose clock is off). */
  skew = 0;

  now(): number {
    return this.#system.now() + this.skew;
  }

  schedule(ms: number, fn: () => void): () => void {
    let cancelled = false;
    const cancel = this.#system.schedule(ms, () => (this.#paused ? this.#held.push(() => !cancelled && fn()) : fn()));
    return () => {
      cancelled = true;
      cancel();
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.#system.sleep(ms, signal);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    for (const fn of this.#held.splice(0)) fn();
  }
}

/**
 * A TCP proxy in front of Redis that the test can cut: one instance loses Redis while the
 * others keep it (a network partition). Cut: every connection is dropped and new ones are
 * refused until `heal()`.
 */
export interface Partition {
  readonly url: string;
  cut(): void;
  heal(): void;
}

export async function partitionable(t: ExecutionContext, redisPort: number): Promise<Partition> {
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) return client.destroy();
    const upstream = net.connect(redisPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    heal() {
      open = true;
    },
  };
}
