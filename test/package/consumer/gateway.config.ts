import { defineConfig } from 'baton';
import { roundRobin } from 'baton/policies';
import { preferLast } from './plugins/prefer-last.js';

/** Two upstreams behind a built-in policy and behind the consumer's own (by value). */
export default defineConfig(({ env }) => {
  const nodes = [
    { url: env.UPSTREAM_A ?? 'http://127.0.0.1:9', id: 'a' },
    { url: env.UPSTREAM_B ?? 'http://127.0.0.1:9', id: 'b' },
  ];
  return {
    listen: { host: '127.0.0.1', port: 0 },
    admin: { port: 0 },
    log: { level: 'warn' },
    plugins: ['./plugins/prefer-last.ts'],
    pools: {
      web: { policy: roundRobin(), nodes, health: false },
      pinned: { policy: preferLast({ skip: [] }), nodes, health: false },
    },
    routes: [
      { path: '/pinned', pool: 'pinned' },
      { path: '/', pool: 'web' },
    ],
  };
});
