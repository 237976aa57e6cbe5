import type { Logger } from '../util/logger.ts';
import type { Step } from './state.ts';

/**
 * One JSON line per request, written when both the pipeline has finished (every attempt
 * recorded) and the response is over (streamed bodies included). Outermost step, so that it
 * also sees the answers the error boundary writes.
 */
export function accessLog(log: Logger): Step {
  return async (ctx, next) => {
    const started = performance.now();
    let pending = 2;
    const write = () => {
      if (--pending > 0) return;
      const { state } = ctx;
      const last = state.attempts?.[state.attempts.length - 1];
      log.info(
        {
          requestId: state.requestId,
          method: ctx.req.method,
          path: ctx.originalUrl,
          client: state.clientIp,
          route: state.route?.name,
          pool: state.pool?.name,
          node: last?.node,
          attempts: state.attempts?.length ?? 0,
          status: ctx.res.statusCode,
          error: state.error,
          aborted: !ctx.res.writableFinished,
          durationMs: Math.round((performance.now() - started) * 10) / 10,
        },
        'request',
      );
    };
    ctx.res.once('close', write);
    try {
      await next();
    } finally {
      write();
    }
  };
}
