import type { Agent, ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { AttemptOutcome } from '../policy/types.ts';
import { clientResponseHeaders } from './headers.ts';
import type { ProxyServer, ProxyTarget, WebHooks } from './proxy-server.ts';

/**
 * One forwarding attempt: send the request to one node, and either stream the response to the
 * client or, when the caller may retry, hold it back. Resolves as soon as the outcome is known
 * (response headers, or an error); `done` settles when the client's response is over.
 *
 * This is the hottest code in the gateway: per request it allocates one Attempt, one timer and
 * two promises, and its listeners are methods, not fresh closures.
 */

/** What the attempt asks its caller while it runs. */
export interface AttemptOwner {
  /** True: this status is not passed to the client because the caller will retry elsewhere. */
  holdStatus(status: number): boolean;
  /** Extra response headers for the client, flat [name, value, …]; asked when the response starts. */
  responseHeaders(): readonly string[];
}

export interface AttemptSpec {
  readonly target: ProxyTarget;
  readonly agent: Agent;
  /** Buffered body to (re)send. */
  readonly body: Buffer | undefined;
  /** A body stream to send instead of the client's request stream (not replayable). */
  readonly stream: Readable | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly owner: AttemptOwner;
  /** Lets the caller abort the attempt (a streamed body turned out too large). */
  readonly abort: AbortHandle | undefined;
}

export interface AttemptResult {
  readonly outcome: AttemptOutcome;
  /** Response bytes went to the client: this request can no longer be retried or answered. */
  readonly committed: boolean;
  /** Settles when the attempt has no more work (the response streamed, failed or was dropped). */
  readonly done: Promise<void>;
}

/** Aborts whichever attempt is running; cheaper than an AbortController and only made when needed. */
export class AbortHandle {
  #attempt: Attempt | undefined;
  #aborted = false;

  attach(attempt: Attempt): void {
    this.#attempt = attempt;
    if (this.#aborted) attempt.abort();
  }

  abort(): void {
    this.#aborted = true;
    this.#attempt?.abort();
  }
}

/** Bodies of held-back responses up to this size are drained to keep the connection. */
const DRAIN_LIMIT = 64 * 1024;

export class Forwarder {
  readonly #server: ProxyServer;

  constructor(server: ProxyServer) {
    this.#server = server;
    server.onResponse(dispatchUpstreamResponse);
  }

  forward(req: IncomingMessage, res: ServerResponse, spec: AttemptSpec): Promise<AttemptResult> {
    return new Promise((resolve) => new Attempt(req, res, spec, resolve).start(this.#server));
  }
}

const enum Phase {
  Connecting,
  Waiting,
  Streaming,
  Over,
}

const attemptOf = Symbol('baton.attempt');
type Tagged = { [attemptOf]?: Attempt };

// Shared listeners: `this` is the emitter, which carries its attempt. No closure per request.
function onClientClose(this: ServerResponse & Tagged): void {
  this[attemptOf]?.clientClosed();
}
function onClientFinish(this: ServerResponse & Tagged): void {
  this[attemptOf]?.end();
}
/** http-proxy's 'proxyRes' event (one listener for all requests) finds the attempt on `res`. */
function dispatchUpstreamResponse(proxyRes: IncomingMessage, res: ServerResponse): void {
  (res as ServerResponse & Tagged)[attemptOf]?.response(proxyRes);
}
function onUpstreamConnect(this: { [attemptOf]?: Attempt }): void {
  this[attemptOf]?.connected();
}
function onBodyError(this: IncomingMessage & Tagged): void {
  this[attemptOf]?.bodyFailed();
}
function onBodyClose(this: IncomingMessage & Tagged): void {
  if (!this.complete) this[attemptOf]?.bodyFailed();
}
function onTimer(attempt: Attempt): void {
  attempt.timedOut();
}

class Attempt implements WebHooks {
  #phase = Phase.Connecting;
  #proxyReq: (ClientRequest & Tagged) | undefined;
  #proxyRes: (IncomingMessage & Tagged) | undefined;
  #socket: Tagged | undefined;
  #bytesSeen = 0;
  #timer: NodeJS.Timeout | undefined;
  #settled = false;
  #finish!: () => void;
  readonly #done: Promise<void>;
  readonly #started = performance.now();
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse & Tagged;
  readonly #spec: AttemptSpec;
  readonly #resolve: (result: AttemptResult) => void;

  constructor(req: IncomingMessage, res: ServerResponse, spec: AttemptSpec, resolve: (result: AttemptResult) => void) {
    this.#req = req;
    this.#res = res;
    this.#spec = spec;
    this.#resolve = resolve;
    this.#done = new Promise<void>((done) => (this.#finish = done));
  }

  start(server: ProxyServer): void {
    this.#res[attemptOf] = this;
    this.#res.on('close', onClientClose);
    this.#spec.abort?.attach(this);
    server.web(this.#req, this.#res, {
      target: this.#spec.target,
      agent: this.#spec.agent,
      body: this.#spec.body ? Readable.from([this.#spec.body]) : this.#spec.stream,
      headers: this.#spec.headers,
      hooks: this,
    });
  }

  onRequest(proxyReq: ClientRequest): void {
    const tagged = proxyReq as ClientRequest & Tagged;
    this.#proxyReq = tagged;
    if (this.#phase === Phase.Over) return void proxyReq.destroy();
    tagged[attemptOf] = this;
    const socket = proxyReq.socket as (typeof proxyReq.socket & Tagged) | null;
    // The timer starts here rather than in start(): a reused keep-alive socket (the usual
    // case) is connected already and needs only the response timer.
    if (socket && !socket.connecting) return this.connected();
    this.#timer = setTimeout(onTimer, this.#spec.connectTimeoutMs, this);
    if (socket) {
      this.#socket = socket;
      socket[attemptOf] = this;
      socket.once('connect', onUpstreamConnect);
    }
  }

  connected(): void {
    if (this.#phase !== Phase.Connecting) return;
    this.#phase = Phase.Waiting;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(onTimer, this.#spec.responseTimeoutMs, this);
  }

  timedOut(): void {
    const latencyMs = this.#elapsed();
    switch (this.#phase) {
      case Phase.Connecting:
        this.#settle({ kind: 'connect', failed: true, latencyMs, detail: `connect timeout after ${this.#spec.connectTimeoutMs}ms` }, false);
        return this.end();
      case Phase.Waiting:
        this.#settle({ kind: 'timeout', failed: true, latencyMs, detail: `no response within ${this.#spec.responseTimeoutMs}ms` }, false);
        return this.end();
      case Phase.Streaming:
        return this.#checkStall();
      case Phase.Over:
        return;
    }
  }

  onError(error: NodeJS.ErrnoException): void {
    if (this.#phase === Phase.Streaming) return this.bodyFailed();
    if (this.#settled) return this.end();
    const code = error.code ?? error.message;
    const latencyMs = this.#elapsed();
    let outcome: AttemptOutcome;
    if (this.#phase === Phase.Connecting) outcome = { kind: 'connect', failed: true, latencyMs, detail: code };
    else if (code.startsWith('HPE_')) outcome = { kind: 'bad-response', failed: true, latencyMs, detail: code };
    else outcome = { kind: 'reset', failed: true, latencyMs, detail: code === 'ECONNRESET' ? 'connection reset before response' : code };
    this.#settle(outcome, false);
    this.end();
  }

  response(proxyRes: IncomingMessage): void {
    if (this.#phase === Phase.Over) return void proxyRes.destroy();
    const status = proxyRes.statusCode ?? 502;
    const latencyMs = this.#elapsed();
    if (this.#spec.owner.holdStatus(status)) return this.#drop(proxyRes, status, latencyMs);
    try {
      this.#res.writeHead(status, proxyRes.statusMessage, clientResponseHeaders(proxyRes.rawHeaders, this.#spec.owner.responseHeaders()));
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
    // From here the timer watches for a stalled body (checked per period, not per chunk).
    this.#bytesSeen = proxyRes.socket?.bytesRead ?? 0;
    this.#timer?.refresh();
    proxyRes.on('error', onBodyError);
    proxyRes.on('close', onBodyClose);
    this.#res.once('finish', onClientFinish);
    proxyRes.pipe(this.#res);
  }

  /** A body that stalls longer than the response timeout is as broken as one that stops. */
  #checkStall(): void {
    const read = this.#proxyRes?.socket?.bytesRead ?? 0;
    if (read === this.#bytesSeen) return this.bodyFailed();
    this.#bytesSeen = read;
    this.#timer?.refresh();
  }

  /** The upstream response broke off (reset, truncation, stall) after its headers were sent on. */
  bodyFailed(): void {
    if (this.#phase === Phase.Over) return;
    // The client must see a broken response (no final chunk, short Content-Length), never a
    // clean short one: destroy its connection.
    this.#res.destroy();
    this.end();
  }

  #drop(proxyRes: IncomingMessage, status: number, latencyMs: number): void {
    this.#settle({ kind: 'status', status, latencyMs, failed: status >= 500, detail: `status ${status}` }, false);
    clearTimeout(this.#timer);
    const length = Number(proxyRes.headers['content-length'] ?? Infinity);
    if (length <= DRAIN_LIMIT) {
      proxyRes.once('error', () => this.end());
      proxyRes.once('end', () => this.end());
      proxyRes.resume();
    } else {
      proxyRes.destroy();
      this.end();
    }
  }

  clientClosed(): void {
    if (this.#res.writableFinished) return;
    // The client went away: cancel the upstream request (http-proxy 1.18 does not).
    this.#settle({ kind: 'aborted', failed: false, latencyMs: this.#elapsed(), detail: 'client closed the connection' }, true);
    this.end();
  }

  abort(): void {
    this.#settle({ kind: 'aborted', failed: false, latencyMs: this.#elapsed(), detail: 'attempt aborted by the gateway' }, false);
    this.end();
  }

  #settle(outcome: AttemptOutcome, committed: boolean): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve({ outcome, committed, done: this.#done });
  }

  /** No more work for this attempt: stop the timer, release the upstream request if unfinished. */
  end(): void {
    if (this.#phase === Phase.Over) return;
    const completed = this.#phase === Phase.Streaming && this.#res.writableFinished;
    this.#phase = Phase.Over;
    clearTimeout(this.#timer);
    const res = this.#res;
    res.removeListener('close', onClientClose);
    if (res[attemptOf] === this) res[attemptOf] = undefined;
    if (this.#proxyRes) this.#proxyRes[attemptOf] = undefined;
    if (this.#socket?.[attemptOf] === this) this.#socket[attemptOf] = undefined;
    const proxyReq = this.#proxyReq;
    if (proxyReq) {
      proxyReq[attemptOf] = undefined;
      const upstreamResponse = (proxyReq as { res?: IncomingMessage }).res;
      if (!completed && !upstreamResponse?.complete) proxyReq.destroy();
    }
    this.#finish();
  }

  #elapsed(): number {
    return performance.now() - this.#started;
  }
}
