import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewaySettings, ListenerSettings } from './config/types.ts';
import { buildAdminApp, type AdminViews } from './admin/server.ts';
import { createMetrics, type GatewayMetrics } from './admin/metrics.ts';
import { ConfigError } from './config/validate.ts';
import { Listener, type CertificateStatus } from './listen/listener.ts';
import type { TlsContexts } from './listen/tls.ts';
import { statusDocument, type StatusDocument } from './admin/status.ts';
import { EventBus } from './events/bus.ts';
import { logEvents } from './events/event-log.ts';
import type { HeartbeatShare } from './health/heartbeat-share.ts';
import { buildApp } from './pipeline/app.ts';
import { whenResponseOver } from './pipeline/in-turn.ts';
import type { Runtime } from './pipeline/state.ts';
import { upgradeHandler } from './pipeline/upgrade.ts';
import { PluginHost } from './policy/plugin-host.ts';
import type { AttemptOutcome } from './policy/types.ts';
import { PoolSet } from './pool/pool-set.ts';
import type { ReloadSummary } from './pool/reconcile.ts';
import type { Pool } from './pool/pool.ts';
import type { UpstreamNode } from './pool/upstream-node.ts';
import { Forwarder } from './proxy/forwarder.ts';
import { WebSocketTunnels } from './proxy/websocket.ts';
import { createRouter } from './routing/router.ts';
import { createStore } from './state/create-store.ts';
import type { StateStore } from './state/types.ts';
import { systemClock, type Clock } from './util/clock.ts';
import { createLogger, type Logger } from './util/logger.ts';
import { createTrustedProxies } from './util/trusted-proxies.ts';

export interface GatewayOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Use this store instead of the one the settings describe (tests share one between gateways). */
  readonly store?: StateStore;
  /** Workers: heartbeats sent once per machine (src/workers/). Absent: this gateway probes. */
  readonly heartbeats?: HeartbeatShare;
  /** Workers: the admin API shows the machine (every worker) rather than this process. */
  readonly adminViews?: AdminViews;
  /** Called after every forwarding attempt, after the metrics (tests read the outcomes through it). */
  readonly onAttempt?: (pool: Pool, node: UpstreamNode, outcome: AttemptOutcome, retry: boolean) => void;
}

export interface Listening {
  /** The first listener's. */
  readonly url: string;
  readonly port: number;
  /** Every listener, in config order. */
  readonly listeners: ReadonlyArray<{
    readonly url: string;
    readonly port: number;
    readonly tls: boolean;
    readonly http2: boolean;
  }>;
  readonly adminUrl: string | undefined;
  readonly adminPort: number | undefined;
}

/** What a reload changed, and what it could not change without a restart. */
export interface ReloadResult extends ReloadSummary {
  readonly routes: number;
  readonly restartNeeded: string[];
}

export interface Gateway {
  start(): Promise<Listening>;
  /** Graceful: stop accepting, let in-flight requests finish (up to the drain timeout), close. */
  stop(): Promise<void>;
  /** Applies new settings without dropping a request or losing the state of unchanged nodes. */
  reload(settings: GatewaySettings): ReloadResult;
  status(): StatusDocument;
  /** The certificates the TLS listeners serve (expiry included). */
  certificates(): CertificateStatus[];
  readonly events: EventBus;
  readonly store: StateStore;
  /** The settings in force (the latest reload's). */
  readonly settings: GatewaySettings;
  readonly pools: PoolSet;
  readonly metrics: GatewayMetrics;
  readonly inflightRequests: number;
  /** The gateway's time (events are stamped with it). */
  readonly clock: Clock;
}

/** Idle websocket tunnels are closed after this long. */
const TUNNEL_IDLE_MS = 10 * 60_000;

/** The composition root: builds every part of one gateway from validated settings. */
export function createGateway(initial: GatewaySettings, options: GatewayOptions = {}): Gateway {
  const clock = options.clock ?? systemClock();
  const log = options.logger ?? createLogger({ level: initial.log.level });
  const bus = new EventBus();
  const store = options.store ?? createStore(initial.cluster, { clock, log });
  const plugins = new PluginHost(bus, log);
  logEvents(bus, log, store);
  const pools = new PoolSet({
    clock,
    store,
    bus,
    log,
    heartbeats: options.heartbeats,
    activate: async (pool, node) => {
      await plugins.activate(pool, node);
      node.probeNow();
    },
  });
  let listeners: Listener[] = [];
  const certificates = () => listeners.flatMap((listener) => listener.certificates());
  const metrics = createMetrics(() => pools, store, clock, certificates);
  bus.subscribe((event, seq) => metrics.onEvent(event, seq));
  plugins.use(initial.plugins);
  pools.build(initial.pools);
  let runtime = runtimeFor(initial, pools, plugins);

  let draining = false;
  let ready = false;
  let inflight = 0;
  let drained: (() => void) | undefined;
  const tunnels = new WebSocketTunnels(TUNNEL_IDLE_MS);
  const forwarder = new Forwarder(tunnels);
  // A websocket must not outlive its node's demotion: a fencing epoch means nothing to a tunnel.
  bus.subscribe((event) => {
    if (event.type === 'promotion' && event.pool) tunnels.closeDemoted(event.pool, event.to);
  });
  const requestOver = () => {
    inflight -= 1;
    if (draining && inflight === 0) drained?.();
  };
  const httpsPort = () => listeners.find((listener) => listener.secure)?.port;
  listeners = initial.listeners.map((settings, index) => {
    const app = buildApp({
      forwarder,
      clock,
      log,
      accessLog: () => runtime.settings.log.access,
      draining: () => draining,
      runtime: () => runtime,
      listener: {
        index,
        secure: settings.tls !== undefined,
        clientCertificates: (settings.tls?.clientCertificate ?? 'none') !== 'none',
        httpsPort,
      },
      onRequest: (record) => metrics.onRequest(record),
      onAttempt: (pool, node, outcome, retry) => {
        metrics.onAttempt(pool.name, node.id, outcome, retry);
        options.onAttempt?.(pool, node, outcome, retry);
      },
      onHedge: (pool, node, event) => metrics.onHedge(pool.name, node.id, event),
    });
    const handle = app.callback();
    return new Listener(
      settings,
      {
        serverOptions: serverOptions(initial),
        onRequest: (req, res) => {
          inflight += 1;
          whenResponseOver(res, requestOver);
          void handle(req, res);
        },
        upgradeHandler: (server) => upgradeHandler({ server, handle, tunnels }),
        http2: {
          settings: initial.server.http2,
          maxHeaderSize: initial.server.maxHeaderSize,
          idleTimeoutMs: initial.server.keepAliveTimeoutMs,
          now: () => clock.now(),
          onFlood: (kind, address) =>
            log.warn({ client: address, flood: kind }, `HTTP/2 connection closed: too many ${kind} (server.http2)`),
        },
      },
      initial.server.headersTimeoutMs,
    );
  });

  let admin: http.Server | undefined;
  const gateway: Gateway = {
    events: bus,
    clock,
    store,
    pools,
    metrics,
    get settings() {
      return runtime.settings;
    },
    get inflightRequests() {
      return inflight;
    },
    status: () => statusDocument(store, pools, clock.now(), certificates()),
    certificates,
    async start() {
      await store.start();
      pools.start();
      for (const listener of listeners) await listener.listen();
      if (initial.admin) {
        const adminApp = buildAdminApp({
          token: initial.admin.token,
          tokenForReads: initial.admin.tokenForReads,
          listenHost: initial.admin.host,
          allowedHosts: initial.admin.allowedHosts,
          maxEventStreams: initial.admin.maxEventStreams,
          store,
          pools: () => pools,
          bus,
          log,
          ready: () => ready && !draining,
          metrics,
          views: options.adminViews,
          now: () => clock.now(),
          certificates,
        });
        // The same slowloris guards as the data port: the admin API is a socket like any other.
        admin = http.createServer(serverOptions(initial), adminApp.callback());
        admin.on('connection', (socket) => socket.on('error', () => socket.destroy()));
        // Exclusive: with workers, only one of them serves the admin API, on a socket of its own.
        await listen(admin, initial.admin.port, initial.admin.host, true);
      }
      ready = true;
      return addresses(listeners, admin, initial);
    },
    reload(next) {
      const previous = runtime.settings;
      // Certificates first: one OpenSSL refuses stops the reload before anything changed.
      const contexts = prepareCertificates(listeners, next);
      plugins.use(next.plugins);
      const summary = pools.reconcile(next.pools);
      runtime = runtimeFor(next, pools, plugins);
      listeners.forEach((listener, index) => {
        const settings = next.listeners[index];
        if (settings && !restartsListener(listener.settings, settings)) listener.apply(settings, contexts[index]);
      });
      const servers = listeners.map((listener) => listener.http1);
      for (const each of admin ? [...servers, admin] : servers) {
        each.headersTimeout = next.server.headersTimeoutMs;
        each.requestTimeout = next.server.requestTimeoutMs;
        each.keepAliveTimeout = next.server.keepAliveTimeoutMs;
      }
      log.level = next.log.level;
      const result: ReloadResult = {
        ...summary,
        routes: next.routes.length,
        restartNeeded: needsRestart(previous, next),
      };
      bus.emit({
        type: 'reload',
        scope: 'local',
        time: clock.now(),
        instance: store.instanceId,
        reason: describeReload(result),
      });
      return result;
    },
    async stop() {
      if (draining) return;
      draining = true;
      for (const listener of listeners) listener.close();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          clock.schedule(runtime.settings.server.drainTimeoutMs, resolve);
        });
      }
      for (const listener of listeners) listener.closeAllConnections();
      tunnels.closeAll();
      if (admin) {
        admin.close();
        admin.closeAllConnections();
      }
      pools.stop();
      metrics.stop();
      await store.stop();
      await plugins.disposeAll();
    },
  };
  return gateway;
}

function serverOptions(settings: GatewaySettings): http.ServerOptions {
  return {
    headersTimeout: settings.server.headersTimeoutMs,
    requestTimeout: settings.server.requestTimeoutMs,
    keepAliveTimeout: settings.server.keepAliveTimeoutMs,
    maxHeaderSize: settings.server.maxHeaderSize,
    // How often Node enforces headersTimeout/requestTimeout (default 30 s, which would let a
    // slowloris client keep a socket for up to 30 s beyond the timeout).
    connectionsCheckingInterval: 1000,
    insecureHTTPParser: false,
    requireHostHeader: true,
  };
}

function runtimeFor(settings: GatewaySettings, pools: PoolSet, plugins: PluginHost): Runtime {
  return {
    settings,
    router: createRouter(settings.routes),
    pools,
    trusted: settings.listeners.map((listener) => createTrustedProxies(listener.trustedProxies)),
    middleware: plugins.middleware(),
  };
}

/** Settings a running gateway cannot take over: its sockets and its store are fixed at start. */
function needsRestart(before: GatewaySettings, after: GatewaySettings): string[] {
  const changed: string[] = [];
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  if (
    before.listeners.length !== after.listeners.length ||
    before.listeners.some((listener, i) => restartsListener(listener, after.listeners[i]!))
  ) {
    changed.push('listen');
  }
  if (differs(before.admin, after.admin)) changed.push('admin');
  if (differs(before.cluster, after.cluster)) changed.push('cluster');
  if (before.server.maxHeaderSize !== after.server.maxHeaderSize) changed.push('server.maxHeaderSize');
  if (before.workers !== after.workers) changed.push('workers');
  if (differs(before.server.http2, after.server.http2)) changed.push('server.http2');
  return changed;
}

/**
 * What a listener cannot change while it runs: its address, TLS or not, HTTP/2 or not, and
 * whether it asks for client certificates. Certificates, keys and CAs are swapped.
 */
function restartsListener(before: ListenerSettings, after: ListenerSettings): boolean {
  return (
    before.host !== after.host ||
    before.port !== after.port ||
    (before.tls === undefined) !== (after.tls === undefined) ||
    before.http2 !== after.http2 ||
    before.tls?.clientCertificate !== after.tls?.clientCertificate
  );
}

/** The secure contexts of the next settings, per listener; a certificate OpenSSL refuses is a ConfigError. */
function prepareCertificates(listeners: readonly Listener[], next: GatewaySettings): Array<TlsContexts | undefined> {
  return listeners.map((listener, index) => {
    const settings = next.listeners[index];
    if (!settings || restartsListener(listener.settings, settings)) return undefined;
    try {
      return listener.prepare(settings);
    } catch (error) {
      throw new ConfigError([
        { path: `listen[${index}].tls`, message: `certificate refused: ${(error as Error).message}` },
      ]);
    }
  });
}

function describeReload(result: ReloadResult): string {
  const parts = [
    result.added.length ? `added ${result.added.join(', ')}` : '',
    result.changed.length ? `changed ${result.changed.join(', ')}` : '',
    result.removed.length ? `removed ${result.removed.join(', ')}` : '',
    `${result.unchanged.length} pools unchanged, ${result.routes} routes`,
    result.restartNeeded.length ? `needs a restart to change: ${result.restartNeeded.join(', ')}` : '',
  ];
  return `configuration reloaded: ${parts.filter(Boolean).join('; ')}`;
}

function listen(server: http.Server, port: number, host: string, exclusive = false): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function addresses(
  listeners: readonly Listener[],
  admin: http.Server | undefined,
  settings: GatewaySettings,
): Listening {
  const display = (host: string) =>
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const adminPort = admin ? (admin.address() as AddressInfo).port : undefined;
  return {
    url: listeners[0]!.url,
    port: listeners[0]!.port,
    listeners: listeners.map((listener) => ({
      url: listener.url,
      port: listener.port,
      tls: listener.secure,
      http2: listener.settings.http2,
    })),
    adminUrl: admin && settings.admin ? `http://${display(settings.admin.host)}:${adminPort}` : undefined,
    adminPort,
  };
}
