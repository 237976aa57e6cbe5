/**
 * The words every layer shares, in one module that imports nothing: config, policy, health,
 * breaker, state and proxy all read these, so none of them needs another's types for them.
 * Three kinds live here: a node's states (health, breaker) and how an attempt ended, what a
 * user writes for one pool section (the leaf *Config shapes, durations as strings), and what the
 * gateway runs on for it (the leaf *Settings shapes, defaults filled in, durations in ms). The
 * public API re-exports them from `config/types.ts` and `policy/types.ts`, where they have
 * always been published.
 */

// ---------------------------------------------------------------------------------------
// A node's states and how one attempt ended.

export type Health = 'up' | 'down' | 'unknown';
export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * How one attempt ended. `connect` and `breaker-open` mean the request provably never reached
 * the node; `reset`, `timeout` and `bad-response` mean it may have.
 */
export type OutcomeKind =
  | 'ok'
  | 'status'
  | 'connect'
  | 'timeout'
  | 'reset'
  | 'bad-response'
  | 'breaker-open'
  | 'aborted';

export interface AttemptOutcome {
  readonly kind: OutcomeKind;
  /** Upstream status, when headers arrived. */
  readonly status?: number;
  readonly latencyMs: number;
  /** Counts against the node (health, breaker); 4xx and client aborts never do. */
  readonly failed: boolean;
  readonly detail?: string;
}

// ---------------------------------------------------------------------------------------
// Leaf shapes of what a user writes in `gateway.config.ts`: units and one pool section each.

/** `250` (milliseconds), `'250ms'`, `'5s'`, `'1m'`. */
export type Duration = number | string;
/** `65536` (bytes), `'64kb'`, `'1mb'`. */
export type Size = number | string;
/** A status code, a class such as `'2xx'`, or an inclusive range such as `'200-399'`. */
export type StatusMatch = number | string;

/** What `%2F` and `%5C` in a request path become (see `server.escapedSlashes`). */
export type EscapedSlashes = 'keep' | 'decode' | 'reject';

/** PEM text (starting with `-----BEGIN`) or the path of a PEM file (relative to the config file). */
export type Pem = string;

export interface NodeConfig {
  url: string;
  /** Stable name across instances and reloads; defaults to host:port. */
  id?: string;
  weight?: number;
  /** 0 = primary; higher tiers are used only when every lower tier is unusable. */
  tier?: number;
  standby?: 'hot' | 'cold';
}

export interface HealthConfig {
  path?: string;
  interval?: Duration;
  timeout?: Duration;
  /** Consecutive passing probes before a down node is up again. */
  rise?: number;
  /** Consecutive failing probes before an up node is down. */
  fall?: number;
  /** Statuses that count as passing; default 200-399. */
  expect?: StatusMatch | StatusMatch[];
}

export interface PassiveConfig {
  /** Consecutive failed requests (reset, timeout, listed status) before the node is ejected. */
  failures?: number;
  statuses?: number[];
  /** First ejection length; each repeated ejection lasts this times the count, capped. */
  ejectTime?: Duration;
  maxEjectTime?: Duration;
}

export interface BreakerConfig {
  errorThresholdPercentage?: number;
  volumeThreshold?: number;
  resetTimeout?: Duration;
  window?: Duration;
}

export interface RetryConfig {
  /** Total tries per request, the first included. */
  attempts?: number;
  /** Retry POST/PATCH/… after the request may have reached the upstream (only safe with idempotency keys). */
  nonIdempotent?: boolean;
  /** Bodies up to this size are kept for replay; larger ones stream and are never replayed. */
  bufferBody?: Size;
  /** When no node is usable, wait this long for a recovery or failover before answering 503. */
  waitForNode?: Duration;
  /** Overall budget for one request, retries and waiting included. */
  deadline?: Duration;
  /** Upstream statuses that count as a failed try (and are retried when allowed). */
  statuses?: number[];
}

export interface HedgeConfig {
  /**
   * How long to wait for response headers before sending the same request to another node:
   * a duration, or `'auto'` (learned per pool from recent latencies: the p95, with a floor).
   */
  after?: Duration | 'auto';
  /** Extra copies of one request at most (each one is a try, counted in `retry.attempts`). */
  max?: number;
  /** Hedges at most this share of requests (a token bucket): `'5%'`, or a number of percent. */
  budget?: string | number;
}

export interface TimeoutsConfig {
  /** TCP connect to a node. */
  connect?: Duration;
  /**
   * From the end of the request to the response headers (for a websocket handshake: to the
   * 101 or another answer), and the longest pause inside the response body while the client
   * keeps up.
   */
  response?: Duration;
}

/**
 * The per-pool sections that both a user (`PoolConfig`) and a policy (`PoolDefaults`) may set.
 * `false` turns a section off.
 */
export interface PoolSectionsConfig {
  health?: HealthConfig | false;
  passive?: PassiveConfig | false;
  breaker?: BreakerConfig | false;
  retry?: RetryConfig;
  /** Hedged requests for requests that may be sent twice; `false` turns them off. */
  hedge?: HedgeConfig | false;
  timeouts?: TimeoutsConfig;
}

/** TLS to a pool's `https://` nodes. */
export interface UpstreamTlsConfig {
  /** CA(s) that sign the nodes' certificates (a private CA); default: Node's public CAs. */
  ca?: Pem;
  /** The name the nodes' certificates are checked against (and sent as SNI); default: the node URL's host. */
  servername?: string;
  /** `false` accepts any certificate (testing only). Default true. */
  rejectUnauthorized?: boolean;
  /** A client certificate and key for nodes that require mTLS. */
  cert?: Pem;
  key?: Pem;
}

// ---------------------------------------------------------------------------------------
// Leaf shapes of what the gateway runs on, after validation: one pool section each.

export interface StatusRange {
  readonly min: number;
  readonly max: number;
}

export interface NodeSettings {
  readonly id: string;
  readonly url: URL;
  readonly weight: number;
  readonly tier: number;
  readonly standby: 'hot' | 'cold' | undefined;
}

export interface HealthSettings {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  readonly expect: readonly StatusRange[];
}

export interface PassiveSettings {
  readonly failures: number;
  readonly statuses: readonly number[];
  readonly ejectTimeMs: number;
  readonly maxEjectTimeMs: number;
}

export interface BreakerSettings {
  readonly errorThresholdPercentage: number;
  readonly volumeThreshold: number;
  readonly resetTimeoutMs: number;
  readonly windowMs: number;
}

export interface RetrySettings {
  readonly attempts: number;
  readonly nonIdempotent: boolean;
  readonly bufferBody: number;
  readonly waitForNodeMs: number;
  readonly deadlineMs: number;
  readonly statuses: readonly number[];
}

export interface HedgeSettings {
  /** A fixed delay in ms, or 'auto' (learned per pool). */
  readonly after: number | 'auto';
  readonly max: number;
  /** The share of requests that may be hedged, 0..1. */
  readonly budget: number;
}

export interface TimeoutSettings {
  readonly connectMs: number;
  readonly responseMs: number;
}

/** PEM text, and the file it was read from (watched by --watch), if any. */
export interface PemSettings {
  readonly pem: string;
  readonly file: string | undefined;
}

export interface UpstreamTlsSettings {
  readonly ca: PemSettings | undefined;
  readonly servername: string | undefined;
  readonly rejectUnauthorized: boolean;
  readonly cert: PemSettings | undefined;
  readonly key: PemSettings | undefined;
}
