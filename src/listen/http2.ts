import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Http2Settings } from '../config/types.ts';
import { FrameBudget } from './frame-budget.ts';
import { markResetByGateway, RESET_CANCEL, resetByGateway, resetStream } from './stream-resets.ts';
import {
  checkPeriodMs,
  headerBlockLate,
  streamVerdict,
  watchStream,
  type HeaderBlockWatch,
  type StreamTimeouts,
  type StreamWatch,
} from './stream-deadlines.ts';

/**
 * HTTP/2 for TLS connections that chose `h2` by ALPN: node:http2's sessions, with requests
 * handed to the same pipeline as HTTP/1.1 through node's compatibility API (the request and
 * response objects mimic http's). The pipeline forwards them upstream as HTTP/1.1.
 *
 * Limits: concurrent streams and header list size are announced in SETTINGS and enforced by
 * nghttp2. Floods are counted here, per connection and window: streams the client cancels
 * (rapid reset, CVE-2023-44487: each one costs us a pipeline run and maybe an upstream
 * request, and costs the client one frame), PINGs and SETTINGS (each one makes us queue an
 * ACK). A connection over its budget gets GOAWAY with ENHANCE_YOUR_CALM and is closed; other
 * connections are not affected.
 *
 * Slow clients: the HTTP/1.1 timeouts hold per stream (stream-deadlines.ts), checked by one
 * sweep over the open streams. A stream whose request has not fully arrived within
 * requestTimeout gets 408 (or, if its answer started, a reset); one whose client takes none of
 * its response for sendTimeout is reset; a connection whose header block is still incomplete
 * after headersTimeout is closed. Only the late stream is touched, never its neighbours.
 */

export type Flood = 'resets' | 'pings' | 'settings';

export interface Http2Deps {
  readonly settings: Http2Settings;
  /** Largest header list (bytes) a client may send: server.maxHeaderSize, as for HTTP/1.1. */
  readonly maxHeaderSize: number;
  /** A connection with no open stream for this long is closed (GOAWAY). */
  readonly idleTimeoutMs: number;
  /** server.headersTimeout, requestTimeout and sendTimeout, asked at each check (a reload changes them). */
  readonly timeouts: () => StreamTimeouts;
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** A connection was cut off for a flood, or for a header block that did not arrive in time (for the log). */
  readonly onFlood: (kind: Flood | 'headers-timeout', remoteAddress: string | undefined) => void;
  readonly now: () => number;
}

interface Tracked {
  open: number;
  readonly resets: FrameBudget;
  readonly pings: FrameBudget;
  readonly settings: FrameBudget;
  /** The open streams, each with its deadlines, and the drains of its response queue. */
  readonly streams: Map<http2.ServerHttp2Stream, StreamWatch>;
  /** The highest stream id whose header block is known complete: announced, or followed by a PING ACK. */
  settled: number;
  readonly headerBlock: HeaderBlockWatch;
  readonly cutOff: (kind: Flood | 'headers-timeout') => void;
}

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR, NGHTTP2_PROTOCOL_ERROR } = http2.constants;

/** After a flood's GOAWAY, how long the connection may take to close before it is destroyed. */
const CUT_OFF_GRACE_MS = 1000;

export class Http2Sessions {
  readonly #server: http2.Http2Server;
  readonly #sessions = new Map<http2.ServerHttp2Session, Tracked>();
  readonly #deps: Http2Deps;
  #sweep: NodeJS.Timeout | undefined;
  /** The TLS socket being handed to node:http2 (its session is announced synchronously). */
  #accepting: Socket | undefined;

  constructor(deps: Http2Deps) {
    this.#deps = deps;
    const limits = deps.settings;
    this.#server = http2.createServer({
      settings: {
        maxConcurrentStreams: limits.maxConcurrentStreams,
        maxHeaderListSize: deps.maxHeaderSize,
        enablePush: false,
      },
      maxSessionMemory: 10,
    });
    this.#server.on('session', (session) => this.#track(session));
    this.#server.on('request', (req, res) => {
      // Host is what routing, X-Forwarded-Host and the upstream see: an h2 client sends :authority.
      const authority = req.headers[':authority'];
      if (req.headers.host === undefined && authority !== undefined) req.headers.host = authority;
      deps.onRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    });
  }

  /** Takes over a TLS connection whose ALPN chose `h2`. */
  accept(socket: Socket): void {
    // Each open stream's response watches the connection (Koa's on-finished): up to two
    // listeners per stream, bounded by maxConcurrentStreams.
    socket.setMaxListeners(this.#deps.settings.maxConcurrentStreams * 2 + 10);
    this.#accepting = socket;
    try {
      this.#server.emit('connection', socket);
    } finally {
      this.#accepting = undefined;
    }
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  /** GOAWAY to every connection: no new streams, the open ones finish. */
  close(): void {
    for (const session of this.#sessions.keys()) session.close();
  }

  destroyAll(): void {
    for (const session of this.#sessions.keys()) session.destroy();
  }

  #track(session: http2.ServerHttp2Session): void {
    const { settings, now } = this.#deps;
    const socket = this.#accepting;
    let cut = false;
    const cutOff = (kind: Flood | 'headers-timeout') => {
      if (cut || session.destroyed) return;
      cut = true;
      this.#deps.onFlood(kind, session.socket?.remoteAddress);
      // GOAWAY first (nghttp2 then ignores the client's new streams), and a moment for it to
      // leave before the connection is destroyed: destroying at once can drop it unsent. The
      // socket itself is destroyed: a session closed gracefully only ends its writable side and
      // waits for the client's, which a hostile client never sends.
      session.goaway(kind === 'headers-timeout' ? NGHTTP2_PROTOCOL_ERROR : NGHTTP2_ENHANCE_YOUR_CALM);
      session.close();
      setTimeout(() => {
        session.destroy();
        socket?.destroy();
      }, CUT_OFF_GRACE_MS).unref();
    };
    const state: Tracked = {
      open: 0,
      resets: new FrameBudget(settings.maxResets, settings.floodWindowMs),
      pings: new FrameBudget(settings.maxPings, settings.floodWindowMs),
      settings: new FrameBudget(settings.maxSettings, settings.floodWindowMs),
      streams: new Map(),
      settled: 0,
      headerBlock: { pendingId: 0, since: 0 },
      cutOff,
    };
    this.#sessions.set(session, state);
    this.#startSweep();
    session.on('close', () => this.#sessions.delete(session));
    session.on('error', () => session.destroy());
    session.on('ping', () => {
      if (state.pings.spend(now())) cutOff('pings');
    });
    session.on('remoteSettings', () => {
      if (state.settings.spend(now())) cutOff('settings');
    });
    session.on('stream', (stream) => {
      state.open += 1;
      state.settled = Math.max(state.settled, stream.id ?? 0);
      const watch = watchStream(now());
      // A request without a body is complete with its headers.
      if (stream.endAfterHeaders) watch.requestComplete = true;
      state.streams.set(stream, watch);
      // Counted for the send deadline: the client took what was queued.
      stream.on('drain', () => (watch.drains += 1));
      // 'aborted': the client reset the stream before the response ended.
      stream.once('aborted', () => {
        if (!resetByGateway(stream) && state.resets.spend(now())) cutOff('resets');
      });
      stream.once('close', () => {
        state.open -= 1;
        state.streams.delete(stream);
      });
      stream.on('error', () => {});
    });
    session.setTimeout(this.#deps.idleTimeoutMs, () => {
      if (state.open === 0) session.close();
    });
  }

  /** One timer for all connections, running while there are any (like http's connectionsCheckingInterval). */
  #startSweep(): void {
    if (this.#sweep) return;
    const run = () => {
      const timeouts = this.#deps.timeouts();
      this.#check(timeouts);
      this.#sweep = this.#sessions.size > 0 ? setTimeout(run, checkPeriodMs(timeouts)).unref() : undefined;
    };
    this.#sweep = setTimeout(run, checkPeriodMs(this.#deps.timeouts())).unref();
  }

  #check(timeouts: StreamTimeouts): void {
    const now = this.#deps.now();
    for (const [session, state] of this.#sessions) {
      if (session.destroyed) continue;
      const begun = session.state.lastProcStreamID ?? 0;
      const pending = state.headerBlock.pendingId;
      if (headerBlockLate(state.headerBlock, now, begun, state.settled, timeouts.headersTimeoutMs)) {
        state.cutOff('headers-timeout');
        continue;
      }
      if (state.headerBlock.pendingId !== 0 && state.headerBlock.pendingId !== pending)
        probeHeaderBlock(session, state, state.headerBlock.pendingId);
      for (const [stream, watch] of state.streams) {
        if (stream.destroyed || stream.closed) continue;
        const verdict = streamVerdict(
          watch,
          {
            now,
            // Asked of nghttp2 only until the request is complete: remoteClose is END_STREAM.
            requestComplete: watch.requestComplete || stream.state.remoteClose === 1,
            queued: stream.writableLength,
            drains: watch.drains,
          },
          timeouts,
        );
        if (verdict === 'ok') continue;
        try {
          if (verdict === 'request-late') requestLate(stream);
          // Only this stream: the connection and its other streams go on.
          else resetStream(stream, RESET_CANCEL);
        } catch {
          // A stream torn down meanwhile: nothing left to answer.
          markResetByGateway(stream);
          stream.destroy();
        }
      }
    }
  }
}

/**
 * A stream past the last announced one may be a header block still arriving, or one that
 * arrived whole and was reset as it was decoded (malformed, too many headers: node never
 * announces it). A PING tells them apart: nothing but CONTINUATION frames may come in the
 * middle of a header block (anything else is a connection error), so the client's ACK,
 * sent after the HEADERS that opened stream `id`, means that block ended. A client that does
 * not answer PINGs is left to the timeout.
 */
function probeHeaderBlock(session: http2.ServerHttp2Session, state: Tracked, id: number): void {
  try {
    session.ping((error) => {
      if (!error) state.settled = Math.max(state.settled, id);
    });
  } catch {
    // A session closing or destroyed meanwhile: nothing to tell apart.
  }
}

/**
 * The client did not finish its request in time: 408 as on HTTP/1.1 (node answers it there),
 * then RST_STREAM NO_ERROR once it is out, telling the client to stop sending its body (RFC
 * 9113 §8.1). An answer already started can only be cut: CANCEL. The pipeline sees its
 * client gone, as after an HTTP/1.1 408.
 */
function requestLate(stream: http2.ServerHttp2Stream): void {
  if (stream.headersSent) return resetStream(stream, RESET_CANCEL);
  stream.respond({ ':status': 408, 'content-length': '0' }, { endStream: true });
  resetStream(stream, NGHTTP2_NO_ERROR);
}
