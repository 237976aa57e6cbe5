import { randomUUID } from 'node:crypto';
import { acceptRequestId } from '../proxy/headers.ts';
import type { Runtime, Stage } from './state.ts';

/** Pins the runtime (config) this request uses, and names the request and its client. */
export function identify(currentRuntime: () => Runtime): Stage {
  return (ctx) => {
    const runtime = currentRuntime();
    const state = ctx.state;
    state.runtime = runtime;
    state.requestId = acceptRequestId(ctx.req.headers['x-request-id']) ?? randomUUID();
    state.clientIp = runtime.trusted.clientAddress(ctx.req);
    state.attempts = [];
  };
}
