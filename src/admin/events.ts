import type { Context } from 'koa';
import type { EventBus } from '../events/bus.ts';
import type { GatewayEvent } from '../events/types.ts';
import { BatonError } from '../util/errors.ts';

/** Comments keep idle proxies and browsers from closing the stream. */
const KEEPALIVE_MS = 15_000;
/**
 * Bytes a stream may have waiting for its reader (in Node and the socket) before it is cut:
 * about 3,000 events, far more than any burst, while a reader that stopped reading costs at
 * most this much memory.
 */
export const STREAM_BUFFER_LIMIT = 1024 * 1024;
/** What a refused stream is told; EventSource retries on its own after `retry:`. */
const RETRY_AFTER_SECONDS = '5';

/**
 * `GET /events`: server-sent events, one `data:` JSON line per gateway event, with the bus
 * sequence number as the event id. The recent history is replayed first (a dashboard that
 * opens late sees what just happened); a client resuming with Last-Event-ID gets only newer ones.
 *
 * At most `max` streams are open at once (503 beyond), and a stream whose reader falls more
 * than STREAM_BUFFER_LIMIT behind is closed: events are pushed by the bus, so without a bound
 * a subscriber that never reads would grow the gateway's memory for ever.
 */
export class EventStreams {
  readonly #bus: EventBus;
  readonly #max: number;
  readonly #bufferLimit: number;
  #open = 0;

  constructor(bus: EventBus, max: number, bufferLimit = STREAM_BUFFER_LIMIT) {
    this.#bus = bus;
    this.#max = max;
    this.#bufferLimit = bufferLimit;
  }

  /** Streams open now. */
  get open(): number {
    return this.#open;
  }

  serve(ctx: Context): void {
    if (this.#open >= this.#max) {
      ctx.set('retry-after', RETRY_AFTER_SECONDS);
      throw new BatonError('TOO_MANY_STREAMS', `${this.#max} open`);
    }
    this.#open += 1;
    const res = ctx.res;
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    // Written directly, so that what waits for the reader is measurable (res.writableLength
    // counts the socket's buffer too); Koa leaves the response alone.
    ctx.status = 200;
    ctx.respond = false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });

    const write = (text: string) => {
      if (res.destroyed) return;
      res.write(text);
      if (res.writableLength > this.#bufferLimit) res.destroy();
    };
    const send = (event: GatewayEvent, seq: number) => write(`id: ${seq}\ndata: ${JSON.stringify(event)}\n\n`);
    const resumeAfter = Number(ctx.get('last-event-id') || NaN);
    write('retry: 2000\n\n');
    for (const { seq, event } of this.#bus.recent()) {
      if (Number.isNaN(resumeAfter) || seq > resumeAfter) send(event, seq);
    }
    const unsubscribe = this.#bus.subscribe(send);
    // Wall time on purpose: it keeps a real socket (and the proxies on its way) from idling out.
    const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    res.once('close', () => {
      clearInterval(keepalive);
      unsubscribe();
      this.#open -= 1;
    });
  }
}
