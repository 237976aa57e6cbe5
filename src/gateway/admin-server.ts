import http from 'node:http';
import { buildAdminApp, type AdminDeps } from '../admin/server.ts';
import type { GatewaySettings } from '../config/types.ts';
import { serverOptions } from './server-limits.ts';

/**
 * The admin API's own server: the same slowloris guards as the data port (the admin API is
 * a socket like any other), bound exclusively (with workers, only one of them serves it).
 */
type AdminSettings = Exclude<GatewaySettings['admin'], false>;

export async function startAdminServer(
  settings: GatewaySettings,
  admin: AdminSettings,
  deps: Omit<AdminDeps, 'token' | 'tokenForReads' | 'listenHost' | 'allowedHosts' | 'maxEventStreams'>,
): Promise<http.Server> {
  const app = buildAdminApp({
    token: admin.token,
    tokenForReads: admin.tokenForReads,
    listenHost: admin.host,
    allowedHosts: admin.allowedHosts,
    maxEventStreams: admin.maxEventStreams,
    ...deps,
  });
  const server = http.createServer(serverOptions(settings), app.callback());
  server.on('connection', (socket) => socket.on('error', () => socket.destroy()));
  await listen(server, admin.port, admin.host, true);
  return server;
}

function listen(server: http.Server, port: number, host: string, exclusive: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
