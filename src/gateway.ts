import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type Router from '@koa/router';
import type { GatewaySettings } from './config/types.ts';
import { buildAdminApp, type AdminViews } from './admin/server.ts';
import { createMetrics, type GatewayMetrics } from './admin/metrics.ts';
import { statusDocument, type StatusDocument } from './admin/status.ts';
import { EventBus } from './events/bus.ts';
import type { HeartbeatShare } from './health/heartbeat-share.ts';
import { buildApp } from './pipeline/app.ts';
import { whenResponseOver } from './pipeline/in-turn.ts';
import type { Runtime } from './pipeline/state.ts';
import { upgradeHandler } from './pipeline/upgrade.ts';
import { PluginHost } from './policy/plugin-host.ts';
import type { AttemptOutcome } from './policy/types.ts';
import { PoolSet, type ReloadSummary } from './pool/pool-set.ts';
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
  /** Mount extra admin routes (metrics, dashboard). */
  readonly extendAdmin?: (router: Router, gateway: Gateway) => void;
  /** Workers: heartbeats sent once per machine (src/workers/). Absent: this gateway probes. */
  readonly heartbeats?: HeartbeatShare;
  /** Workers: the admin API shows the machine (every worker) rather than this process. */
  readonly adminViews?: AdminViews;
  /** Called after every forwarding attempt (metrics). */
  readonly onAttempt?: (pool: Pool, node: UpstreamNode, outcome: AttemptOutcome, retry: boolean) => void;
}

export interface Listening {
  readonly url: string;
  readonly port: number;
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
  readonly events: EventBus;
  readonly store: StateStore;
  /** The settings in force (the latest reload's). */
  readonly settings: GatewaySettings;
  readonly pools: PoolSet;
  readonly metrics: GatewayMetrics;
  readonly inflightRequests: number;
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
  bus.subscribe((event) => log.info({ event }, `${event.type}: ${event.reason}`));
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
  const metrics = createMetrics(() => pools, store, clock);
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
  const app = buildApp({
    forwarder,
    clock,
    log,
    accessLog: () => runtime.settings.log.access,
    draining: () => draining,
    runtime: () => runtime,
    onRequest: (record) => metrics.onRequest(record),
    onAttempt: (pool, node, outcome, retry) => {
      metrics.onAttempt(pool.name, node.id, outcome, retry);
      options.onAttempt?.(pool, node, outcome, retry);
    },
    onHedge: (pool, node, event) => metrics.onHedge(pool.name, node.id, event),
  });
  const handle = app.callback();
  const server = http.createServer(serverOptions(initial));
  const requestOver = () => {
    inflight -= 1;
    if (draining && inflight === 0) drained?.();
  };
  server.on('request', (req, res) => {
    inflight += 1;
    whenResponseOver(res, requestOver);
    void handle(req, res);
  });
  server.on('upgrade', upgradeHandler({ server, handle, tunnels }));
  server.on('connection', guardSocket);

  let admin: http.Server | undefined;
  const gateway: Gateway = {
    events: bus,
    store,
    pools,
    metrics,
    get settings() {
      return runtime.settings;
    },
    get inflightRequests() {
      return inflight;
    },
    status: () => statusDocument(store, pools, clock.now()),
    async start() {
      await store.start();
      pools.start();
      await listen(server, initial.listen.port, initial.listen.host);
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
          extend: options.extendAdmin ? (router) => options.extendAdmin!(router, gateway) : undefined,
        });
        // The same slowloris guards as the data port: the admin API is a socket like any other.
        admin = http.createServer(serverOptions(initial), adminApp.callback());
        admin.on('connection', (socket) => socket.on('error', () => socket.destroy()));
        // Exclusive: with workers, only one of them serves the admin API, on a socket of its own.
        await listen(admin, initial.admin.port, initial.admin.host, true);
      }
      ready = true;
      return addresses(server, admin, initial);
    },
    reload(next) {
      const previous = runtime.settings;
      plugins.use(next.plugins);
      const summary = pools.reconcile(next.pools);
      runtime = runtimeFor(next, pools, plugins);
      for (const each of admin ? [server, admin] : [server]) {
        each.headersTimeout = next.server.headersTimeoutMs;
        each.requestTimeout = next.server.requestTimeoutMs;
        each.keepAliveTimeout = next.server.keepAliveTimeoutMs;
      }
      log.level = next.log.level;
      const result: ReloadResult = { ...summary, routes: next.routes.length, restartNeeded: needsRestart(previous, next) };
      bus.emit({ type: 'reload', time: Date.now(), instance: store.instanceId, reason: describeReload(result) });
      return result;
    },
    async stop() {
      if (draining) return;
      draining = true;
      server.close();
      server.closeIdleConnections();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          clock.schedule(runtime.settings.server.drainTimeoutMs, resolve);
        });
      }
      server.closeAllConnections();
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

const guarded = Symbol('baton.guarded');

/**
 * No socket error may ever become an uncaught exception. A socket handed back to the server
 * after an upgrade request is announced as a connection again: one listener is enough.
 */
function guardSocket(socket: Socket & { [guarded]?: true }): void {
  if (socket[guarded]) return;
  socket[guarded] = true;
  socket.on('error', destroySocket);
}

function destroySocket(this: Socket): void {
  this.destroy();
}

function runtimeFor(settings: GatewaySettings, pools: PoolSet, plugins: PluginHost): Runtime {
  return {
    settings,
    router: createRouter(settings.routes),
    pools,
    trusted: createTrustedProxies(settings.listen.trustedProxies),
    middleware: plugins.middleware(),
  };
}

/** Settings a running gateway cannot take over: its sockets and its store are fixed at start. */
function needsRestart(before: GatewaySettings, after: GatewaySettings): string[] {
  const changed: string[] = [];
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  if (before.listen.host !== after.listen.host || before.listen.port !== after.listen.port) changed.push('listen');
  if (differs(before.admin, after.admin)) changed.push('admin');
  if (differs(before.cluster, after.cluster)) changed.push('cluster');
  if (before.server.maxHeaderSize !== after.server.maxHeaderSize) changed.push('server.maxHeaderSize');
  if (before.workers !== after.workers) changed.push('workers');
  return changed;
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

function addresses(server: http.Server, admin: http.Server | undefined, settings: GatewaySettings): Listening {
  const display = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host);
  const port = (server.address() as AddressInfo).port;
  const adminPort = admin ? (admin.address() as AddressInfo).port : undefined;
  return {
    url: `http://${display(settings.listen.host)}:${port}`,
    port,
    adminUrl: admin && settings.admin ? `http://${display(settings.admin.host)}:${adminPort}` : undefined,
    adminPort,
  };
}
