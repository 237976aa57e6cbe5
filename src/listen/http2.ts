import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Http2Settings } from '../config/types.ts';
import { FrameBudget } from './frame-budget.ts';

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
 */

export type Flood = 'resets' | 'pings' | 'settings';

export interface Http2Deps {
  readonly settings: Http2Settings;
  /** Largest header list (bytes) a client may send: server.maxHeaderSize, as for HTTP/1.1. */
  readonly maxHeaderSize: number;
  /** A connection with no open stream for this long is closed (GOAWAY). */
  readonly idleTimeoutMs: number;
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** A connection was cut off for a flood (for the log). */
  readonly onFlood: (kind: Flood, remoteAddress: string | undefined) => void;
  readonly now: () => number;
}

interface Tracked {
  open: number;
  readonly resets: FrameBudget;
  readonly pings: FrameBudget;
  readonly settings: FrameBudget;
}

const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** After a flood's GOAWAY, how long the connection may take to close before it is destroyed. */
const CUT_OFF_GRACE_MS = 1000;

export class Http2Sessions {
  readonly #server: http2.Http2Server;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #deps: Http2Deps;

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
    this.#server.emit('connection', socket);
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  /** GOAWAY to every connection: no new streams, the open ones finish. */
  close(): void {
    for (const session of this.#sessions) session.close();
  }

  destroyAll(): void {
    for (const session of this.#sessions) session.destroy();
  }

  #track(session: http2.ServerHttp2Session): void {
    const { settings, now } = this.#deps;
    const state: Tracked = {
      open: 0,
      resets: new FrameBudget(settings.maxResets, settings.floodWindowMs),
      pings: new FrameBudget(settings.maxPings, settings.floodWindowMs),
      settings: new FrameBudget(settings.maxSettings, settings.floodWindowMs),
    };
    this.#sessions.add(session);
    session.on('close', () => this.#sessions.delete(session));
    session.on('error', () => session.destroy());
    let cut = false;
    const cutOff = (kind: Flood) => {
      if (cut || session.destroyed) return;
      cut = true;
      this.#deps.onFlood(kind, session.socket?.remoteAddress);
      // GOAWAY first (nghttp2 then ignores the client's new streams), and a moment for it to
      // leave before the connection is destroyed: destroying at once can drop it unsent.
      session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
      session.close();
      setTimeout(() => session.destroy(), CUT_OFF_GRACE_MS).unref();
    };
    session.on('ping', () => {
      if (state.pings.spend(now())) cutOff('pings');
    });
    session.on('remoteSettings', () => {
      if (state.settings.spend(now())) cutOff('settings');
    });
    session.on('stream', (stream) => {
      state.open += 1;
      // 'aborted': the client reset the stream before the response ended.
      stream.once('aborted', () => {
        if (state.resets.spend(now())) cutOff('resets');
      });
      stream.once('close', () => (state.open -= 1));
      stream.on('error', () => {});
    });
    session.setTimeout(this.#deps.idleTimeoutMs, () => {
      if (state.open === 0) session.close();
    });
  }
}
