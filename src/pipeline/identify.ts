import { randomUUID } from 'node:crypto';
import { acceptRequestId } from '../proxy/headers.ts';
import type { Runtime, Step } from './state.ts';

/** Pins the runtime (config) this request uses, and names the request and its client. */
export function identify(currentRuntime: () => Runtime): Step {
  return async (ctx, next) => {
    const runtime = currentRuntime();
    const state = ctx.state;
    state.runtime = runtime;
    state.requestId = acceptRequestId(ctx.req.headers['x-request-id']) ?? randomUUID();
    state.clientIp = runtime.trusted.clientAddress(ctx.req);
    state.attempts = [];
    await next();
  };
}
