import type { Clock } from '../util/clock.ts';
import type { AttemptOutcome, Health } from '../vocabulary.ts';
import {
  initialHealth,
  nextHealth,
  type HealthInput,
  type HealthRules,
  type HealthState,
  type HealthTransition,
} from './thresholds.ts';

/** Connect errors that prove nothing is listening: eject at once rather than after N failures. */
const unreachable = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** How a finished attempt counts for passive health; undefined = it says nothing about the node. */
export function passiveInput(outcome: AttemptOutcome, unhealthyStatuses: readonly number[]): HealthInput | undefined {
  switch (outcome.kind) {
    case 'ok':
      return { type: 'passive', ok: true, detail: String(outcome.status ?? '') };
    case 'status':
      return {
        type: 'passive',
        ok: !unhealthyStatuses.includes(outcome.status ?? 0),
        detail: `status ${outcome.status}`,
      };
    case 'connect':
      return {
        type: 'passive',
        ok: false,
        certain: unreachable.has(outcome.detail ?? ''),
        detail: outcome.detail ?? 'connect failed',
      };
    case 'timeout':
    case 'reset':
    case 'bad-response':
      return { type: 'passive', ok: false, detail: outcome.detail ?? outcome.kind };
    case 'breaker-open':
    case 'aborted':
      return undefined;
  }
}

/**
 * The local verdict of one node: holds the pure state machine's state, feeds it heartbeat
 * results and passive observations, and wakes it when an ejection ends.
 */
export interface LocalTransition extends HealthTransition {
  /** Going down: time since the node last passed a heartbeat or served a request. */
  readonly detectedAfterMs?: number;
}

export class NodeHealth {
  #state: HealthState;
  #lastPass: number;
  #cancelTick: (() => void) | undefined;
  #rules: HealthRules;
  readonly #clock: Clock;
  readonly #onTransition: (transition: LocalTransition) => void;

  constructor(rules: HealthRules, clock: Clock, onTransition: (transition: LocalTransition) => void) {
    this.#rules = rules;
    this.#clock = clock;
    this.#onTransition = onTransition;
    this.#state = initialHealth(clock.now());
    this.#lastPass = clock.now();
  }

  get verdict(): Health {
    return this.#state.verdict;
  }

  /** When the verdict last changed. */
  get since(): number {
    return this.#state.since;
  }

  /** While the node is ejected by passive detection: when the ejection ends (this clock); 0 otherwise. */
  get ejectedUntil(): number {
    return this.#state.ejectedUntil;
  }

  /** Pools without heartbeats, after an ejection: only one request at a time until one succeeds. */
  get probation(): boolean {
    return this.#state.probation;
  }

  /** A reload may change thresholds; the current verdict and counters stay. */
  updateRules(rules: HealthRules): void {
    this.#rules = rules;
  }

  probe(ok: boolean, detail: string): void {
    if (ok) this.#lastPass = this.#clock.now();
    this.#apply({ type: 'probe', ok, detail });
  }

  /** A finished attempt, for passive health (`probe` takes heartbeats). */
  recordOutcome(outcome: AttemptOutcome): void {
    // The common case, a success that changes nothing, costs no allocation on the request path.
    const state = this.#state;
    if (outcome.kind === 'ok') this.#lastPass = this.#clock.now();
    if (
      outcome.kind === 'ok' &&
      state.passiveFailures === 0 &&
      !state.probation &&
      (this.#rules.heartbeats || state.verdict === 'up')
    )
      return;
    const input = passiveInput(outcome, this.#rules.passive ? this.#rules.passive.statuses : []);
    if (input) this.#apply(input);
  }

  /** A hang confirmed (a suspected node failed its heartbeat): a passive ejection at once. */
  ejectHung(detail: string): void {
    this.#apply({ type: 'passive', ok: false, certain: true, detail });
  }

  dispose(): void {
    this.#cancelTick?.();
    this.#cancelTick = undefined;
  }

  #apply(input: HealthInput): void {
    const now = this.#clock.now();
    const step = nextHealth(this.#state, input, this.#rules, now);
    const wasEjectedUntil = this.#state.ejectedUntil;
    this.#state = step.state;
    if (step.state.ejectedUntil !== wasEjectedUntil) this.#scheduleTick();
    if (!step.transition) return;
    this.#onTransition(
      step.transition.to === 'down' ? { ...step.transition, detectedAfterMs: now - this.#lastPass } : step.transition,
    );
  }

  #scheduleTick(): void {
    this.#cancelTick?.();
    this.#cancelTick = undefined;
    const until = this.#state.ejectedUntil;
    if (until === 0) return;
    this.#cancelTick = this.#clock.schedule(until - this.#clock.now(), () => {
      this.#cancelTick = undefined;
      this.#apply({ type: 'tick' });
    });
  }
}
