import { Redis, type RedisOptions } from 'ioredis';
import { keyNames, type ClusterKeys } from './redis-keys.ts';
import {
  drainScript,
  heartbeatScript,
  leaveScript,
  proposeScript,
  renewHistoryScript,
  reportScript,
  seedActiveScript,
  snapshotScript,
} from './redis-scripts.ts';

/**
 * The two Redis connections of one instance and the scripts on them. Commands fail fast
 * rather than queue: a vote or a proposal held while Redis is unreachable and sent later
 * could overwrite newer state (ioredis' offline queue and resend-on-reconnect are off). The
 * subscriber connection is separate because a subscribed connection is dedicated to pub/sub.
 */
const scripts = {
  heartbeat: heartbeatScript,
  report: reportScript,
  propose: proposeScript,
  seedActive: seedActiveScript,
  drain: drainScript,
  leave: leaveScript,
  renewHistory: renewHistoryScript,
  snapshot: snapshotScript,
} as const;

export type ScriptName = keyof typeof scripts;

/** Runs a script with the cluster's keys; the arguments follow them (see redis-scripts.ts). */
export type RunScript = (name: ScriptName, args: ReadonlyArray<string | number>) => Promise<unknown>;

export interface Connections {
  readonly cmd: Redis;
  readonly sub: Redis;
  readonly run: RunScript;
}

export function openConnections(target: string | Record<string, unknown>, timeoutMs: number, keys: ClusterKeys): Connections {
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
  for (const [name, lua] of Object.entries(scripts)) cmd.defineCommand(`baton_${name}`, { numberOfKeys: keyNames.length, lua });
  const commands = cmd as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return {
    cmd,
    sub,
    run: (name, args) => commands[`baton_${name}`]!(...keys.keys, ...args),
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
