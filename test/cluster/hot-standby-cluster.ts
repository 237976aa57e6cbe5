import type { ExecutionContext } from 'ava';
import hotStandby from '../../plugins/hot-standby.ts';
import type { GatewayEvent } from '../../src/events/types.ts';
import type { Clock } from '../../src/util/clock.ts';
import { startGateway, type RunningGateway } from '../helpers/gateway.ts';
import { eventually, request, type Reply } from '../helpers/http.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { closedPort, startUpstream, type Upstream } from '../helpers/upstream.ts';

/**
 * Several gateway instances in one process sharing a real redis-server, in front of one
 * hot-standby pool `db` of in-process upstreams primary, standby (tier 1) and spare (tier 2).
 */
export interface HotStandbyCluster {
  readonly redis: RedisServer;
  readonly upstreams: Record<'primary' | 'standby' | 'spare', Upstream>;
  readonly gateways: RunningGateway[];
  status(i: number): ReturnType<RunningGateway['gateway']['status']>['pools'][string];
  /** Every promotion each instance announced after the cluster formed, in order. */
  readonly promotions: GatewayEvent[][];
  admin(i: number, path: string, body?: object): Promise<Reply>;
  /** Starts one more instance of the same cluster. */
  add(options?: InstanceOptions): Promise<RunningGateway>;
}

export interface InstanceOptions {
  readonly clock?: Clock;
  /** This instance reaches the primary at a port where nothing listens (a partition). */
  readonly cutFromPrimary?: boolean;
}

export interface ClusterOptions {
  readonly instances: number | InstanceOptions[];
  readonly policy?: object;
  readonly cluster?: object;
  readonly health?: object;
  /** Nodes in the pool: primary and standby, or with the spare too. */
  readonly spare?: boolean;
  readonly redis?: RedisServer;
}

export async function hotStandbyCluster(t: ExecutionContext, options: ClusterOptions): Promise<HotStandbyCluster> {
  const redis = options.redis ?? (await startRedis(t));
  const upstreams = {
    primary: await startUpstream('primary'),
    standby: await startUpstream('standby'),
    spare: await startUpstream('spare'),
  };
  for (const upstream of Object.values(upstreams)) t.teardown(() => upstream.close());
  const gateways: RunningGateway[] = [];
  const promotions: GatewayEvent[][] = [];
  const add = async (instance: InstanceOptions = {}) => {
    const primaryUrl = instance.cutFromPrimary ? `http://127.0.0.1:${await closedPort()}` : upstreams.primary.url;
    const nodes = [
      { url: primaryUrl, id: 'primary' },
      { url: upstreams.standby.url, id: 'standby', tier: 1 },
      ...(options.spare ? [{ url: upstreams.spare.url, id: 'spare', tier: 2 }] : []),
    ];
    const running = await startGateway(
      t,
      {
        cluster: {
          name: 'ct',
          instanceId: `gw-${gateways.length}`,
          redis: redis.url,
          heartbeatInterval: '200ms',
          resyncInterval: '1s',
          ...options.cluster,
        },
        pools: {
          db: {
            policy: hotStandby({ failbackDelay: '1h', ...options.policy }),
            nodes,
            health: { path: '/health', ...options.health },
          },
        },
        routes: [{ path: '/', pool: 'db' }],
      },
      { clock: instance.clock },
    );
    const seen: GatewayEvent[] = [];
    running.gateway.events.subscribe((e) => e.type === 'promotion' && seen.push(e));
    promotions.push(seen);
    gateways.push(running);
    return running;
  };
  const specs =
    typeof options.instances === 'number' ? Array.from({ length: options.instances }, () => ({})) : options.instances;
  for (const spec of specs) await add(spec);
  const status = (i: number) => gateways[i]!.gateway.status().pools.db!;
  await eventually(
    () => gateways.every((g, i) => status(i).active !== null && g.gateway.status().storeConnected),
    10_000,
  );
  for (const seen of promotions) seen.length = 0; // from here on: promotions after the first election
  const admin = (i: number, path: string, body?: object) =>
    request(`${gateways[i]!.adminUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
  return { redis, upstreams, gateways, status, promotions, admin, add };
}
