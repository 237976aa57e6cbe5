import { defineConfig } from 'baton';
import { hotStandby, roundRobin } from 'baton/policies';

/**
 * The config `npm start` runs, with the in-memory store: three example upstreams (started by
 * examples/demo.ts) behind round-robin, and an active-passive pool on two of them for /orders.
 * Ports can be moved with environment variables.
 */
export default defineConfig(({ env }) => {
  const upstream = (n: 1 | 2 | 3) => `http://127.0.0.1:${env[`UPSTREAM_${n}`] ?? 9100 + n}`;
  return {
    listen: { host: '127.0.0.1', port: Number(env.PORT ?? 8080) },
    admin: { port: Number(env.ADMIN_PORT ?? 9901) },
    pools: {
      web: {
        policy: roundRobin(),
        nodes: [
          { url: upstream(1), id: 'web-1' },
          { url: upstream(2), id: 'web-2' },
          { url: upstream(3), id: 'web-3' },
        ],
        health: { path: '/health', interval: '1s' },
      },
      orders: {
        policy: hotStandby({ failbackDelay: '10s' }),
        nodes: [
          { url: upstream(1), id: 'orders-primary' },
          { url: upstream(2), id: 'orders-standby', tier: 1 },
        ],
        health: { path: '/health' },
      },
    },
    routes: [
      { path: '/orders', pool: 'orders' },
      { path: '/', pool: 'web' },
    ],
  };
});
