import { abortResponse } from '../proxy/client-response.ts';
import { BatonError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { sendError } from './respond.ts';
import type { Step } from './state.ts';

/**
 * Outermost step: any error below becomes a coded JSON answer (or, when the response has
 * already started, an aborted connection), and nothing escapes to Koa's default handler.
 */
export function errorBoundary(log: Logger, draining: () => boolean): Step {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const known = error instanceof BatonError ? error : undefined;
      const code = known?.code ?? 'INTERNAL';
      if (!known) log.error({ err: error, requestId: ctx.state.requestId }, 'unhandled error on the request path');
      ctx.respond = false;
      ctx.state.error = code;
      if (ctx.res.headersSent) abortResponse(ctx.res);
      else sendError(ctx.res, code, { requestId: ctx.state.requestId, detail: known?.detail, close: draining() });
    }
  };
}
