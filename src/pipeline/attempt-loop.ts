import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ParameterizedContext } from 'koa';
import type { AttemptOutcome, PickContext } from '../policy/types.ts';
import { eligibleNodes } from '../policy/eligible.ts';
import type { Pool } from '../pool/pool.ts';
import type { UpstreamNode } from '../pool/upstream-node.ts';
import { isHttp2, responseGone } from '../proxy/client-response.ts';
import type { AttemptOwner, AttemptResult } from '../proxy/forwarder.ts';
import type { DueQueue } from '../util/due-queue.ts';
import { BatonError, type ErrorCode } from '../util/errors.ts';
import type { ForwardDeps } from './forward.ts';
import { readRequestBody, type Framing, type RequestBody } from './request-body.ts';
import { sendError } from './respond.ts';
import { isIdempotent, mayRetry } from './retry-rule.ts';
import { mayHedge } from '../hedge/hedge-rule.ts';
import { Leg, Race, type RaceHost } from './hedge-race.ts';
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
export class AttemptLoop implements AttemptOwner, RaceHost {
  readonly #ctx: Ctx;
  readonly #deps: ForwardDeps;
  readonly #pool: Pool;
  /** Where hedge delays wait (one per forward step). */
  readonly #dueQueue: DueQueue;
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
  /** Hedges sent for this request. */
  #hedges = 0;

  constructor(
    ctx: Ctx,
    deps: ForwardDeps,
    headers: OutgoingHttpHeaders,
    handshakeHead: Buffer | undefined,
    dueQueue: DueQueue,
  ) {
    this.#ctx = ctx;
    this.#dueQueue = dueQueue;
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
    // A request that could be hedged earns its share of the pool's hedge budget.
    const hedgeable = this.#mayHedge(this.#deps.clock.now());
    if (hedgeable) this.#pool.hedging.earn();
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
      const delay = hedgeable ? this.#pool.hedging.delayMs(now) : undefined;
      // Still learning the delay: no hedge on a timer yet, but a request stuck on a node that
      // goes down meanwhile is still rescued (see #race).
      const learning =
        hedgeable &&
        delay === undefined &&
        this.#pool.hedging.settings !== false &&
        this.#pool.hedging.settings.after === 'auto';
      const result = delay === undefined && !learning ? await this.#try(node, now) : await this.#race(node, now, delay);
      if (result.committed) return result.done;
      last = result.outcome;
      if (this.#tooLarge) return this.#answer('BODY_TOO_LARGE');
      if (!this.#mayRetry(last.kind, this.#deps.clock.now())) return this.#fail(last);
    }
  }

  // --- AttemptOwner: asked by the running attempt ---------------------------------------

  /**
   * Hold back a retryable status when another leg of a hedge race may still answer (the client
   * should get that answer, not this one), or when a retry can happen and some node could take it.
   */
  holdStatus(status: number, othersInFlight = false): boolean {
    if (!this.#pool.settings.retry.statuses.includes(status)) return false;
    if (othersInFlight) return true;
    const now = this.#deps.clock.now();
    return this.#mayRetry('status', now) && this.#anotherNodeCould(now);
  }

  responseHeaders(): readonly string[] {
    // HTTP/2 has no Connection header: a draining gateway sends GOAWAY instead.
    const close = this.#deps.draining() && !isHttp2(this.#ctx.res);
    return close
      ? ['x-request-id', this.#ctx.state.requestId, 'connection', 'close']
      : ['x-request-id', this.#ctx.state.requestId];
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

  /**
   * A peek, not a pick: a policy's pick may move its state on (round-robin's counter), so
   * asking it whether it would pick is not free. In an active-passive pool only the active
   * node serves; in others, any node the policies choose from (usable, not yet tried).
   */
  #anotherNodeCould(now: number): boolean {
    const pool = this.#pool;
    if (pool.activePassive) {
      const active = pool.active === null ? undefined : pool.node(pool.active);
      return active?.usable === true && !this.#tried.has(active.id);
    }
    return eligibleNodes(pool, this.#pickContext(now)).length > 0;
  }

  #pick(now: number): UpstreamNode | undefined {
    // A node suspected of hanging (see health/suspicion.ts) is passed over while its
    // heartbeat decides, as long as another node can take the request.
    if (now < this.#pool.suspectsUntil) {
      const avoid = new Set(this.#tried);
      for (const node of this.#pool.nodes) if (node.suspected(now)) avoid.add(node.id);
      const picked = avoid.size > this.#tried.size ? this.#pickExcluding(now, avoid, true) : undefined;
      if (picked) return picked;
    }
    return this.#pickExcluding(now, this.#tried, false);
  }

  #pickExcluding(now: number, excluded: Set<string>, owned: boolean): UpstreamNode | undefined {
    // A pick that is not usable right now (a cached candidate list can lag behind a half-open
    // breaker's trial or a node on probation) is skipped and the policy asked again; a node
    // already tried is never sent the request twice, whatever the policy says.
    let exclude = excluded;
    for (let round = 0; round <= this.#pool.nodes.length; round++) {
      const picked = this.#pool.policy.pick(this.#pool, this.#pickContext(now, exclude)) as UpstreamNode | undefined;
      if (!picked || exclude.has(picked.id) || this.#pool.node(picked.id) !== picked) return undefined;
      if (picked.usable) return picked;
      if (!owned) {
        exclude = new Set(exclude);
        owned = true;
      }
      exclude.add(picked.id);
    }
    return undefined;
  }

  #mayHedge(now: number): boolean {
    const pool = this.#pool;
    const hedge = pool.settings.hedge;
    if (!hedge) return false;
    return mayHedge({
      idempotent: this.#idempotent,
      replayable: this.#body.kind !== 'stream',
      upgrade: this.#handshakeHead !== undefined,
      activePassive: pool.activePassive,
      attempt: this.#attempt,
      attempts: pool.settings.retry.attempts,
      hedges: this.#hedges,
      maxHedges: hedge.max,
      now,
      deadline: this.#deadline,
    });
  }

  /**
   * The first try on `first`, hedged: if it has no response headers after `delayMs`, the same
   * request goes to another node too (within hedge.max and the pool's budget), and the first
   * answer wins. Resolves like #try: with the winner's result, or, when every leg failed, with
   * the last failure (the loop's retry rule then decides, counting every leg as a try). A
   * leg that fails while another is still in flight does not start a retry: the leg in
   * flight already is one. Without a delay (still learning it), no hedge on a timer: only the
   * rescue of a request stuck on a node that becomes suspected or goes down.
   */
  #race(first: UpstreamNode, now: number, delayMs: number | undefined): Promise<AttemptResult> {
    // Methods on the Race's state, not closures: this runs for every GET.
    const race = new Race(this, delayMs);
    this.#launch(race, first, false, now);
    if (!race.finished) {
      if (delayMs === undefined) void this.#rescueWhenSuspected(race);
      else this.#armHedge(race);
    }
    return race.result;
  }

  #launch(race: Race, node: UpstreamNode, hedge: boolean, at: number): void {
    const leg = new Leg(race, node, hedge, at);
    race.pending += 1;
    void this.#try(node, at, leg).then((result) => {
      race.pending -= 1;
      leg.over = true;
      if (race.finished) return;
      if (result.committed || race.pending === 0) race.finish(result);
    });
  }

  #hedge(race: Race, node: UpstreamNode, at: number): void {
    this.#hedges += 1;
    this.#deps.onHedge?.(this.#pool, node, 'sent');
    this.#launch(race, node, true, at);
    if (this.#hedges < (this.#pool.settings.hedge || { max: 0 }).max) this.#armHedge(race);
  }

  /** One timer for every request's hedge delay (see DueQueue), not one each. */
  #armHedge(race: Race): void {
    if (race.delayMs === undefined) return;
    race.timer = this.#dueQueue.add(race.delayMs, () => this.#hedgeDue(race));
  }

  #hedgeDue(race: Race): void {
    race.timer = undefined;
    if (race.finished || this.#ctx.res.destroyed) return;
    const at = this.#deps.clock.now();
    if (!this.#mayHedge(at)) return;
    const node = this.#pick(at);
    if (!node) return;
    if (this.#pool.hedging.spend()) return this.#hedge(race, node, at);
    void this.#rescueWhenSuspected(race);
  }

  /**
   * The budget is spent (or the delay still learned). Should the node holding this request be
   * suspected of hanging, or go down, while we wait, hedge anyway: the copy is then a retry of
   * a request to a node known to be hung, and there are only as many as that node has in flight.
   */
  async #rescueWhenSuspected(race: Race): Promise<void> {
    const clock = this.#deps.clock;
    const stop = new AbortController();
    race.onOver = () => stop.abort();
    while (!race.finished && !this.#ctx.res.destroyed) {
      const at = clock.now();
      const stuck = race.legs.find((leg) => !leg.over && (leg.node.suspected(at) || leg.node.health === 'down'));
      if (stuck) {
        const node = this.#mayHedge(at) ? this.#pick(at) : undefined;
        if (!node) return;
        // Past the budget: counted apart, on the node the request was stuck on.
        this.#deps.onHedge?.(this.#pool, stuck.node, 'rescued');
        this.#hedge(race, node, at);
        return;
      }
      await this.#pool.waitForChange(Math.max(0, this.#deadline - at), stop.signal);
    }
  }

  // --- RaceHost ------------------------------------------------------------------------------

  decided(winner: Leg, losers: readonly Leg[]): void {
    const pool = this.#pool;
    this.#ctx.state.winner = winner.node.id;
    if (winner.hedge) this.#deps.onHedge?.(pool, winner.node, 'won');
    const now = this.#deps.clock.now();
    for (const loser of losers) {
      this.#deps.onHedge?.(pool, loser.node, 'cancelled');
      // Only a leg sent before the winner lost to it: a hedge that was merely behind the
      // first try's answer says nothing about its node.
      if (loser.startedAt >= winner.startedAt) continue;
      const was = loser.node.suspected(now);
      loser.node.lostHedge();
      if (was || !loser.node.suspected(now)) continue;
      pool.suspectsUntil = Math.max(pool.suspectsUntil, loser.node.suspectedUntil);
      // Wakes requests whose hedge the budget refused: those on the suspect may now be rescued.
      pool.changed();
    }
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

  async #try(node: UpstreamNode, now: number, leg?: Leg): Promise<AttemptResult> {
    const pool = this.#pool;
    this.#attempt += 1;
    this.#tried.add(node.id);
    node.begin();
    let result: AttemptResult;
    try {
      result = (await node.circuit.run(() => this.#send(node, now, leg))) ?? breakerRejected;
    } catch (error) {
      node.end();
      throw error;
    }
    // Its outcome is known before anything reacts to it (an ejection wakes the race's rescue,
    // which must not take a failed try for one still waiting: that is the retry rule's call).
    if (leg) leg.over = true;
    void result.done.then(() => node.end());
    this.#ctx.state.attempts.push(
      leg?.hedge ? { node: node.id, outcome: result.outcome, hedge: true } : { node: node.id, outcome: result.outcome },
    );
    const kind = result.outcome.kind;
    if (kind === 'ok' || kind === 'status') {
      // Response headers arrived: what the pool's normal latency (the learned hedge delay) is made of.
      pool.hedging.answered(result.outcome.latencyMs, this.#deps.clock.now());
      node.answered();
    }
    node.recordOutcome(result.outcome);
    pool.policy.observe?.(node, result.outcome, this.#deps.clock.now());
    this.#deps.onAttempt?.(pool, node, result.outcome, this.#attempt > 1 && !leg?.hedge);
    return result;
  }

  #send(node: UpstreamNode, now: number, leg: Leg | undefined): Promise<AttemptResult> {
    const pool = this.#pool;
    // Cancelled while the breaker let it through: nothing is sent.
    if (leg?.cancelled) return Promise.resolve(cancelledBeforeSending);
    const { timeouts } = pool.settings;
    const body = this.#body;
    const epoch = pool.epoch;
    // The pool's epoch when this try goes out (a failover between tries raises it).
    if (epoch !== null) this.#headers['x-baton-epoch'] = String(epoch);
    const ctx = this.#ctx;
    const spec = {
      target: node.target,
      agent: pool.agent,
      method: ctx.req.method ?? 'GET',
      path: ctx.state.upstreamTarget!,
      headers: this.#headers,
      body: body.kind === 'buffered' ? body.data : body.kind === 'stream' ? (body.stream ?? ctx.req) : undefined,
      connectTimeoutMs: timeouts.connectMs,
      responseTimeoutMs: Math.max(1, Math.min(timeouts.responseMs, this.#deadline - now)),
      sendTimeoutMs: ctx.state.runtime.settings.server.sendTimeoutMs,
      owner: leg ?? this,
      tunnel: this.#handshakeHead ? { pool: pool.name, node: node.id, head: this.#handshakeHead } : undefined,
    };
    if (!leg) return this.#deps.forwarder.forward(ctx.res, spec);
    leg.handle = this.#deps.forwarder.begin(ctx.res, spec);
    return leg.handle.result;
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
        return this.#answer(
          this.#deps.clock.now() >= this.#deadline ? 'GATEWAY_DEADLINE' : 'UPSTREAM_TIMEOUT',
          undefined,
          last.detail,
        );
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
    sendError(this.#ctx.res, code, {
      requestId: this.#ctx.state.requestId,
      headers,
      detail,
      close: this.#deps.draining(),
    });
  }
}

/** A hedge race was decided before this leg went out: nothing was sent. */
const cancelledBeforeSending: AttemptResult = {
  outcome: { kind: 'aborted', failed: false, latencyMs: 0, detail: 'another node answered first' },
  committed: false,
  done: Promise.resolve(),
};

/** The breaker refused the attempt: nothing was sent. */
const breakerRejected: AttemptResult = {
  outcome: { kind: 'breaker-open', failed: false, latencyMs: 0, detail: 'circuit breaker open' },
  committed: false,
  done: Promise.resolve(),
};
