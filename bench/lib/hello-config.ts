import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The gateway.config.ts the benches give Baton: one round-robin pool over the two hello
 * upstreams, one route, admin off, so that each bench measures the same default path and
 * differs only in what it says here.
 */
export interface HelloConfig {
  /** The Baton checkout whose src/index.ts the config imports. */
  readonly checkout: string;
  readonly ports: readonly string[];
  readonly accessLog?: boolean;
  readonly logLevel?: 'info' | 'warn';
  readonly workers?: number;
  /** Source text appended inside the pool (`, breaker: false`). */
  readonly poolExtra?: string;
  /** Source text appended inside the route (`, maxBody: 2000000`). */
  readonly routeExtra?: string;
  /** Source text for a top-level `cluster` entry. */
  readonly cluster?: string;
}

export function helloConfig(config: HelloConfig): string {
  const index = pathToFileURL(join(config.checkout, 'src/index.ts')).href;
  const nodes = config.ports.map((p) => `{ url: 'http://127.0.0.1:${p}' }`).join(', ');
  return `import { defineConfig } from '${index}';
export default defineConfig({${config.workers && config.workers > 1 ? `\n  workers: ${config.workers},` : ''}${config.cluster ? `\n  cluster: ${config.cluster},` : ''}
  listen: { host: '127.0.0.1', port: 0 },
  admin: false,
  log: { level: '${config.logLevel ?? 'info'}', access: ${config.accessLog ?? false} },
  pools: { hello: { policy: 'round-robin', nodes: [${nodes}]${config.poolExtra ?? ''} } },
  routes: [{ path: '/', pool: 'hello'${config.routeExtra ?? ''} }],
});`;
}
