import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { AttemptOutcome } from '../vocabulary.ts';
import {
  attemptOf,
  onBodyClose,
  onBodyError,
  onBodySourceError,
  onClientClose,
  onClientFinish,
  onHeldResponseOver,
  onRequestSent,
  onTimer,
  onUpstreamConnect,
  onUpstreamError,
  onUpstreamResponse,
  onUpstreamSocket,
  onUpstreamUpgrade,
  type Tagged,
} from './attempt-events.ts';
import { failureOutcome, startWatching, streamVerdict, uploadStalled, type StreamProgress } from './attempt-rules.ts';
import type { AttemptResult, AttemptSpec } from './forwarder.ts';
import {
  abortResponse,
  clientBehind,
  cutOffClient,
  isHttp2,
  responseComplete,
  responseGone,
} from './client-response.ts';
import { clientResponseHeaders } from './headers.ts';
import { upstreamRequest } from './target.ts';
import type { WebSocketTunnels } from './websocket.ts';

/**
 * The state machine of one attempt: connect, send, wait for the answer, then stream it to the
 * client (or hold it back, or open a websocket tunnel). One timer watches every phase.
 *
 * This is the hottest code in the gateway: per request it allocates one Attempt, one upstream
 * request, one timer and two promises, and its listeners are shared functions, not closures.
 */

enum Phase {
  Connecting,
  Waiting,
  Streaming,
  Tunnel,
  Over,
}

/** Bodies of held-back responses up to this size are drained to keep the connection. */
const DRAIN_LIMIT = 64 * 1024;

export class Attempt implements StreamProgress {
  #phase = Phase.Connecting;
  #proxyReq: (ClientRequest & Tagged) | undefined;
  #proxyRes: (IncomingMessage & Tagged) | undefined;
  #socket: (Socket & Tagged) | undefined;
  /** Bytes of a streamed request body sent upstream at the last check. */
  #bytesSent = 0;
  // StreamProgress, kept here rather than in an object of its own.
  upstreamBytes = 0;
  upstreamSince = 0;
  clientBytes = 0;
  clientSince = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Counts (re)armings of the timer, so that a firing that was overtaken is ignored. */
  armed = 0;
  #settled = false;
  #finish!: () => void;
  readonly #done: Promise<void>;
  readonly #started = performance.now();
  readonly #res: ServerResponse & Tagged;
  readonly #spec: AttemptSpec;
  readonly #tunnels: WebSocketTunnels;
  readonly #resolve: (result: AttemptResult) => void;
  /** The attempt that held the client response's tag before this one (hedged requests race on one response). */
  #previous: Attempt | undefined;
  readonly #http2: boolean;

  constructor(
    res: ServerResponse,
    spec: AttemptSpec,
    tunnels: WebSocketTunnels,
    resolve: (result: AttemptResult) => void,
  ) {
    this.#res = res;
    this.#spec = spec;
    this.#tunnels = tunnels;
    this.#resolve = resolve;
    this.#http2 = isHttp2(res);
    this.#done = new Promise<void>((done) => (this.#finish = done));
  }

  start(): void {
    const spec = this.#spec;
    this.#previous = this.#res[attemptOf];
    this.#res[attemptOf] = this;
    this.#res.on('close', onClientClose);
    // The client left while the loop waited (for a node, or between tries): send nothing.
    if (responseGone(this.#res)) return this.clientClosed();
    const proxyReq: ClientRequest & Tagged = upstreamRequest(
      spec.target,
      spec.agent,
      spec.method,
      spec.path,
      spec.headers,
    );
    this.#proxyReq = proxyReq;
    proxyReq[attemptOf] = this;
    proxyReq.on('error', onUpstreamError);
    proxyReq.on('socket', onUpstreamSocket);
    proxyReq.on('response', onUpstreamResponse);
    if (spec.tunnel) proxyReq.on('upgrade', onUpstreamUpgrade);
    const body = spec.body;
    if (body === undefined || Buffer.isBuffer(body)) return void proxyReq.end(body);
    (body as Readable & Tagged)[attemptOf] = this;
    body.on('error', onBodySourceError);
    proxyReq.on('finish', onRequestSent);
    body.pipe(proxyReq);
  }

  socketAssigned(socket: Socket & Tagged): void {
    if (this.#phase !== Phase.Connecting) return;
    // A reused keep-alive socket (the usual case) is connected already and needs only the
    // response timer. (The agent has no socket limit: every request gets one at once.)
    if (!socket.connecting) return this.connected();
    this.#arm(this.#spec.connectTimeoutMs);
    this.#socket = socket;
    socket[attemptOf] = this;
    // To an https:// node, connected means the TLS handshake is done: a certificate the pool
    // does not accept is a failure to connect (nothing was sent; any request may be retried),
    // and timeouts.connect covers the handshake.
    socket.once(
      (socket as Socket & { encrypted?: boolean }).encrypted ? 'secureConnect' : 'connect',
      onUpstreamConnect,
    );
  }

  connected(): void {
    if (this.#phase !== Phase.Connecting) return;
    this.#phase = Phase.Waiting;
    this.#arm(this.#spec.responseTimeoutMs);
  }

  /** The whole (streamed) body went out: the response timeout counts from here. */
  requestSent(): void {
    if (this.#phase === Phase.Waiting) this.#arm();
  }

  timedOut(): void {
    const latencyMs = this.#elapsed();
    switch (this.#phase) {
      case Phase.Connecting:
        this.#settle(
          {
            kind: 'connect',
            failed: true,
            latencyMs,
            detail: `connect timeout after ${this.#spec.connectTimeoutMs}ms`,
          },
          false,
        );
        return this.end();
      case Phase.Waiting:
        if (this.#uploading()) return;
        this.#settle(
          { kind: 'timeout', failed: true, latencyMs, detail: `no response within ${this.#spec.responseTimeoutMs}ms` },
          false,
        );
        return this.end();
      case Phase.Streaming:
        return this.#checkStall();
      default:
        return;
    }
  }

  /** Still sending a streamed body, and the upstream still takes it: keep waiting. */
  #uploading(): boolean {
    const proxyReq = this.#proxyReq!;
    const body = this.#spec.body;
    if (proxyReq.writableFinished || body === undefined || Buffer.isBuffer(body)) return false;
    const sent = proxyReq.socket?.bytesWritten ?? 0;
    if (uploadStalled(this.#bytesSent, sent, proxyReq.writableNeedDrain)) return false;
    this.#bytesSent = sent;
    this.#arm();
    return true;
  }

  requestFailed(error: NodeJS.ErrnoException): void {
    if (this.#phase === Phase.Streaming) return this.bodyFailed();
    if (this.#phase === Phase.Tunnel) return;
    if (this.#settled) return this.end();
    this.#settle(failureOutcome(this.#phase === Phase.Connecting, error, this.#elapsed()), false);
    this.end();
  }

  response(proxyRes: IncomingMessage): void {
    if (this.#phase === Phase.Over) return void proxyRes.destroy();
    const status = proxyRes.statusCode ?? 502;
    const latencyMs = this.#elapsed();
    const owner = this.#spec.owner;
    if (owner.holdStatus(status)) return this.#drop(proxyRes, status, latencyMs);
    if (owner.claim) {
      // A hedged request: the first response headers win, and only the winner talks to the client.
      if (!owner.claim()) {
        proxyRes.destroy();
        return this.cancel('another node answered first');
      }
      this.#res[attemptOf] = this;
    }
    // An answer before the whole request body arrived (the upstream did not wait for it):
    // whatever the client still sends cannot be read as a next request, so close after it.
    if (!this.#res.req.complete) this.#res.shouldKeepAlive = false;
    try {
      const headers = clientResponseHeaders(proxyRes.rawHeaders, this.#spec.owner.responseHeaders());
      // HTTP/2 has no reason phrase (node warns when given one).
      if (this.#http2) this.#res.writeHead(status, headers);
      else this.#res.writeHead(status, proxyRes.statusMessage, headers);
    } catch (error) {
      // An upstream header Node refuses to send (invalid characters): a bad response, not a crash.
      this.#settle({ kind: 'bad-response', failed: true, latencyMs, status, detail: (error as Error).message }, false);
      proxyRes.destroy();
      return this.end();
    }
    this.#phase = Phase.Streaming;
    this.#settle({ kind: status >= 500 ? 'status' : 'ok', status, latencyMs, failed: status >= 500 }, true);
    this.#stream(proxyRes as IncomingMessage & Tagged);
  }

  #stream(proxyRes: IncomingMessage & Tagged): void {
    this.#proxyRes = proxyRes;
    proxyRes[attemptOf] = this;
    // From here the timer checks, once per period, that the body keeps coming and that the
    // client keeps taking it.
    startWatching(this, performance.now(), proxyRes.socket?.bytesRead ?? 0, this.#res.socket?.bytesWritten ?? 0);
    const period = Math.min(this.#spec.responseTimeoutMs, this.#spec.sendTimeoutMs);
    this.#arm(period === this.#spec.responseTimeoutMs ? undefined : period);
    proxyRes.on('error', onBodyError);
    proxyRes.on('close', onBodyClose);
    this.#res.once('finish', onClientFinish);
    proxyRes.pipe(this.#res);
  }

  #checkStall(): void {
    const res = this.#res;
    const verdict = streamVerdict(this, {
      now: performance.now(),
      upstreamBytes: this.#proxyRes?.socket?.bytesRead ?? 0,
      clientBytes: res.socket?.bytesWritten ?? 0,
      clientBehind: clientBehind(res),
      responseTimeoutMs: this.#spec.responseTimeoutMs,
      sendTimeoutMs: this.#spec.sendTimeoutMs,
    });
    if (verdict === 'flowing') this.#arm();
    else if (verdict === 'upstream-stalled') this.bodyFailed();
    else {
      cutOffClient(res);
      this.bodyFailed();
    }
  }

  /** A websocket handshake succeeded: answer 101 and join the two sockets. */
  upgraded(proxyRes: IncomingMessage, upstream: Duplex, upstreamHead: Buffer): void {
    const client = this.#res.socket;
    const tunnel = this.#spec.tunnel;
    if (this.#phase === Phase.Over || !tunnel || !client || client.destroyed || client.readableEnded) {
      upstream.destroy();
      this.#res.destroy();
      return this.clientClosed();
    }
    // The upstream's own 101 headers (Sec-WebSocket-Accept, …), and the two that make it one.
    const headers = clientResponseHeaders(proxyRes.rawHeaders, this.#spec.owner.responseHeaders());
    headers.push('Connection', 'Upgrade', 'Upgrade', String(proxyRes.headers.upgrade ?? 'websocket'));
    try {
      this.#res.writeHead(101, proxyRes.statusMessage, headers);
    } catch (error) {
      upstream.destroy();
      this.#settle(
        {
          kind: 'bad-response',
          failed: true,
          status: 101,
          latencyMs: this.#elapsed(),
          detail: (error as Error).message,
        },
        false,
      );
      return this.end();
    }
    this.#disarm();
    this.#phase = Phase.Tunnel;
    this.#res.flushHeaders();
    this.#settle({ kind: 'ok', status: 101, failed: false, latencyMs: this.#elapsed() }, true);
    this.#tunnels.open(client, upstream, tunnel.head, upstreamHead, tunnel, () => this.end());
  }

  /** The upstream response broke off (reset, truncation, stall), or the client stopped taking it. */
  bodyFailed(): void {
    if (this.#phase === Phase.Over) return;
    // The client must see a broken response (no final chunk, short Content-Length), never a
    // clean short one.
    abortResponse(this.#res);
    this.end();
  }

  #drop(proxyRes: IncomingMessage, status: number, latencyMs: number): void {
    this.#settle({ kind: 'status', status, latencyMs, failed: status >= 500, detail: `status ${status}` }, false);
    this.#disarm();
    const length = Number(proxyRes.headers['content-length'] ?? Infinity);
    if (length <= DRAIN_LIMIT) {
      this.#proxyRes = proxyRes;
      (proxyRes as IncomingMessage & Tagged)[attemptOf] = this;
      proxyRes.once('error', onHeldResponseOver);
      proxyRes.once('end', onHeldResponseOver);
      proxyRes.resume();
    } else {
      proxyRes.destroy();
      this.end();
    }
  }

  clientClosed(): void {
    if (this.#phase === Phase.Tunnel) return;
    // Ended, but its 'finish' never comes once the connection is gone (writableFinished also
    // holds when the socket closed under unflushed bytes): the attempt is over all the same.
    if (responseComplete(this.#res)) return this.end();
    // The client went away: cancel the upstream request. Never a failure of the node.
    this.#settle(
      { kind: 'aborted', failed: false, latencyMs: this.#elapsed(), detail: 'client closed the connection' },
      true,
    );
    this.end();
  }

  /**
   * The body being sent broke off: the client's upload failed, or it passed the size limit.
   * Not the node's fault. A response already streaming cannot be finished: end the client's
   * connection at once.
   */
  abort(): void {
    if (this.#phase === Phase.Streaming) return this.bodyFailed();
    this.#settle(
      { kind: 'aborted', failed: false, latencyMs: this.#elapsed(), detail: 'the request body broke off' },
      false,
    );
    this.end();
  }

  /**
   * A hedge race was decided elsewhere (or the request is over): stop now and abort the
   * upstream request, so the upstream sees the abort. Not the node's fault.
   */
  cancel(detail: string): void {
    if (this.#phase === Phase.Over || this.#phase === Phase.Streaming || this.#phase === Phase.Tunnel) return;
    this.#settle({ kind: 'aborted', failed: false, latencyMs: this.#elapsed(), detail }, false);
    this.end();
  }

  get running(): boolean {
    return this.#phase !== Phase.Over;
  }

  /**
   * Restarts the one timer: with a new duration, or (cheaper, no allocation) the same one.
   * Node's timer, not the Clock: refresh() re-arms it without allocating on the request path,
   * and what it times is a real socket.
   */
  #arm(ms?: number): void {
    this.armed += 1;
    if (ms === undefined && this.#timer) return void this.#timer.refresh();
    clearTimeout(this.#timer);
    this.#timer = setTimeout(onTimer, ms, this);
  }

  #disarm(): void {
    this.armed += 1;
    clearTimeout(this.#timer);
  }

  #settle(outcome: AttemptOutcome, committed: boolean): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve({ outcome, committed, done: this.#done });
  }

  /** No more work for this attempt: stop the timer, release the upstream request if unfinished. */
  end(): void {
    if (this.#phase === Phase.Over) return;
    const completed = this.#phase === Phase.Tunnel || (this.#phase === Phase.Streaming && responseComplete(this.#res));
    this.#phase = Phase.Over;
    this.#disarm();
    const res = this.#res;
    res.removeListener('close', onClientClose);
    if (res[attemptOf] === this) {
      // Hand the client's close back to an attempt still racing for this response, if any.
      let previous = this.#previous;
      while (previous && !previous.running) previous = previous.#previous;
      res[attemptOf] = previous;
    }
    if (this.#proxyRes) this.#proxyRes[attemptOf] = undefined;
    if (this.#socket?.[attemptOf] === this) this.#socket[attemptOf] = undefined;
    const body = this.#spec.body as (Readable & Tagged) | undefined;
    if (body && !Buffer.isBuffer(body) && body[attemptOf] === this) {
      body[attemptOf] = undefined;
      body.removeListener('error', onBodySourceError);
      body.unpipe(this.#proxyReq);
    }
    const proxyReq = this.#proxyReq;
    if (proxyReq) {
      proxyReq[attemptOf] = undefined;
      // A connection whose request or response is unfinished can never be reused.
      if ((!completed && !(proxyReq as { res?: IncomingMessage }).res?.complete) || !proxyReq.writableFinished)
        proxyReq.destroy();
    }
    this.#finish();
  }

  #elapsed(): number {
    return performance.now() - this.#started;
  }
}
