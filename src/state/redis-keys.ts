/**
 * Where one cluster's state lives in Redis: every key, built in this one place and handed to
 * every script in the same order (KEYS[1..n]); scripts compute no key names of their own.
 *
 * Every key is `baton:{<cluster>}:<name>`: the braces are a Redis Cluster hash tag, so all of a
 * cluster's keys hash to one slot and every script (which touches several of them atomically)
 * runs on one node. On a single Redis or behind Sentinel the braces are just characters.
 * Keys from before the hash tag (`baton:<cluster>:…`) are not read: the first instance of an
 * upgraded fleet finds Redis empty and re-seeds it from what the instances know (README).
 *
 *   health     hash   "<pool>/<node>" → cluster record {verdict, since, reason, version, down, ups}
 *   votes      hash   "<pool>/<node>|<instance>" → "up" | "down" | "unknown" (live instances only)
 *   nodes      set    "<pool>/<node>" that have votes (walked when an instance goes)
 *   active     hash   pool → {active, epoch, since, reason, by, id, from, flips, pinned}
 *   instances  zset   instance → last heartbeat (ms, Redis time)
 *   started    hash   instance → start time
 *   owners     hash   instance → "<token> <startedAt>" of the process holding that id
 *   marks      hash   instance → how many scripts that instance ran (see redis-history.ts)
 *   seq        string bumped by every notice (subscribers see gaps)
 *   drain      hash   "<pool>/<node>" → {draining, by, version}
 *   history    string a random id, renewed whenever Redis is found to have lost state
 * and one pub/sub channel, `baton:{<cluster>}:events`, for change notices.
 */
export const keyNames = [
  'health',
  'votes',
  'nodes',
  'active',
  'instances',
  'started',
  'owners',
  'marks',
  'seq',
  'drain',
  'history',
] as const;

export type KeyName = (typeof keyNames)[number];

export interface ClusterKeys {
  /** Every key, in `keyNames` order. */
  readonly keys: readonly string[];
  readonly key: Readonly<Record<KeyName, string>>;
  readonly channel: string;
}

export function clusterKeys(cluster: string): ClusterKeys {
  const prefix = `baton:{${cluster}}:`;
  const key = Object.fromEntries(keyNames.map((name) => [name, `${prefix}${name}`])) as Record<KeyName, string>;
  return { keys: keyNames.map((name) => key[name]), key, channel: `${prefix}events` };
}

/** The Lua prelude naming the keys: `K.health` is KEYS[1], and so on. */
export const luaKeys = `local K = { ${keyNames.map((name, i) => `${name} = KEYS[${i + 1}]`).join(', ')} }\n`;
