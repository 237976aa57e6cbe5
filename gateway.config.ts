import { defineConfig } from './src/index.ts';

/**
 * The config `npm start` runs: three example upstreams (started by examples/demo.ts) behind
 * round-robin, with the in-memory store. Ports can be moved with environment variables.
 */
export default defineConfig(({ env }) => ({
  listen: { host: '127.0.0.1', port: Number(env.PORT ?? 8080) },
  admin: { port: Number(env.ADMIN_PORT ?? 9901) },
  pools: {
    web: {
      policy: 'round-robin',
      nodes: [
        { url: `http://127.0.0.1:${env.UPSTREAM_1 ?? 9101}`, id: 'web-1' },
        { url: `http://127.0.0.1:${env.UPSTREAM_2 ?? 9102}`, id: 'web-2' },
        { url: `http://127.0.0.1:${env.UPSTREAM_3 ?? 9103}`, id: 'web-3' },
      ],
      health: { path: '/health', interval: '1s' },
      retry: { attempts: 3 },
    },
  },
  routes: [{ path: '/', pool: 'web' }],
}));
