/**
 * The nemesis' faults: what each does, what it hits, how long it lasts. The planner draws from
 * these; execute.ts carries them out on real processes.
 *
 * `pending` marks the faults that `main` does not survive yet: each names the part of issue 10
 * that fixes it. The in-suite nemesis runs only the faults without `pending`; once a fix is
 * merged, delete its `pending` and the suite runs that fault too (bench/nemesis.ts runs any set).
 */

/** What a fault hits, and so which other faults it must not overlap. */
export type FaultTarget = 'upstream' | 'redis' | 'gateway' | 'partition' | 'failover' | 'drain';

export interface FaultSpec {
  readonly target: FaultTarget;
  readonly summary: string;
  /** How long the fault lasts before it heals, in ms (drawn uniformly). */
  readonly holdMs: readonly [number, number];
  /** Time to reserve for applying and healing it (process restarts), on a busy machine. */
  readonly overheadMs: number;
  /** Needs a replica and Sentinel (the gateways then find Redis through Sentinel). */
  readonly sentinel?: true;
  /** Needs a relay between each gateway and each node (relay.ts). */
  readonly relays?: true;
  /** Why `main` fails with this fault (the issue 10 item that fixes it); absent: must pass. */
  readonly pending?: string;
}

export const FAULTS = {
  'upstream-kill': {
    target: 'upstream',
    summary: 'kill -9 an upstream node; restart it on the same port when it heals',
    holdMs: [500, 3000],
    overheadMs: 2000,
  },
  'upstream-hang': {
    target: 'upstream',
    summary: 'SIGSTOP an upstream node (accepts connections, answers nothing); SIGCONT when it heals',
    holdMs: [500, 3000],
    overheadMs: 300,
  },
  'redis-kill': {
    target: 'redis',
    summary: 'kill -9 Redis; restart it empty when it heals',
    holdMs: [500, 3000],
    overheadMs: 1500,
  },
  'redis-restart-empty': {
    target: 'redis',
    summary: 'kill -9 Redis and restart it empty at once (a blip the instances may not see as lost)',
    holdMs: [0, 0],
    overheadMs: 1500,
  },
  'redis-pause': {
    target: 'redis',
    summary: 'SIGSTOP Redis (sockets open, no answers); SIGCONT when it heals',
    holdMs: [300, 3000],
    overheadMs: 300,
  },
  'redis-client-pause': {
    target: 'redis',
    summary: 'CLIENT PAUSE ALL on Redis while operators force failovers on two instances at once',
    holdMs: [200, 1200],
    overheadMs: 2000,
  },
  'redis-rollback': {
    target: 'redis',
    summary: 'snapshot Redis, force a failover (the epoch rises), then kill -9 and restart Redis from the snapshot',
    holdMs: [500, 2500],
    overheadMs: 2500,
  },
  'redis-lagging-failover': {
    target: 'redis',
    summary:
      'hold the replica back, force a failover (the epoch rises on the primary only), kill -9 the primary, Sentinel promotes the replica',
    holdMs: [500, 2500],
    overheadMs: 6000,
    sentinel: true,
  },
  'gateway-kill': {
    target: 'gateway',
    summary: 'kill -9 a gateway instance; restart it (same ports, same instance id) when it heals',
    holdMs: [500, 3000],
    overheadMs: 6000,
  },
  'gateway-pause': {
    target: 'gateway',
    summary: 'SIGSTOP a gateway instance, past its liveness window at times; SIGCONT when it heals',
    holdMs: [300, 3000],
    overheadMs: 300,
  },
  'gateway-clock-skew': {
    target: 'gateway',
    summary:
      'restart a gateway instance with its clock 20–60 s off (a Node preload shifts Date.now and performance.timeOrigin); restart it with the true clock when it heals',
    // Longer than the failback delay: the skewed instance must live through a failback decision.
    holdMs: [12_000, 20_000],
    overheadMs: 12_000,
  },
  'gateway-partition': {
    target: 'partition',
    summary:
      'cut one gateway off one node of the hot-standby pool (its relay forwards nothing); the others still reach it',
    holdMs: [1000, 5000],
    overheadMs: 500,
    relays: true,
  },
  'operator-failover': {
    target: 'failover',
    summary: 'POST /pools/hs/failover on a random instance',
    holdMs: [0, 0],
    overheadMs: 500,
  },
  'operator-drain': {
    target: 'drain',
    summary: 'drain a random node on a random instance; enable it (on a random instance) when it heals',
    holdMs: [1000, 4000],
    overheadMs: 500,
  },
} as const satisfies Record<string, FaultSpec>;

export type FaultKind = keyof typeof FAULTS;

export const ALL_FAULTS = Object.keys(FAULTS) as FaultKind[];

/** The faults `main` must already survive: the in-suite nemesis runs these. */
export const PASSING_FAULTS = ALL_FAULTS.filter((kind) => !('pending' in FAULTS[kind]));

export function spec(kind: FaultKind): FaultSpec {
  return FAULTS[kind];
}

/** `all`, `passing`, or a comma-separated list of kinds; throws on an unknown name. */
export function parseFaults(text: string): FaultKind[] {
  if (text === 'all') return [...ALL_FAULTS];
  if (text === 'passing') return [...PASSING_FAULTS];
  const kinds = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const kind of kinds)
    if (!(kind in FAULTS)) throw new Error(`unknown fault ${kind}; known: ${ALL_FAULTS.join(', ')}`);
  return kinds as FaultKind[];
}
