import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
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
  readonly cmd: Redis | Cluster;
  readonly sub: Redis | Cluster;
  readonly run: RunScript;
}

/**
 * `cluster.redis` as ioredis takes it. A URL (`redis://`, `rediss://` for TLS) or ioredis
 * options reach one Redis; options with `sentinels` and `name` follow the primary through
 * Sentinel; options with `cluster: [startup nodes]` (URLs or `{ host, port }`) open a Redis
 * Cluster, the other options then apply to every node (password, username, tls).
 */
export function openConnections(
  target: string | Record<string, unknown>,
  timeoutMs: number,
  keys: ClusterKeys,
): Connections {
  const ours = ourOptions(timeoutMs);
  const cmd =
    typeof target === 'string'
      ? new Redis(target, ours)
      : Array.isArray(target.cluster)
        ? openCluster(target, ours)
        : new Redis({ ...(target as RedisOptions), ...ours });
  // The subscriber must queue SUBSCRIBE until it is connected, and has no command timeout.
  const sub =
    cmd instanceof Cluster
      ? cmd.duplicate(undefined, {
          enableOfflineQueue: true,
          redisOptions: {
            ...cmd.options.redisOptions,
            commandTimeout: undefined,
            autoResubscribe: true,
            connectionName: 'baton-sub',
          },
        })
      : cmd.duplicate({
          enableOfflineQueue: true,
          commandTimeout: undefined,
          autoResubscribe: true,
          connectionName: 'baton-sub',
        });
  for (const client of [cmd, sub]) client.on('error', () => {}); // reported through connection state instead
  for (const [name, lua] of Object.entries(scripts))
    cmd.defineCommand(`baton_${name}`, { numberOfKeys: keyNames.length, lua });
  const commands = cmd as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return {
    cmd,
    sub,
    run: (name, args) => commands[`baton_${name}`]!(...keys.keys, ...args),
  };
}

function ourOptions(timeoutMs: number): RedisOptions {
  return {
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
}

/**
 * A Redis Cluster. Every key of a Baton cluster is in one slot (redis-keys.ts), so every script
 * runs on one node; notices are classic pub/sub, which a Redis Cluster broadcasts to all nodes,
 * so the subscriber may sit on any node. A failover inside the Redis Cluster is followed by
 * ioredis (MOVED, slot refresh); the history id and marks catch a replica promoted behind.
 */
function openCluster(target: Record<string, unknown>, ours: RedisOptions): Cluster {
  const { cluster: startup, ...nodeOptions } = target as unknown as {
    cluster: Array<string | { host: string; port: number }>;
  } & RedisOptions;
  const { enableOfflineQueue, retryStrategy, lazyConnect, ...perNode } = ours;
  return new Cluster(startup.map(startupNode), {
    lazyConnect,
    enableOfflineQueue,
    clusterRetryStrategy: retryStrategy as (times: number) => number,
    // A slot that moves is retried at once; a cluster that is down fails the command (no waiting).
    retryDelayOnClusterDown: 0,
    redisOptions: { ...nodeOptions, ...perNode },
  });
}

/** `redis://[user:pass@]host:port` or `{ host, port }`; credentials in a URL apply to that node only if none are given. */
function startupNode(node: string | { host: string; port: number }): ClusterNode {
  if (typeof node !== 'string') return node;
  const url = new URL(node);
  return { host: url.hostname, port: Number(url.port || 6379) };
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
      if (client.status === 'ready')
        await Promise.race([client.quit(), new Promise((resolve) => setTimeout(resolve, 500))]);
      client.disconnect();
    }),
  );
}
