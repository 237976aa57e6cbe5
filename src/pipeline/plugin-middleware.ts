import type { Step } from './state.ts';

/**
 * The one point where plugins act on requests: after the route is matched, before forwarding.
 * Runs the middleware of the request's own runtime, so a reload never mixes two configs.
 */
export function pluginMiddleware(): Step {
  return async (ctx, next) => {
    const chain = ctx.state.runtime.middleware;
    if (chain.length === 0) return next();
    const dispatch = async (index: number): Promise<void> => {
      if (index === chain.length) return next();
      await chain[index]!(ctx as never, () => dispatch(index + 1));
    };
    await dispatch(0);
  };
}
