import type { IncomingHttpHeaders } from 'node:http';
import type { AttemptOutcome, NodeView, PickContext } from '../policy/types.ts';
import type { Pool } from '../pool/pool.ts';
import type { UpstreamNode } from '../pool/upstream-node.ts';
import type { AttemptResult, Forwarder } from '../proxy/forwarder.ts';
import { upstreamHeaders } from '../proxy/headers.ts';
import type { Clock } from '../util/clock.ts';
import { BatonError, type ErrorCode } from '../util/errors.ts';
import { readRequestBody, type RequestBody } from './request-body.ts';
import { sendError } from './respond.ts';
import { isIdempotent, mayRetry } from './retry-rule.ts';
import type { GatewayState, Step } from './state.ts';
import type { ParameterizedContext } from 'koa';

export interface ForwardDeps {
  readonly forwarder: Forwarder;
  readonly clock: Clock;
  readonly draining: () => boolean;
  /** After every attempt (metrics). */
  readonly onAttempt?: (pool: Pool, node: UpstreamNode, outcome: AttemptOutcome, retry: boolean) => void;
}

/** Seconds a client is told to wait after a 503 for lack of nodes. */
const RETRY_AFTER_SECONDS = '1';

/**
 * The attempt loop: pick a node, send through its breaker, observe, and retry on another node
 * while the retry rule allows. A response that reached the client ends the loop, whatever it is.
 */
export function forward(deps: ForwardDeps): Step {
  return async (ctx) => {
    ctx.respond = false;
    const state = ctx.state;
    const req = ctx.req;
    const clientHeaders = req.headers;
    const outgoing = upstreamHeaders(req, {
      peer: req.socket.remoteAddress ?? '',
      trusted: state.runtime.trusted.trusts(req.socket.remoteAddress),
      proto: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      requestId: state.requestId,
      upgrade: false,
    });
    if (!outgoing) throw new BatonError('BAD_REQUEST', 'the Connection header lists a framing header');
    const loop = new AttemptLoop(ctx, deps, clientHeaders);
    const body = await loop.readBody();
    req.headers = outgoing;
    req.url = state.upstreamTarget;
    await loop.run(body);
  };
}

type Ctx = ParameterizedContext<GatewayState>;

class AttemptLoop {
  readonly #ctx: Ctx;
  readonly #deps: ForwardDeps;
  readonly #pool: Pool;
  readonly #clientHeaders: IncomingHttpHeaders;
  readonly #tried = new Set<string>();
  readonly #started: number;
  readonly #deadline: number;
  readonly #idempotent: boolean;
  #tooLarge = false;
  readonly #bodyTooLarge = new AbortController();
  #attempt = 0;

  constructor(ctx: Ctx, deps: ForwardDeps, clientHeaders: IncomingHttpHeaders) {
    this.#ctx = ctx;
    this.#deps = deps;
    this.#pool = ctx.state.pool!;
    this.#clientHeaders = clientHeaders;
    this.#started = deps.clock.now();
    this.#deadline = this.#started + this.#pool.settings.retry.deadlineMs;
    this.#idempotent = isIdempotent(ctx.req.method ?? 'GET', clientHeaders);
  }

  async readBody(): Promise<RequestBody> {
    const retry = this.#pool.settings.retry;
    try {
      return await readRequestBody(this.#ctx.req, {
        bufferLimit: retry.attempts > 1 ? retry.bufferBody : 0,
        maxBody: this.#ctx.state.route!.maxBody,
        onTooLarge: () => {
          this.#tooLarge = true;
          this.#bodyTooLarge.abort();
        },
      });
    } catch (error) {
      if (error instanceof BatonError) throw error;
      throw new BatonError('BAD_REQUEST', 'the request body was not received completely');
    }
  }

  async run(body: RequestBody): Promise<void> {
    const { retry } = this.#pool.settings;
    let last: AttemptOutcome | undefined;
    for (;;) {
      const now = this.#deps.clock.now();
      const node = this.#pick(now);
      if (!node) {
        const waitUntil = Math.min(this.#deadline, this.#started + retry.waitForNodeMs);
        if (now < waitUntil && (last === undefined || this.#mayRetry(last, body, now))) {
          await this.#pool.waitForChange(waitUntil - now, this.#clientGone());
          if (this.#ctx.res.destroyed) return;
          continue;
        }
        return this.#fail(last);
      }
      const result = await this.#try(node, body, now);
      if (result.committed) return result.done;
      last = result.outcome;
      if (this.#tooLarge) return this.#answer('BODY_TOO_LARGE');
      if (!this.#mayRetry(last, body, this.#deps.clock.now())) return this.#fail(last);
    }
  }

  #pick(now: number): UpstreamNode | undefined {
    const context: PickContext = {
      method: this.#ctx.req.method ?? 'GET',
      path: this.#ctx.state.path,
      headers: this.#clientHeaders,
      clientIp: this.#ctx.state.clientIp,
      attempt: this.#attempt + 1,
      tried: this.#tried,
      now,
    };
    const picked = this.#pool.policy.pick(this.#pool, context) as UpstreamNode | undefined;
    // A policy bug must never send a request twice to one node or to an unusable one.
    if (!picked || this.#tried.has(picked.id) || !picked.usable || this.#pool.node(picked.id) !== picked) return undefined;
    return picked;
  }

  #mayRetry(outcome: AttemptOutcome, body: RequestBody, now: number): boolean {
    const retry = this.#pool.settings.retry;
    return mayRetry({
      outcome: outcome.kind,
      idempotent: this.#idempotent,
      nonIdempotent: retry.nonIdempotent,
      replayable: body.kind !== 'stream',
      attempt: this.#attempt,
      attempts: retry.attempts,
      now,
      deadline: this.#deadline,
    });
  }

  async #try(node: UpstreamNode, body: RequestBody, now: number): Promise<AttemptResult> {
    const pool = this.#pool;
    const { timeouts, retry } = pool.settings;
    this.#attempt += 1;
    this.#tried.add(node.id);
    node.inflight += 1;
    let result: AttemptResult | undefined;
    const outcome = await node.breakerState.run(async () => {
      result = await this.#deps.forwarder.forward(this.#ctx.req, this.#ctx.res, {
        target: node.target,
        agent: pool.agent,
        body: body.kind === 'buffered' ? body.data : undefined,
        stream: body.kind === 'stream' ? body.stream : undefined,
        headers: pool.epoch === null ? undefined : { 'x-baton-epoch': String(pool.epoch) },
        connectTimeoutMs: timeouts.connectMs,
        responseTimeoutMs: Math.max(1, Math.min(timeouts.responseMs, this.#deadline - now)),
        holdStatus: (status) => retry.statuses.includes(status) && this.#worthRetrying(status, body),
        responseHeaders: () => this.#responseHeaders(),
        signal: this.#bodyTooLarge.signal,
      });
      return result.outcome;
    });
    const settled = result ?? { outcome, committed: false, done: Promise.resolve() };
    void settled.done.then(() => {
      node.inflight -= 1;
      if (node.localHealth.probation) pool.changed();
    });
    this.#ctx.state.attempts.push({ node: node.id, outcome });
    node.observe(outcome);
    pool.policy.observe?.(node, outcome);
    this.#deps.onAttempt?.(pool, node, outcome, this.#attempt > 1);
    return settled;
  }

  /** Hold back a retryable status only when a retry can happen and some node would take it. */
  #worthRetrying(status: number, body: RequestBody): boolean {
    const now = this.#deps.clock.now();
    if (!this.#mayRetry({ kind: 'status', status, failed: true, latencyMs: 0 }, body, now)) return false;
    return this.#pool.policy.pick(this.#pool, {
      method: this.#ctx.req.method ?? 'GET',
      path: this.#ctx.state.path,
      headers: this.#clientHeaders,
      clientIp: this.#ctx.state.clientIp,
      attempt: this.#attempt + 1,
      tried: this.#tried,
      now,
    }) !== undefined;
  }

  #responseHeaders(): string[] {
    const headers = ['x-request-id', this.#ctx.state.requestId];
    if (this.#deps.draining()) headers.push('connection', 'close');
    return headers;
  }

  #clientGone(): AbortSignal {
    const controller = new AbortController();
    this.#ctx.res.once('close', () => controller.abort());
    return controller.signal;
  }

  #fail(last: AttemptOutcome | undefined): void {
    if (!last || last.kind === 'breaker-open') return this.#answer('NO_NODE_AVAILABLE', { 'retry-after': RETRY_AFTER_SECONDS });
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
        if (last.status === 503) return this.#answer('NO_NODE_AVAILABLE', { 'retry-after': RETRY_AFTER_SECONDS }, last.detail);
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
