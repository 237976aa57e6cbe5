import { randomUUID } from 'node:crypto';
import { acceptRequestId } from '../proxy/headers.ts';
import type { ListenerInfo, Runtime, Stage } from './state.ts';

/** Pins the runtime (config) this request uses, and names the request, its listener and its client. */
export function identify(currentRuntime: () => Runtime, listener: ListenerInfo): Stage {
  return (ctx) => {
    const runtime = currentRuntime();
    const state = ctx.state;
    state.runtime = runtime;
    state.listener = listener;
    // A reload that changed the number of listeners needs a restart; until then, the first's.
    state.trusted = runtime.trusted[listener.index] ?? runtime.trusted[0]!;
    state.requestId = acceptRequestId(ctx.req.headers['x-request-id']) ?? randomUUID();
    state.clientIp = state.trusted.clientAddress(ctx.req);
    state.attempts = [];
  };
}
