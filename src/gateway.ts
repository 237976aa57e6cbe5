import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Router from '@koa/router';
import type { GatewaySettings } from './config/types.ts';
import { buildAdminApp } from './admin/server.ts';
import { statusDocument, type StatusDocument } from './admin/status.ts';
import { EventBus } from './events/bus.ts';
import { buildApp } from './pipeline/app.ts';
import type { Runtime } from './pipeline/state.ts';
import { upgradeHandler } from './pipeline/upgrade.ts';
import type { Plugin } from './policy/plugin.ts';
import type { AttemptOutcome, PoolInfo } from './policy/types.ts';
import { PoolSet } from './pool/pool-set.ts';
import type { Pool } from './pool/pool.ts';
import type { UpstreamNode } from './pool/upstream-node.ts';
import { Forwarder } from './proxy/forwarder.ts';
import { ProxyServer } from './proxy/proxy-server.ts';
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
  /** Called after every forwarding attempt (metrics). */
  readonly onAttempt?: (pool: Pool, node: UpstreamNode, outcome: AttemptOutcome, retry: boolean) => void;
}

export interface Listening {
  readonly url: string;
  readonly port: number;
  readonly adminUrl: string | undefined;
  readonly adminPort: number | undefined;
}

export interface Gateway {
  start(): Promise<Listening>;
  /** Graceful: stop accepting, let in-flight requests finish (up to the drain timeout), close. */
  stop(): Promise<void>;
  status(): StatusDocument;
  readonly events: EventBus;
  readonly store: StateStore;
  readonly settings: GatewaySettings;
  readonly pools: PoolSet;
  readonly inflightRequests: number;
}

/** Idle websocket tunnels are closed after this long. */
const TUNNEL_IDLE_MS = 10 * 60_000;

/** The composition root: builds every part of one gateway from validated settings. */
export function createGateway(settings: GatewaySettings, options: GatewayOptions = {}): Gateway {
  const clock = options.clock ?? systemClock();
  const log = options.logger ?? createLogger({ level: settings.log.level });
  const bus = new EventBus();
  const store = options.store ?? createStore(settings.cluster, { clock, log });
  const plugins = settings.plugins;
  for (const plugin of plugins) if (plugin.onEvent) bus.subscribe((event) => plugin.onEvent!(event));
  bus.subscribe((event) => log.info({ event }, `${event.type}: ${event.reason}`));

  const pools = new PoolSet({ clock, store, bus, log, activate: (pool, node) => activate(plugins, pool, node, log) });
  pools.build(settings.pools);
  const runtime: Runtime = {
    settings,
    router: createRouter(settings.routes),
    pools,
    trusted: createTrustedProxies(settings.listen.trustedProxies),
    middleware: plugins.flatMap((plugin) => (plugin.middleware ? [plugin.middleware] : [])),
  };

  let draining = false;
  let ready = false;
  let inflight = 0;
  let drained: (() => void) | undefined;
  const proxy = new ProxyServer((error) => log.warn({ err: error }, 'stray proxy error'));
  const forwarder = new Forwarder(proxy);
  const tunnels = new WebSocketTunnels(proxy);
  const app = buildApp({
    forwarder,
    clock,
    log,
    accessLog: settings.log.access,
    draining: () => draining,
    runtime: () => runtime,
    onAttempt: options.onAttempt,
  });
  const handle = app.callback();
  const server = http.createServer({
    headersTimeout: settings.server.headersTimeoutMs,
    requestTimeout: settings.server.requestTimeoutMs,
    keepAliveTimeout: settings.server.keepAliveTimeoutMs,
    maxHeaderSize: settings.server.maxHeaderSize,
    insecureHTTPParser: false,
    requireHostHeader: true,
  });
  const requestOver = () => {
    inflight -= 1;
    if (draining && inflight === 0) drained?.();
  };
  server.on('request', (req, res) => {
    inflight += 1;
    res.on('close', requestOver);
    void handle(req, res);
  });
  server.on('upgrade', upgradeHandler({ runtime: () => runtime, tunnels, clock, draining: () => draining, idleTimeoutMs: TUNNEL_IDLE_MS }));
  server.on('connection', (socket) => socket.on('error', () => socket.destroy()));

  let admin: http.Server | undefined;
  const gateway: Gateway = {
    events: bus,
    store,
    settings,
    pools,
    get inflightRequests() {
      return inflight;
    },
    status: () => statusDocument(store, pools),
    async start() {
      await store.start();
      pools.start();
      await listen(server, settings.listen.port, settings.listen.host);
      if (settings.admin) {
        const adminApp = buildAdminApp({
          token: settings.admin.token,
          tokenForReads: settings.admin.tokenForReads,
          store,
          pools: () => pools,
          bus,
          log,
          ready: () => ready && !draining,
          extend: options.extendAdmin ? (router) => options.extendAdmin!(router, gateway) : undefined,
        });
        admin = http.createServer(adminApp.callback());
        await listen(admin, settings.admin.port, settings.admin.host);
      }
      ready = true;
      return addresses(server, admin, settings);
    },
    async stop() {
      if (draining) return;
      draining = true;
      server.close();
      server.closeIdleConnections();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          clock.schedule(settings.server.drainTimeoutMs, resolve);
        });
      }
      server.closeAllConnections();
      tunnels.closeAll();
      if (admin) {
        admin.close();
        admin.closeAllConnections();
      }
      pools.stop();
      proxy.close();
      await store.stop();
      await Promise.allSettled(plugins.map((plugin) => plugin.dispose?.()));
    },
  };
  return gateway;
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
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

/** Cold standby: every plugin with an `activate` hook brings the node up. */
async function activate(plugins: readonly Plugin[], pool: PoolInfo, node: UpstreamNode, log: Logger): Promise<void> {
  for (const plugin of plugins) {
    if (!plugin.activate) continue;
    try {
      await plugin.activate(node, pool);
      log.info({ pool: pool.name, node: node.id, plugin: plugin.name }, 'cold standby activated');
    } catch (error) {
      log.error({ pool: pool.name, node: node.id, plugin: plugin.name, err: error }, 'cold standby activation failed');
    }
    node.probeNow();
  }
}
