import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewaySettings } from './config/types.ts';
import type { AdminViews } from './admin/server.ts';
import { createMetrics, type GatewayMetrics } from './admin/metrics.ts';
import type { Listener, CertificateStatus } from './listen/listener.ts';
import { statusDocument, type StatusDocument } from './admin/status.ts';
import { EventBus } from './events/bus.ts';
import { logEvents } from './events/event-log.ts';
import type { HeartbeatShare } from './health/heartbeat-share.ts';
import type { Runtime } from './pipeline/state.ts';
import { PluginHost } from './policy/plugin-host.ts';
import type { AttemptOutcome } from './policy/types.ts';
import { PoolSet } from './pool/pool-set.ts';
import type { Pool } from './pool/pool.ts';
import type { UpstreamNode } from './pool/upstream-node.ts';
import { Forwarder } from './proxy/forwarder.ts';
import { WebSocketTunnels } from './proxy/websocket.ts';
import { createRouter } from './routing/router.ts';
import { createStore } from './state/create-store.ts';
import type { StateStore } from './state/types.ts';
import { systemClock, type Clock } from './util/clock.ts';
import { createLogger, type Logger } from './util/logger.ts';
import { startAdminServer } from './gateway/admin-server.ts';
import {
  describeReload,
  needsRestart,
  prepareCertificates,
  restartsListener,
  type ReloadResult,
} from './gateway/reload-plan.ts';
import { buildListeners } from './gateway/listeners.ts';
import { RequestDrain } from './gateway/request-drain.ts';
import { applyServerLimits } from './gateway/server-limits.ts';
import { createTrustedProxies } from './util/trusted-proxies.ts';

export type { ReloadResult } from './gateway/reload-plan.ts';

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

  let ready = false;
  const requests = new RequestDrain(clock);
  const tunnels = new WebSocketTunnels(TUNNEL_IDLE_MS);
  const forwarder = new Forwarder(tunnels);
  // A websocket must not outlive its node's demotion: a fencing epoch means nothing to a tunnel.
  bus.subscribe((event) => {
    if (event.type === 'promotion' && event.pool) tunnels.closeDemoted(event.pool, event.to);
  });
  listeners = buildListeners(initial, {
    forwarder,
    clock,
    log,
    accessLog: () => runtime.settings.log.access,
    runtime: () => runtime,
    onRequest: (record) => metrics.onRequest(record),
    onAttempt: (pool, node, outcome, retry) => {
      metrics.onAttempt(pool.name, node.id, outcome, retry);
      options.onAttempt?.(pool, node, outcome, retry);
    },
    onHedge: (pool, node, event) => metrics.onHedge(pool.name, node.id, event),
    requests,
    tunnels,
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
      return requests.inflight;
    },
    status: () => statusDocument(store, pools, clock.now(), certificates()),
    certificates,
    async start() {
      await store.start();
      pools.start();
      for (const listener of listeners) await listener.listen();
      if (initial.admin) {
        admin = await startAdminServer(initial, initial.admin, {
          store,
          pools: () => pools,
          bus,
          log,
          ready: () => ready && !requests.draining,
          metrics,
          views: options.adminViews,
          now: () => clock.now(),
          certificates,
        });
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
      applyServerLimits(admin ? [...servers, admin] : servers, next);
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
      if (requests.draining) return;
      const drained = requests.drain(runtime.settings.server.drainTimeoutMs);
      for (const listener of listeners) listener.close();
      await drained;
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

function runtimeFor(settings: GatewaySettings, pools: PoolSet, plugins: PluginHost): Runtime {
  return {
    settings,
    router: createRouter(settings.routes),
    pools,
    trusted: settings.listeners.map((listener) => createTrustedProxies(listener.trustedProxies)),
    middleware: plugins.middleware(),
  };
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
