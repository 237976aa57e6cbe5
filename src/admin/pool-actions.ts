import type Router from '@koa/router';
import type { Context } from 'koa';
import type { PoolSet } from '../pool/pool-set.ts';
import type { Pool } from '../pool/pool.ts';
import { BatonError } from '../util/errors.ts';

interface ActionDeps {
  readonly pools: () => PoolSet;
}

/** Operator actions: drain/enable a node, force a failover or a failback. */
export function poolActions(router: Router, deps: ActionDeps): void {
  const poolOf = (ctx: Context): Pool => {
    const pool = deps.pools().get(ctx.params.pool ?? '');
    if (!pool) throw new BatonError('POOL_NOT_FOUND', ctx.params.pool);
    return pool;
  };

  for (const action of ['drain', 'enable'] as const) {
    router.post(`/pools/:pool/nodes/:id/${action}`, async (ctx) => {
      const pool = poolOf(ctx);
      const node = pool.node(ctx.params.id ?? '');
      if (!node) throw new BatonError('NODE_NOT_FOUND', ctx.params.id);
      // Cluster-wide through the store; every instance (this one too) announces the change.
      const scope = await deps.pools().setDrain(pool, node, action === 'drain');
      ctx.body = { pool: pool.name, node: node.id, draining: node.draining, inflight: node.inflight, scope };
    });
  }

  router.post('/pools/:pool/failover', async (ctx) => {
    const pool = poolOf(ctx);
    const to = await requestedTarget(ctx);
    const state = await deps.pools().controller.request(pool, 'failover', to);
    ctx.body = { pool: pool.name, active: state.active, epoch: state.epoch };
  });

  router.post('/pools/:pool/failback', async (ctx) => {
    const pool = poolOf(ctx);
    const state = await deps.pools().controller.request(pool, 'failback');
    ctx.body = { pool: pool.name, active: state.active, epoch: state.epoch };
  });
}

/** `{ "to": "<node id>" }` in a JSON body, or `?to=`; neither means "the policy chooses". */
async function requestedTarget(ctx: Context): Promise<string | undefined> {
  if (typeof ctx.query.to === 'string' && ctx.query.to) return ctx.query.to;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > 4096) throw new BatonError('INVALID_BODY', 'body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BatonError('INVALID_BODY', 'expected JSON such as {"to": "node-id"}');
  }
  const to = (body as { to?: unknown } | null)?.to;
  if (to !== undefined && typeof to !== 'string') throw new BatonError('INVALID_BODY', '"to" must be a node id');
  return to;
}
