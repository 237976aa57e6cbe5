import type { PolicyRef } from '../policy/types.ts';
import type { Plugin } from '../policy/plugin.ts';
import type { LogLevel } from '../util/logger.ts';
import type {
  BreakerSettings,
  Duration,
  EscapedSlashes,
  HealthSettings,
  HedgeSettings,
  NodeConfig,
  NodeSettings,
  PassiveSettings,
  Pem,
  PemSettings,
  PoolSectionsConfig,
  RetrySettings,
  Size,
  TimeoutSettings,
  UpstreamTlsConfig,
  UpstreamTlsSettings,
} from '../vocabulary.ts';

// The leaf shapes live in vocabulary.ts (shared with policy, health, breaker, proxy); they are
// published from here, next to the config types that use them.
export type {
  Duration,
  Size,
  StatusMatch,
  EscapedSlashes,
  Pem,
  NodeConfig,
  HealthConfig,
  PassiveConfig,
  BreakerConfig,
  RetryConfig,
  HedgeConfig,
  TimeoutsConfig,
  PoolSectionsConfig,
  UpstreamTlsConfig,
  StatusRange,
  NodeSettings,
  HealthSettings,
  PassiveSettings,
  BreakerSettings,
  RetrySettings,
  HedgeSettings,
  TimeoutSettings,
  PemSettings,
  UpstreamTlsSettings,
} from '../vocabulary.ts';

/**
 * Two shapes live here: what a user writes in `gateway.config.ts` (the *Config types, with
 * optional fields, durations as strings) and what the gateway runs on after validation
 * (the *Settings types: every default filled in, durations in milliseconds).
 */

export interface ListenConfig {
  host?: string;
  port: number;
  /** Peers (addresses, CIDRs, or 'loopback' / 'linklocal' / 'uniquelocal') whose X-Forwarded-* headers are believed. */
  trustedProxies?: string[];
  /** Terminate TLS on this listener (HTTPS; HTTP/2 too unless `http2: false`). */
  tls?: ListenerTlsConfig;
  /** Offer HTTP/2 (ALPN `h2`) next to HTTP/1.1 on a TLS listener. Default true. */
  http2?: boolean;
}

export interface ListenerTlsConfig {
  /** The default certificate (chain) and its key. */
  cert?: Pem;
  key?: Pem;
  /** More certificates, chosen by the name the client asks for (SNI); `*.example.com` wildcards. */
  certificates?: Array<{ hosts: string[]; cert: Pem; key: Pem }>;
  /** CA(s) of client certificates: asks clients for one (mTLS). */
  ca?: Pem;
  /** With `ca`: `'require'` (default) refuses a client without a valid certificate, `'request'` lets it in without the subject header. */
  clientCertificate?: 'request' | 'require';
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are not affected). */
  ciphers?: string;
}

export interface Http2Config {
  /** Streams one client connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams?: number;
  /** The window the flood limits below count in. */
  floodWindow?: Duration;
  /** Streams a client may cancel (RST_STREAM) per window before its connection is closed (rapid reset, CVE-2023-44487). */
  maxResets?: number;
  /** PING frames a client may send per window. */
  maxPings?: number;
  /** SETTINGS frames a client may send per window. */
  maxSettings?: number;
}

export interface ServerConfig {
  /** Time for a client to send all request headers (slowloris guard). */
  headersTimeout?: Duration;
  /** Time for a client to send the whole request, body included. */
  requestTimeout?: Duration;
  /** How long an idle client keep-alive connection stays open. */
  keepAliveTimeout?: Duration;
  maxHeaderSize?: Size;
  /** Default request body limit for routes without their own; `false` for none. */
  maxBody?: Size | false;
  /** On SIGTERM, how long in-flight requests may take before the gateway exits anyway. */
  drainTimeout?: Duration;
  /**
   * What `%2F` and `%5C` in a path become: `'keep'` (default) forwards them inside their
   * segment, `'decode'` turns them into `/` before routing, `'reject'` answers 400.
   */
  escapedSlashes?: EscapedSlashes;
  /** A client that accepts no response bytes for this long is disconnected (NGINX's send_timeout). */
  sendTimeout?: Duration;
  /** HTTP/2 limits on TLS listeners. */
  http2?: Http2Config;
}

export interface AdminConfig {
  host?: string;
  port: number;
  /** Bearer token for mutating calls; falls back to the BATON_ADMIN_TOKEN environment variable. */
  token?: string;
  /** Also require the token for reads (status, metrics, events, dashboard). */
  tokenForReads?: boolean;
  /**
   * Host names (without port) the admin API answers to besides the address it listens on
   * (and `localhost` forms when that is a loopback or wildcard address): names it is reached by
   * through a proxy or DNS. Other Host headers get 403 (a DNS rebinding guard).
   */
  allowedHosts?: string[];
  /** Concurrent `GET /events` streams; more get 503. */
  maxEventStreams?: number;
}

export interface ClusterConfig {
  name?: string;
  instanceId?: string;
  /** `redis://…` / `rediss://…` URL or ioredis options (password, TLS, Sentinel). No redis: in-memory store. */
  redis?: string | Record<string, unknown>;
  quorum?: number | 'majority';
  resyncInterval?: Duration;
  /** How often this instance refreshes its liveness key; it counts as gone after 3 missed beats. */
  heartbeatInterval?: Duration;
  /**
   * While Redis is declared lost, may this instance fail over on its own (a provisional epoch,
   * reconciled when Redis returns)? `false`: only Redis mints epochs, so no epoch ever reaches
   * two nodes, at the price of no failover on an instance cut off from Redis. Default true.
   */
  localFailover?: boolean;
}

/** What `policy:` accepts: a name, a name with options, or a value from a policy factory. */
export type PolicyChoice = string | ({ name: string } & Record<string, unknown>) | PolicyRef;

export interface PoolConfig extends PoolSectionsConfig {
  policy: PolicyChoice;
  nodes: NodeConfig[];
  /** TLS settings for `https://` nodes. */
  tls?: UpstreamTlsConfig;
}

export interface RouteConfig<P extends string = string> {
  name?: string;
  /** Exact host, or `*.example.com` for any subdomain. Matched without the port. */
  host?: string;
  /** Path prefix matched on segment boundaries: `/api` matches `/api` and `/api/x`, never `/apix`. */
  path?: string;
  methods?: string[];
  /** Required unless the route redirects. */
  pool?: P;
  /** `'https'`: answer plain-HTTP requests with a 308 to the same URL on the HTTPS listener (TLS requests skip the route). */
  redirect?: 'https';
  /** Remove the matched prefix before forwarding. */
  stripPath?: boolean;
  websocket?: boolean;
  maxBody?: Size | false;
}

export interface LogConfig {
  level?: LogLevel;
  /** One JSON line per request. */
  access?: boolean;
}

export interface BatonConfig<P extends string = string> {
  /** One listener, or several (an HTTPS port and an HTTP port, say). */
  listen: ListenConfig | ListenConfig[];
  server?: ServerConfig;
  admin?: AdminConfig | false;
  cluster?: ClusterConfig;
  log?: LogConfig;
  /**
   * Worker processes sharing the listening sockets (node:cluster), under a supervisor. 1 (the
   * default): one process, no supervisor. 'auto': one per available core.
   */
  workers?: number | 'auto';
  plugins?: Array<string | Plugin>;
  pools: Record<P, PoolConfig>;
  routes: Array<RouteConfig<NoInfer<P>>>;
}

export interface ConfigEnv {
  env: Readonly<Record<string, string | undefined>>;
  /** 'start' or 'check'. */
  command: string;
}

export type ConfigFn<P extends string = string> = (env: ConfigEnv) => BatonConfig<P> | Promise<BatonConfig<P>>;

// ---------------------------------------------------------------------------------------
// Normalized settings: what validation produces and the gateway runs on.

export interface ResolvedPolicy {
  readonly name: string;
  readonly ref: PolicyRef;
}

export interface CertificateSettings {
  /** Names it serves ([] for the default certificate); exact or `*.example.com`. */
  readonly hosts: readonly string[];
  readonly cert: PemSettings;
  readonly key: PemSettings;
}

export interface ListenerTlsSettings {
  /** The first one without hosts is the default; the others are chosen by SNI. */
  readonly certificates: readonly CertificateSettings[];
  readonly ca: PemSettings | undefined;
  readonly clientCertificate: 'none' | 'request' | 'require';
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly ciphers: string | undefined;
}

export interface ListenerSettings {
  readonly host: string;
  readonly port: number;
  readonly trustedProxies: readonly string[];
  readonly tls: ListenerTlsSettings | undefined;
  readonly http2: boolean;
}

export interface Http2Settings {
  readonly maxConcurrentStreams: number;
  readonly floodWindowMs: number;
  readonly maxResets: number;
  readonly maxPings: number;
  readonly maxSettings: number;
}

export interface PoolSettings {
  readonly name: string;
  readonly policy: ResolvedPolicy;
  readonly nodes: readonly NodeSettings[];
  readonly health: HealthSettings | false;
  readonly passive: PassiveSettings | false;
  readonly breaker: BreakerSettings | false;
  readonly retry: RetrySettings;
  readonly hedge: HedgeSettings | false;
  readonly timeouts: TimeoutSettings;
  /** For `https://` nodes; undefined: Node's defaults. */
  readonly tls: UpstreamTlsSettings | undefined;
}

export interface RouteSettings {
  readonly name: string;
  readonly host: string | undefined;
  readonly path: string;
  readonly methods: readonly string[] | undefined;
  /** Empty for a redirect route. */
  readonly pool: string;
  readonly redirect?: 'https';
  readonly stripPath: boolean;
  readonly websocket: boolean;
  readonly maxBody: number | false;
}

export interface GatewaySettings {
  /** In config order; the first is the one `Listening.url` names. */
  readonly listeners: readonly ListenerSettings[];
  readonly server: {
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly maxHeaderSize: number;
    readonly drainTimeoutMs: number;
    readonly escapedSlashes: EscapedSlashes;
    readonly sendTimeoutMs: number;
    readonly http2: Http2Settings;
  };
  readonly admin:
    | {
        readonly host: string;
        readonly port: number;
        readonly token: string | undefined;
        readonly tokenForReads: boolean;
        readonly allowedHosts: readonly string[];
        readonly maxEventStreams: number;
      }
    | false;
  readonly cluster: {
    readonly name: string;
    readonly instanceId: string;
    readonly redis: string | Record<string, unknown> | undefined;
    readonly quorum: number | 'majority';
    readonly resyncIntervalMs: number;
    readonly heartbeatIntervalMs: number;
    readonly localFailover: boolean;
  };
  readonly log: { readonly level: LogLevel; readonly access: boolean };
  /** Worker processes ('auto' resolved to the available cores). */
  readonly workers: number;
  readonly plugins: readonly Plugin[];
  readonly pools: ReadonlyMap<string, PoolSettings>;
  readonly routes: readonly RouteSettings[];
  /** The files this config was read from (the config file, plugin files): what --watch watches. */
  readonly sources?: readonly string[];
}
