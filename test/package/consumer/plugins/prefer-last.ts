import { definePlugin, definePolicy, eligibleNodes, z } from 'baton';

/** A consumer's policy: the last eligible node, minus any listed in `skip`. */
export const preferLast = definePolicy({
  name: 'prefer-last',
  options: z.strictObject({ skip: z.array(z.string()).default([]) }),
  create({ skip }) {
    return {
      pick(pool, ctx) {
        const candidates = eligibleNodes(pool, ctx).filter((node) => !skip.includes(node.id));
        return candidates[candidates.length - 1];
      },
    };
  },
});

/** The plugin: the policy, and request middleware that answers some requests itself. */
export default definePlugin({
  name: 'consumer-plugin',
  policies: [preferLast],
  async middleware(ctx, next) {
    if (ctx.get('x-deny') === 'yes') {
      ctx.status = 403;
      ctx.body = { denied: ctx.state.route.pool };
      return;
    }
    ctx.set('x-consumer-plugin', `${ctx.state.route.pool} ${ctx.state.path}`);
    await next();
  },
});
