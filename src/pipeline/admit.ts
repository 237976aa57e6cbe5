import { sendRedirect } from './respond.ts';
import type { Stage, Step } from './state.ts';

/**
 * Runs the synchronous stages in order, then the plugins' request middleware (the one point
 * where plugins act on requests: after the route is matched, before forwarding), then the
 * rest of the pipeline. Plugin middleware comes from the request's own runtime, so a reload
 * never mixes two configs.
 */
export function admit(stages: readonly Stage[]): Step {
  return async (ctx, next) => {
    for (const stage of stages) stage(ctx);
    // A redirect route answers here: no plugin middleware, no pool.
    if (ctx.state.redirect !== undefined) {
      ctx.respond = false;
      return sendRedirect(ctx.res, ctx.state.redirect, ctx.state.requestId);
    }
    const chain = ctx.state.runtime.middleware;
    if (chain.length === 0) return next();
    const dispatch = async (index: number): Promise<void> => {
      if (index === chain.length) return next();
      await chain[index]!(ctx as never, () => dispatch(index + 1));
    };
    await dispatch(0);
  };
}
