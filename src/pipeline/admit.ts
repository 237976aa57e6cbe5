import type { Socket } from 'node:net';
import type { ParameterizedContext, Next } from 'koa';
import { turn, turnOf } from './in-turn.ts';
import { sendRedirect } from './respond.ts';
import type { GatewayState, Stage, Step } from './state.ts';

/**
 * Runs the synchronous stages in order, then waits for the request's turn when a client
 * pipelines (in-turn.ts), then the plugins' request middleware (the one point where plugins
 * act on requests: after the route is matched, before forwarding), then the rest of the
 * pipeline. Plugin middleware comes from the request's own runtime, so a reload never mixes
 * two configs. A pipelined request whose turn never comes (the connection closes) ends here.
 */
export function admit(stages: readonly Stage[]): Step {
  return (ctx, next) => {
    for (const stage of stages) stage(ctx);
    const connection = ctx.req.socket as Socket;
    if (turnOf(ctx.res, connection) === 'now') return proceed(ctx, next);
    return turn(ctx.res, connection).then((comes) => {
      if (comes) return proceed(ctx, next);
      ctx.respond = false;
    });
  };
}

async function proceed(ctx: ParameterizedContext<GatewayState>, next: Next): Promise<void> {
  // A redirect route answers here (in its turn): no plugin middleware, no pool.
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
}
