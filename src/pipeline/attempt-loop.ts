import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ParameterizedContext } from 'koa';
import type { AttemptOutcome, PickContext } from '../policy/types.ts';
import type { Pool } from '../pool/pool.ts';
import type { UpstreamNode } from '../pool/upstream-node.ts';
import { isHttp2, responseGone } from '../proxy/client-response.ts';
import type { AttemptOwner, AttemptResult } from '../proxy/forwarder.ts';
import { BatonError, type ErrorCode } from '../util/errors.ts';
import type { ForwardDeps } from './forward.ts';
import { readRequestBody, type Framing, type RequestBody } from './request-body.ts';
import { sendError } from './respond.ts';
import { isIdempotent, mayRetry } from './retry-rule.ts';
import type { GatewayState } from './state.ts';

/** Seconds a client is told to wait after a 503 for lack of nodes. */
const RETRY_AFTER_SECONDS = '1';
const retryAfter = { 'retry-after': RETRY_AFTER_SECONDS };

type Ctx = ParameterizedContext<GatewayState>;

const noBody: RequestBody = { kind: 'none' };

/**
 * The attempt loop: pick a node, send through its breaker, observe, and retry on another node
 * while the retry rule allows. A response that reached the client ends the loop, whatever it is.
 */
export class AttemptLoop implements AttemptOwner {
  readonly #ctx: Ctx;
  readonly #deps: ForwardDeps;
  readonly #pool: Pool;
  readonly #headers: OutgoingHttpHeaders;
  /** Set for a websocket handshake: the bytes the client sent after it. */
  readonly #handshakeHead: Buffer | undefined;
  readonly #tried = new Set<string>();
  readonly #started: number;
  readonly #deadline: number;
  readonly #idempotent: boolean;
  #body: RequestBody = noBody;
  #tooLarge = false;
  #gone: AbortSignal | undefined;
  #attempt = 0;

  constructor(ctx: Ctx, deps: ForwardDeps, headers: OutgoingHttpHeaders, handshakeHead: Buffer | undefined) {
    this.#ctx = ctx;
    this.#deps = deps;
    this.#pool = ctx.state.pool!;
    this.#headers = headers;
    this.#handshakeHead = handshakeHead;
    this.#started = deps.clock.now();
    this.#deadline = this.#started + this.#pool.settings.retry.deadlineMs;
    this.#idempotent = isIdempotent(ctx.req.method ?? 'GET', ctx.req.headers);
  }

  async readBody(framing: Framing): Promise<RequestBody> {
    const retry = this.#pool.settings.retry;
    try {
      return await readRequestBody(this.#ctx.req, framing, {
        bufferLimit: retry.attempts > 1 ? retry.bufferBody : 0,
        maxBody: this.#ctx.state.route!.maxBody,
        onTooLarge: () => (this.#tooLarge = true),
      });
    } catch (error) {
      if (error instanceof BatonError) throw error;
      throw new BatonError('BAD_REQUEST', 'the request body was not received completely');
    }
  }

  async run(body: RequestBody): Promise<void> {
    this.#body = body;
    const { retry } = this.#pool.settings;
    let last: AttemptOutcome | undefined;
    for (;;) {
      const now = this.#deps.clock.now();
      const node = this.#pick(now);
      if (!node) {
        const waitUntil = Math.min(this.#deadline, this.#started + retry.waitForNodeMs);
        if (now < waitUntil && (last === undefined || this.#mayRetry(last.kind, now))) {
          await this.#pool.waitForChange(waitUntil - now, this.#clientGone());
          if (responseGone(this.#ctx.res)) return;
          continue;
        }
        return this.#fail(last);
      }
      const result = await this.#try(node, now);
      if (result.committed) return result.done;
      last = result.outcome;
      if (this.#tooLarge) return this.#answer('BODY_TOO_LARGE');
      if (!this.#mayRetry(last.kind, this.#deps.clock.now())) return this.#fail(last);
    }
  }

  // --- AttemptOwner: asked by the running attempt ---------------------------------------

  /** Hold back a retryable status only when a retry can happen and some node would take it. */
  holdStatus(status: number): boolean {
    if (!this.#pool.settings.retry.statuses.includes(status)) return false;
    const now = this.#deps.clock.now();
    return this.#mayRetry('status', now) && this.#pool.policy.pick(this.#pool, this.#pickContext(now)) !== undefined;
  }

  responseHeaders(): readonly string[] {
    // HTTP/2 has no Connection header: a draining gateway sends GOAWAY instead.
    const close = this.#deps.draining() && !isHttp2(this.#ctx.res);
    return close ? ['x-request-id', this.#ctx.state.requestId, 'connection', 'close'] : ['x-request-id', this.#ctx.state.requestId];
  }

  // ---------------------------------------------------------------------------------------

  #pickContext(now: number, tried: ReadonlySet<string> = this.#tried): PickContext {
    return {
      method: this.#ctx.req.method ?? 'GET',
      path: this.#ctx.state.path,
      headers: this.#ctx.req.headers as IncomingHttpHeaders,
      clientIp: this.#ctx.state.clientIp,
      attempt: this.#attempt + 1,
      tried,
      now,
    };
  }

  #pick(now: number): UpstreamNode | undefined {
    // A pick that is not usable right now (a cached candidate list can lag behind a half-open
    // breaker's trial or a node on probation) is skipped and the policy asked again; a node
    // already tried is never sent the request twice, whatever the policy says.
    let exclude: Set<string> = this.#tried;
    for (let round = 0; round <= this.#pool.nodes.length; round++) {
      const picked = this.#pool.policy.pick(this.#pool, this.#pickContext(now, exclude)) as UpstreamNode | undefined;
      if (!picked || exclude.has(picked.id) || this.#pool.node(picked.id) !== picked) return undefined;
      if (picked.usable) return picked;
      if (exclude === this.#tried) exclude = new Set(this.#tried);
      exclude.add(picked.id);
    }
    return undefined;
  }

  #mayRetry(outcome: AttemptOutcome['kind'], now: number): boolean {
    const retry = this.#pool.settings.retry;
    return mayRetry({
      outcome,
      idempotent: this.#idempotent,
      nonIdempotent: retry.nonIdempotent,
      replayable: this.#body.kind !== 'stream',
      attempt: this.#attempt,
      attempts: retry.attempts,
      now,
      deadline: this.#deadline,
    });
  }

  async #try(node: UpstreamNode, now: number): Promise<AttemptResult> {
    const pool = this.#pool;
    this.#attempt += 1;
    this.#tried.add(node.id);
    node.inflight += 1;
    let result: AttemptResult;
    try {
      result = (await node.breakerState.run(() => this.#send(node, now))) ?? breakerRejected;
    } catch (error) {
      node.attemptEnded();
      throw error;
    }
    void result.done.then(() => node.attemptEnded());
    this.#ctx.state.attempts.push({ node: node.id, outcome: result.outcome });
    node.observe(result.outcome);
    pool.policy.observe?.(node, result.outcome, this.#deps.clock.now());
    this.#deps.onAttempt?.(pool, node, result.outcome, this.#attempt > 1);
    return result;
  }

  #send(node: UpstreamNode, now: number): Promise<AttemptResult> {
    const pool = this.#pool;
    const { timeouts } = pool.settings;
    const body = this.#body;
    const epoch = pool.epoch;
    // The pool's epoch when this try goes out (a failover between tries raises it).
    if (epoch !== null) this.#headers['x-baton-epoch'] = String(epoch);
    const ctx = this.#ctx;
    return this.#deps.forwarder.forward(ctx.res, {
      target: node.target,
      agent: pool.agent,
      method: ctx.req.method ?? 'GET',
      path: ctx.state.upstreamTarget!,
      headers: this.#headers,
      body: body.kind === 'buffered' ? body.data : body.kind === 'stream' ? (body.stream ?? ctx.req) : undefined,
      connectTimeoutMs: timeouts.connectMs,
      responseTimeoutMs: Math.max(1, Math.min(timeouts.responseMs, this.#deadline - now)),
      sendTimeoutMs: ctx.state.runtime.settings.server.sendTimeoutMs,
      owner: this,
      tunnel: this.#handshakeHead ? { pool: pool.name, node: node.id, head: this.#handshakeHead } : undefined,
    });
  }

  /** Aborts waits for a node when the client goes away; made once, on the first wait. */
  #clientGone(): AbortSignal {
    if (!this.#gone) {
      const controller = new AbortController();
      this.#ctx.res.once('close', () => controller.abort());
      this.#gone = controller.signal;
    }
    return this.#gone;
  }

  #fail(last: AttemptOutcome | undefined): void {
    if (!last || last.kind === 'breaker-open') return this.#answer('NO_NODE_AVAILABLE', retryAfter);
    switch (last.kind) {
      case 'aborted':
        return;
      case 'connect':
        return this.#answer('UPSTREAM_CONNECT', undefined, last.detail);
      case 'reset':
        return this.#answer('UPSTREAM_RESET', undefined, last.detail);
      case 'timeout':
        return this.#answer(this.#deps.clock.now() >= this.#deadline ? 'GATEWAY_DEADLINE' : 'UPSTREAM_TIMEOUT', undefined, last.detail);
      case 'status':
        if (last.status === 503) return this.#answer('NO_NODE_AVAILABLE', retryAfter, last.detail);
        return this.#answer(last.status === 504 ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_BAD_RESPONSE', undefined, last.detail);
      case 'bad-response':
      case 'ok':
        return this.#answer('UPSTREAM_BAD_RESPONSE', undefined, last.detail);
    }
  }

  #answer(code: ErrorCode, headers?: Record<string, string>, detail?: string): void {
    this.#ctx.state.error = code;
    sendError(this.#ctx.res, code, { requestId: this.#ctx.state.requestId, headers, detail, close: this.#deps.draining() });
  }
}

/** The breaker refused the attempt: nothing was sent. */
const breakerRejected: AttemptResult = {
  outcome: { kind: 'breaker-open', failed: false, latencyMs: 0, detail: 'circuit breaker open' },
  committed: false,
  done: Promise.resolve(),
};
