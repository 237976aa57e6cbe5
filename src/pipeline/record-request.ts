import type { ServerResponse } from 'node:http';
import type { ParameterizedContext } from 'koa';
import { responseComplete } from '../proxy/client-response.ts';
import type { Logger } from '../util/logger.ts';
import { whenResponseOver } from './in-turn.ts';
import type { GatewayState, Step } from './state.ts';

/** What the gateway knows about a request once it is over. */
export interface RequestRecord {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly client: string;
  readonly route: string | undefined;
  readonly pool: string | undefined;
  /** The node whose answer the client got (for a hedged request, the winner), else the last one tried. */
  readonly node: string | undefined;
  /** Tries, hedges included. */
  readonly attempts: number;
  /** Hedges sent (copies of the request to other nodes while the first try was pending). */
  readonly hedges?: number;
  readonly status: number;
  readonly error: string | undefined;
  /** The client connection closed before the response was complete. A websocket's record comes when its tunnel closes. */
  readonly aborted: boolean;
  /** '1.1' or '2.0' (also '1.0'). */
  readonly httpVersion?: string;
  readonly durationMs: number;
}

const observationOf = Symbol('baton.observation');

/** Waits for two things, the pipeline's end and the response's close, then reports once. */
class Observation {
  #pending = 2;
  readonly #started = performance.now();

  constructor(
    readonly ctx: ParameterizedContext<GatewayState>,
    readonly report: (observation: Observation, durationMs: number) => void,
  ) {}

  done(): void {
    if (--this.#pending === 0) this.report(this, performance.now() - this.#started);
  }
}

// One listener function for every response: `this` is the response, which carries its observation.
function onResponseClose(this: ServerResponse & { [observationOf]?: Observation }): void {
  this[observationOf]?.done();
}

/**
 * Outermost step: once both the pipeline has finished (every attempt recorded) and the
 * response is over (streamed bodies included), hands one record to the metrics and, when
 * enabled, writes one access-log line. Outermost, so it also sees the error boundary's answers.
 */
export function recordRequest(onRequest: (record: RequestRecord) => void, log: Logger, accessLog: () => boolean): Step {
  const report = (observation: Observation, durationMs: number) => {
    const record = recordOf(observation.ctx, durationMs);
    onRequest(record);
    if (accessLog()) log.info(record, 'request');
  };
  return async (ctx, next) => {
    const observation = new Observation(ctx, report);
    const res = ctx.res as ServerResponse & { [observationOf]?: Observation };
    res[observationOf] = observation;
    // The usual case shares one listener; a pipelined response that waits for its turn gets its own.
    // `on`, not `once` (which wraps the listener per call): a response closes once.
    if (res.socket !== null) res.on('close', onResponseClose);
    else whenResponseOver(res, () => observation.done());
    try {
      await next();
    } finally {
      observation.done();
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
    node: state.winner ?? attempts[attempts.length - 1]?.node,
    attempts: attempts.length,
    hedges: countHedges(attempts),
    status: ctx.res.statusCode,
    error: state.error,
    // A websocket tunnel's response never "finishes": its 101 went out whole.
    aborted: !responseComplete(ctx.res) && ctx.res.statusCode !== 101,
    httpVersion: ctx.req.httpVersion,
    durationMs: Math.round(durationMs * 100) / 100,
  };
}

function countHedges(attempts: readonly { hedge?: boolean }[]): number {
  let hedges = 0;
  for (const attempt of attempts) if (attempt.hedge) hedges += 1;
  return hedges;
}
