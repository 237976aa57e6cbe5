import type http from 'node:http';
import type { GatewaySettings } from '../config/types.ts';

/** The HTTP/1 limits of every server the gateway runs (the data listeners and the admin API). */
export function serverOptions(settings: GatewaySettings): http.ServerOptions {
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

/** A reload: the timeouts a running server takes over (its header size limit needs a restart). */
export function applyServerLimits(servers: readonly http.Server[], settings: GatewaySettings): void {
  for (const server of servers) {
    server.headersTimeout = settings.server.headersTimeoutMs;
    server.requestTimeout = settings.server.requestTimeoutMs;
    server.keepAliveTimeout = settings.server.keepAliveTimeoutMs;
  }
}
