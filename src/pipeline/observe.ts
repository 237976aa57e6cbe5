import type { ParameterizedContext } from 'koa';
import type { Logger } from '../util/logger.ts';
import type { GatewayState, Step } from './state.ts';

/** What the gateway knows about a request once it is over. */
export interface RequestRecord {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly client: string;
  readonly route: string | undefined;
  readonly pool: string | undefined;
  readonly node: string | undefined;
  readonly attempts: number;
  readonly status: number;
  readonly error: string | undefined;
  /** The client connection closed before the response was complete. */
  readonly aborted: boolean;
  readonly durationMs: number;
}

/**
 * Outermost step: once both the pipeline has finished (every attempt recorded) and the
 * response is over (streamed bodies included), hands one record to the metrics and, when
 * enabled, writes one access-log line. Outermost, so it also sees the error boundary's answers.
 */
export function observe(onRequest: (record: RequestRecord) => void, log: Logger, accessLog: () => boolean): Step {
  return async (ctx, next) => {
    const started = performance.now();
    let pending = 2;
    const done = () => {
      if (--pending > 0) return;
      const record = recordOf(ctx, performance.now() - started);
      onRequest(record);
      if (accessLog()) log.info(record, 'request');
    };
    ctx.res.once('close', done);
    try {
      await next();
    } finally {
      done();
    }
  };
}

function recordOf(ctx: ParameterizedContext<GatewayState>, durationMs: number): RequestRecord {
  const { state } = ctx;
  const attempts = state.attempts ?? [];
  return {
    requestId: state.requestId,
    method: ctx.req.method ?? '',
    path: ctx.originalUrl,
    client: state.clientIp,
    route: state.route?.name,
    pool: state.pool?.name,
    node: attempts[attempts.length - 1]?.node,
    attempts: attempts.length,
    status: ctx.res.statusCode,
    error: state.error,
    aborted: !ctx.res.writableFinished,
    durationMs: Math.round(durationMs * 100) / 100,
  };
}
