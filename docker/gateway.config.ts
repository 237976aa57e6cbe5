import { defineConfig } from 'baton';
import { hotStandby } from 'baton/policies';

/**
 * The gateway config of the Docker topology (compose.yaml) and of `npm run cluster`: a
 * hot-standby pool (primary + standby), its state shared through Redis by every instance.
 * Everything that differs between instances or environments comes from the environment.
 */
export default defineConfig(({ env }) => ({
  listen: { host: env.LISTEN_HOST ?? '0.0.0.0', port: Number(env.PORT ?? 8080) },
  // The admin API listens on all interfaces inside a container, so it can be published;
  // mutating calls need BATON_ADMIN_TOKEN (picked up from the environment).
  admin: { host: env.ADMIN_HOST ?? '0.0.0.0', port: Number(env.ADMIN_PORT ?? 9901) },
  cluster: {
    name: env.CLUSTER_NAME ?? 'baton-demo',
    instanceId: env.INSTANCE_ID,
    redis: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  },
  pools: {
    app: {
      policy: hotStandby({ failbackDelay: '30s' }),
      nodes: [
        { url: env.PRIMARY_URL ?? 'http://127.0.0.1:9101', id: 'primary' },
        { url: env.STANDBY_URL ?? 'http://127.0.0.1:9102', id: 'standby', tier: 1 },
      ],
      health: { path: '/health' },
    },
  },
  routes: [{ path: '/', pool: 'app' }],
}));
