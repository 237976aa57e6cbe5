import type { GatewaySettings } from '../config/types.ts';
import { Listener } from '../listen/listener.ts';
import { buildApp, type AppDeps } from '../pipeline/app.ts';
import { upgradeHandler } from '../pipeline/upgrade.ts';
import type { WebSocketTunnels } from '../proxy/websocket.ts';
import type { RequestDrain } from './request-drain.ts';
import { serverOptions } from './server-limits.ts';

export interface ListenerDeps extends Omit<AppDeps, 'listener' | 'draining'> {
  readonly requests: RequestDrain;
  readonly tunnels: WebSocketTunnels;
}

/**
 * One listener per `listen` entry, each with its own request pipeline (it knows whether it is
 * TLS and where the HTTPS listener is, for redirects), all counted by one RequestDrain.
 */
export function buildListeners(settings: GatewaySettings, deps: ListenerDeps): Listener[] {
  const { requests, tunnels, ...appDeps } = deps;
  const listeners: Listener[] = [];
  const httpsPort = () => listeners.find((listener) => listener.secure)?.port;
  for (const [index, listen] of settings.listeners.entries()) {
    const app = buildApp({
      ...appDeps,
      draining: () => requests.draining,
      listener: {
        index,
        secure: listen.tls !== undefined,
        clientCertificates: (listen.tls?.clientCertificate ?? 'none') !== 'none',
        httpsPort,
      },
    });
    const handle = app.callback();
    const log = deps.log;
    listeners.push(
      new Listener(
        listen,
        {
          serverOptions: serverOptions(settings),
          onRequest: (req, res) => {
            requests.track(res);
            void handle(req, res);
          },
          upgradeHandler: (server) => upgradeHandler({ server, handle, tunnels }),
          http2: {
            settings: settings.server.http2,
            maxHeaderSize: settings.server.maxHeaderSize,
            idleTimeoutMs: settings.server.keepAliveTimeoutMs,
            // Read at each check, as HTTP/1.1's are applied on reload.
            timeouts: () => {
              const server = appDeps.runtime().settings.server;
              return {
                headersTimeoutMs: server.headersTimeoutMs,
                requestTimeoutMs: server.requestTimeoutMs,
                sendTimeoutMs: server.sendTimeoutMs,
              };
            },
            now: () => deps.clock.now(),
            onFlood: (kind, address) =>
              kind === 'headers-timeout'
                ? log.warn(
                    { client: address },
                    'HTTP/2 connection closed: header block not complete in time (server.headersTimeout)',
                  )
                : log.warn(
                    { client: address, flood: kind },
                    `HTTP/2 connection closed: too many ${kind} (server.http2)`,
                  ),
          },
        },
        settings.server.headersTimeoutMs,
      ),
    );
  }
  return listeners;
}
