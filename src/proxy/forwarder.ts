import type { Agent, ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { AttemptOutcome } from '../policy/types.ts';
import { clientResponseHeaders } from './headers.ts';
import type { ProxyServer, ProxyTarget } from './proxy-server.ts';

/**
 * One forwarding attempt: send the request to one node, and either stream the response to the
 * client or, when the caller may retry, hold it back. Resolves as soon as the outcome is known
 * (response headers, or an error); `done` settles when the client's response is over.
 */
export interface AttemptSpec {
  readonly target: ProxyTarget;
  readonly agent: Agent;
  /** Buffered body to (re)send. */
  readonly body: Buffer | undefined;
  /** A body stream to send instead of the client's request stream (not replayable). */
  readonly stream?: Readable;
  /** Aborts the attempt (the request body turned out too large). */
  readonly signal?: AbortSignal;
  readonly headers?: Record<string, string>;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  /** True: this status is not passed to the client because the caller will retry elsewhere. */
  readonly holdStatus: (status: number) => boolean;
  /** Extra response headers for the client, flat [name, value, …]; asked when the response starts. */
  readonly responseHeaders: () => readonly string[];
}

export interface AttemptResult {
  readonly outcome: AttemptOutcome;
  /** Response bytes went to the client: this request can no longer be retried or answered. */
  readonly committed: boolean;
  /** Settles when the attempt has no more work (the response streamed, failed or was dropped). */
  readonly done: Promise<void>;
}

/** Bodies of held-back responses up to this size are drained to keep the connection. */
const DRAIN_LIMIT = 64 * 1024;

export class Forwarder {
  readonly #server: ProxyServer;

  constructor(server: ProxyServer) {
    this.#server = server;
  }

  forward(req: IncomingMessage, res: ServerResponse, spec: AttemptSpec): Promise<AttemptResult> {
    return new Promise((resolve) => new Attempt(req, res, spec, resolve).start(this.#server));
  }
}

type Phase = 'connecting' | 'waiting' | 'streaming' | 'over';

class Attempt {
  #phase: Phase = 'connecting';
  #proxyReq: ClientRequest | undefined;
  #timer: NodeJS.Timeout | undefined;
  #settled = false;
  #finish!: () => void;
  readonly #done = new Promise<void>((resolve) => (this.#finish = resolve));
  readonly #started = performance.now();

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly spec: AttemptSpec,
    private readonly resolve: (result: AttemptResult) => void,
  ) {}

  start(server: ProxyServer): void {
    this.res.once('close', this.#onClientClose);
    this.spec.signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#arm(this.spec.connectTimeoutMs, 'connect');
    server.web(this.req, this.res, {
      target: this.spec.target,
      agent: this.spec.agent,
      body: this.spec.body ? Readable.from([this.spec.body]) : this.spec.stream,
      headers: this.spec.headers,
      hooks: { onRequest: (proxyReq) => this.#onRequest(proxyReq), onError: (error) => this.#onError(error) },
    });
  }

  #onRequest(proxyReq: ClientRequest): void {
    this.#proxyReq = proxyReq;
    if (this.#phase === 'over') {
      proxyReq.destroy();
      return;
    }
    const socket = proxyReq.socket;
    if (socket && !socket.connecting) this.#connected();
    else socket?.once('connect', () => this.#connected());
    proxyReq.once('response', (proxyRes: IncomingMessage) => this.#onResponse(proxyRes));
  }

  #connected(): void {
    if (this.#phase !== 'connecting') return;
    this.#phase = 'waiting';
    this.#arm(this.spec.responseTimeoutMs, 'response');
  }

  #arm(ms: number, what: 'connect' | 'response'): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const outcome: AttemptOutcome =
        what === 'connect'
          ? { kind: 'connect', failed: true, latencyMs: this.#elapsed(), detail: `connect timeout after ${ms}ms` }
          : { kind: 'timeout', failed: true, latencyMs: this.#elapsed(), detail: `no response within ${ms}ms` };
      this.#settle(outcome, false);
      this.#end();
    }, ms);
  }

  #onError(error: NodeJS.ErrnoException): void {
    if (this.#phase === 'streaming') {
      // The response is already going to the client: it must look broken, not short.
      this.res.destroy();
      return this.#end();
    }
    if (this.#settled) return this.#end();
    const code = error.code ?? error.message;
    const latencyMs = this.#elapsed();
    let outcome: AttemptOutcome;
    if (this.#phase === 'connecting') outcome = { kind: 'connect', failed: true, latencyMs, detail: code };
    else if (code.startsWith('HPE_')) outcome = { kind: 'bad-response', failed: true, latencyMs, detail: code };
    else outcome = { kind: 'reset', failed: true, latencyMs, detail: code === 'ECONNRESET' ? 'connection reset before response' : code };
    this.#settle(outcome, false);
    this.#end();
  }

  #onResponse(proxyRes: IncomingMessage): void {
    clearTimeout(this.#timer);
    if (this.#phase === 'over') return void proxyRes.destroy();
    const status = proxyRes.statusCode ?? 502;
    const latencyMs = this.#elapsed();
    if (this.spec.holdStatus(status)) return this.#drop(proxyRes, status, latencyMs);
    try {
      this.res.writeHead(status, proxyRes.statusMessage, clientResponseHeaders(proxyRes.rawHeaders, this.spec.responseHeaders()));
    } catch (error) {
      // An upstream header Node refuses to send (invalid characters): a bad response, not a crash.
      this.#settle({ kind: 'bad-response', failed: true, latencyMs, status, detail: (error as Error).message }, false);
      proxyRes.destroy();
      return this.#end();
    }
    this.#phase = 'streaming';
    this.#settle({ kind: status >= 500 ? 'status' : 'ok', status, latencyMs, failed: status >= 500 }, true);
    this.#stream(proxyRes);
  }

  #stream(proxyRes: IncomingMessage): void {
    // A body that stalls longer than the response timeout is as broken as one that stops.
    this.#proxyReq?.setTimeout(this.spec.responseTimeoutMs, () => this.#proxyReq?.destroy());
    proxyRes.on('error', () => {
      this.res.destroy();
      this.#end();
    });
    proxyRes.on('close', () => {
      // Closed before its end: truncated. Destroying the client connection means the client
      // sees a broken response (no final chunk, short Content-Length), never a clean short one.
      if (!proxyRes.complete) this.res.destroy();
    });
    this.res.once('finish', () => this.#end());
    proxyRes.pipe(this.res);
  }

  #drop(proxyRes: IncomingMessage, status: number, latencyMs: number): void {
    this.#settle({ kind: 'status', status, latencyMs, failed: status >= 500, detail: `status ${status}` }, false);
    const length = Number(proxyRes.headers['content-length'] ?? Infinity);
    if (length <= DRAIN_LIMIT) {
      proxyRes.on('error', () => this.#end());
      proxyRes.on('end', () => this.#end());
      proxyRes.resume();
    } else {
      proxyRes.destroy();
      this.#end();
    }
  }

  readonly #onClientClose = (): void => {
    if (this.res.writableFinished) return;
    // The client went away: cancel the upstream request (http-proxy 1.18 does not).
    this.#settle({ kind: 'aborted', failed: false, latencyMs: this.#elapsed(), detail: 'client closed the connection' }, true);
    this.#end();
  };

  readonly #onAbort = (): void => {
    this.#settle({ kind: 'aborted', failed: false, latencyMs: this.#elapsed(), detail: 'attempt aborted by the gateway' }, false);
    this.#end();
  };

  #settle(outcome: AttemptOutcome, committed: boolean): void {
    if (this.#settled) return;
    this.#settled = true;
    this.resolve({ outcome, committed, done: this.#done });
  }

  /** No more work for this attempt: stop timers, release the upstream request if unfinished. */
  #end(): void {
    if (this.#phase === 'over') return;
    const wasStreaming = this.#phase === 'streaming';
    this.#phase = 'over';
    clearTimeout(this.#timer);
    this.res.off('close', this.#onClientClose);
    this.spec.signal?.removeEventListener('abort', this.#onAbort);
    const proxyReq = this.#proxyReq;
    if (proxyReq && !(wasStreaming && this.res.writableFinished)) {
      const response = (proxyReq as ClientRequest & { res?: IncomingMessage }).res;
      if (!response?.complete) proxyReq.destroy();
    }
    this.#finish();
  }

  #elapsed(): number {
    return performance.now() - this.#started;
  }
}
