import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { EventBus } from '../events/bus.ts';
import type { GatewayEvent } from '../events/types.ts';

/** Comments keep idle proxies and browsers from closing the stream. */
const KEEPALIVE_MS = 15_000;

/**
 * `GET /events`: server-sent events, one `data:` JSON line per gateway event, with the bus
 * sequence number as the event id. The recent history is replayed first (a dashboard that
 * opens late sees what just happened); a client resuming with Last-Event-ID gets only newer ones.
 */
export function eventStream(ctx: Context, bus: EventBus): void {
  const stream = new PassThrough();
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  ctx.status = 200;
  ctx.body = stream;

  const resumeAfter = Number(ctx.get('last-event-id') || NaN);
  const send = (event: GatewayEvent, seq: number) => stream.write(`id: ${seq}\ndata: ${JSON.stringify(event)}\n\n`);
  stream.write('retry: 2000\n\n');
  for (const { seq, event } of bus.recent()) {
    if (Number.isNaN(resumeAfter) || seq > resumeAfter) send(event, seq);
  }
  const unsubscribe = bus.subscribe(send);
  const keepalive = setInterval(() => stream.write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  const close = () => {
    clearInterval(keepalive);
    unsubscribe();
    stream.end();
  };
  ctx.req.once('close', close);
  ctx.res.once('close', close);
}
