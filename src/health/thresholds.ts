import type { Health, PassiveSettings } from '../vocabulary.ts';

/**
 * The local health verdict of one node as a pure state machine: heartbeat results, passive
 * observations from real traffic, and the passing of time go in; the next state and, when
 * the verdict changes, a transition come out. Envoy's split between a check *result* and a
 * health *transition*, with HAProxy's rise/fall and Envoy's growing ejection times.
 */
export interface HealthState {
  readonly verdict: Health;
  /** When the verdict last changed. */
  readonly since: number;
  readonly probePasses: number;
  readonly probeFailures: number;
  readonly passiveFailures: number;
  /** While now < ejectedUntil the node is down no matter what probes say. 0 = not ejected. */
  readonly ejectedUntil: number;
  /** Ejections in a row; each lasts ejectTime × this (capped). Forgotten after a long healthy spell. */
  readonly ejections: number;
  readonly lastEjectionEnd: number;
  /** Pools without heartbeats: after an ejection, one trial request decides. */
  readonly probation: boolean;
}

export interface HealthRules {
  /** Heartbeats on: they decide recovery. Off: recovery is a trial request after the ejection. */
  readonly heartbeats: boolean;
  readonly rise: number;
  readonly fall: number;
  readonly passive: PassiveSettings | false;
}

export type HealthInput =
  | { readonly type: 'probe'; readonly ok: boolean; readonly detail: string }
  /** `certain`: a failure that proves the node is unreachable (connection refused): eject at once. */
  | { readonly type: 'passive'; readonly ok: boolean; readonly certain?: boolean; readonly detail: string }
  | { readonly type: 'tick' };

export interface HealthTransition {
  readonly from: Health;
  readonly to: Health;
  readonly reason: string;
  /** Down because passive detection ejected it (for a while), not because heartbeats failed. */
  readonly ejected: boolean;
}

export interface HealthStep {
  readonly state: HealthState;
  readonly transition?: HealthTransition;
}

export function initialHealth(now: number): HealthState {
  return {
    verdict: 'unknown',
    since: now,
    probePasses: 0,
    probeFailures: 0,
    passiveFailures: 0,
    ejectedUntil: 0,
    ejections: 0,
    lastEjectionEnd: 0,
    probation: false,
  };
}

function become(
  state: HealthState,
  to: Health,
  now: number,
  reason: string,
  patch: Partial<HealthState> = {},
): HealthStep {
  const next = { ...state, ...patch, verdict: to, since: to === state.verdict ? state.since : now };
  if (to === state.verdict) return { state: next };
  const ejected = to === 'down' && next.ejectedUntil > now;
  return { state: next, transition: { from: state.verdict, to, reason, ejected } };
}

export function nextHealth(state: HealthState, input: HealthInput, rules: HealthRules, now: number): HealthStep {
  switch (input.type) {
    case 'probe':
      return input.ok ? probePassed(state, rules, now, input.detail) : probeFailed(state, rules, now, input.detail);
    case 'passive':
      return input.ok ? passivePassed(state, rules, now) : passiveFailed(state, rules, now, input);
    case 'tick':
      return ejectionTimeCheck(state, rules, now);
  }
}

function probePassed(state: HealthState, rules: HealthRules, now: number, detail: string): HealthStep {
  const s = { ...state, probePasses: state.probePasses + 1, probeFailures: 0 };
  if (s.ejectedUntil > now) {
    // Passing heartbeats end a passive ejection early (Envoy's successful_active_health_check_
    // uneject_host): a restarted node is back at once. It takes `rise` passes in a row per
    // ejection in a row, so a node that keeps failing real traffic stays damped.
    if (!rules.heartbeats || s.probePasses < rules.rise * Math.max(1, s.ejections)) return { state: s };
    return become(s, 'up', now, `${s.probePasses} heartbeats passed during the ejection (${detail})`, {
      ejectedUntil: 0,
      lastEjectionEnd: now,
      passiveFailures: 0,
    });
  }
  // Never ejected while unknown: an ejection sets the verdict down, and its end clears ejectedUntil.
  if (s.verdict === 'unknown') return become(s, 'up', now, `heartbeat passed (${detail})`);
  if (s.verdict === 'down' && s.probePasses >= rules.rise) {
    // An ejection whose time has passed (before the tick that would end it) ended at that time.
    return become(s, 'up', now, `${s.probePasses} heartbeats passed (${detail})`, {
      ejectedUntil: 0,
      lastEjectionEnd: Math.max(s.lastEjectionEnd, s.ejectedUntil),
      passiveFailures: 0,
    });
  }
  return { state: s };
}

function probeFailed(state: HealthState, rules: HealthRules, now: number, detail: string): HealthStep {
  const s = { ...state, probeFailures: state.probeFailures + 1, probePasses: 0 };
  // Already down: `become` keeps the state as it is, without a transition.
  if (s.probeFailures >= rules.fall) {
    return become(s, 'down', now, `${s.probeFailures} heartbeats failed (${detail})`);
  }
  return { state: s };
}

function passivePassed(state: HealthState, rules: HealthRules, now: number): HealthStep {
  const s = state.passiveFailures === 0 ? state : { ...state, passiveFailures: 0 };
  // Without heartbeats, real traffic is the only evidence that a node is fine.
  if (
    !rules.heartbeats &&
    (s.probation || s.verdict === 'unknown') &&
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a second guard: an ejection always sets the verdict down and clears probation, so no state in an ejection gets this far
    s.ejectedUntil <= now
  ) {
    return become(s, 'up', now, s.probation ? 'trial request succeeded' : 'request succeeded', { probation: false });
  }
  return { state: s };
}

function passiveFailed(
  state: HealthState,
  rules: HealthRules,
  now: number,
  input: { certain?: boolean; detail: string },
): HealthStep {
  if (!rules.passive) return { state };
  if (state.ejectedUntil > now) return { state };
  const failures = state.passiveFailures + 1;
  const eject = input.certain || state.probation || failures >= rules.passive.failures;
  if (!eject) return { state: { ...state, passiveFailures: failures } };
  // A node that stayed healthy for a whole max ejection time starts again from the base time.
  // (Never ejected, lastEjectionEnd is 0 and so are the ejections: forgiving them changes nothing.)
  const forgiven = now - state.lastEjectionEnd > rules.passive.maxEjectTimeMs;
  const ejections = (forgiven ? 0 : state.ejections) + 1;
  const length = Math.min(rules.passive.ejectTimeMs * ejections, rules.passive.maxEjectTimeMs);
  const why = input.certain
    ? input.detail
    : state.probation
      ? `trial request failed (${input.detail})`
      : `${failures} requests failed (${input.detail})`;
  return become(state, 'down', now, `ejected for ${Math.round(length)}ms: ${why}`, {
    passiveFailures: 0,
    probePasses: 0,
    ejectedUntil: now + length,
    ejections,
    probation: false,
  });
}

function ejectionTimeCheck(state: HealthState, rules: HealthRules, now: number): HealthStep {
  if (state.ejectedUntil === 0 || state.ejectedUntil > now) return { state };
  const s = { ...state, ejectedUntil: 0, lastEjectionEnd: now };
  if (rules.heartbeats) {
    // The verdict is down all through an ejection: heartbeats that end it early clear ejectedUntil.
    if (s.probePasses >= rules.rise) return become(s, 'up', now, 'ejection over, heartbeats passing');
    return { state: s };
  }
  return become(s, 'unknown', now, 'ejection over, letting one trial request through', { probation: true });
}
