import { Redis, type RedisOptions } from 'ioredis';
import { drainScript, heartbeatScript, leaveScript, proposeScript, reportScript, seedActiveScript } from './redis-scripts.ts';

/**
 * The two Redis connections of one instance and the scripts on them. Commands fail fast
 * rather than queue: a vote or a proposal held while Redis is unreachable and sent later
 * could overwrite newer state (ioredis' offline queue and resend-on-reconnect are off). The
 * subscriber connection is separate because a subscribed connection is dedicated to pub/sub.
 */
export interface ScriptCalls {
  report(prefix: string, instance: string, pool: string, node: string, verdict: string, reason: string, quorum: string, windowMs: number): Promise<string | null>;
  propose(prefix: string, pool: string, expected: number, to: string, reason: string, instance: string): Promise<[number, string]>;
  seedActive(prefix: string, pool: string, state: string): Promise<string>;
  heartbeat(prefix: string, instance: string, startedAt: number, windowMs: number, quorum: string, bootCandidate: string): Promise<[string, number]>;
  leave(prefix: string, instance: string, windowMs: number, quorum: string): Promise<number>;
  drain(prefix: string, pool: string, node: string, draining: '1' | '0', instance: string): Promise<number>;
}

export interface Connections {
  readonly cmd: Redis;
  readonly sub: Redis;
  readonly scripts: ScriptCalls;
}

export function openConnections(target: string | Record<string, unknown>, timeoutMs: number): Connections {
  const ours: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(1000, timeoutMs * 2),
    // Reconnect quickly and keep trying: the gateway heals as soon as Redis is back.
    retryStrategy: (times) => Math.min(50 * times, 1000),
    connectionName: 'baton',
  };
  const cmd = typeof target === 'string' ? new Redis(target, ours) : new Redis({ ...(target as RedisOptions), ...ours });
  // The subscriber must queue SUBSCRIBE until it is connected, and has no command timeout.
  const sub = cmd.duplicate({ enableOfflineQueue: true, commandTimeout: undefined, autoResubscribe: true, connectionName: 'baton-sub' });
  for (const client of [cmd, sub]) client.on('error', () => {}); // reported through connection state instead
  const define = (name: string, lua: string) => cmd.defineCommand(name, { numberOfKeys: 0, lua });
  define('batonReport', reportScript);
  define('batonPropose', proposeScript);
  define('batonSeedActive', seedActiveScript);
  define('batonHeartbeat', heartbeatScript);
  define('batonLeave', leaveScript);
  define('batonDrain', drainScript);
  const c = cmd as unknown as Record<string, (...args: unknown[]) => Promise<never>>;
  return {
    cmd,
    sub,
    scripts: {
      report: (...args) => c.batonReport!(...args),
      propose: (...args) => c.batonPropose!(...args),
      seedActive: (...args) => c.batonSeedActive!(...args),
      heartbeat: (...args) => c.batonHeartbeat!(...args),
      leave: (...args) => c.batonLeave!(...args),
      drain: (...args) => c.batonDrain!(...args),
    },
  };
}

/** Resolves when both connections are ready, or rejects (never hangs past `ms`). */
export async function connectWithin(connections: Connections, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis not reachable within ${ms}ms`)), ms);
  });
  try {
    await Promise.race([Promise.all([connections.cmd.connect(), connections.sub.connect()]), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function closeConnections(connections: Connections): Promise<void> {
  await Promise.allSettled(
    [connections.cmd, connections.sub].map(async (client) => {
      if (client.status === 'ready') await Promise.race([client.quit(), new Promise((resolve) => setTimeout(resolve, 500))]);
      client.disconnect();
    }),
  );
}
