/**
 * Latency-aware suspicion of one node, as a pure state machine (time passed in).
 *
 * A hung node (SIGSTOP, a deadlock, a VM paused by its host) refuses nothing and resets
 * nothing: its requests just never answer, so failure counters see nothing until a whole
 * response timeout. Hedges see it at once: a hedge is sent only when a request is late by
 * the pool's own standard (its p95), and it *wins* only when the node still has not
 * answered. A node that loses `losses` hedges in a row, without answering any request in
 * between, is suspected: probed at once, and passed over for new requests while the probe
 * runs. The heartbeat decides. A failed one confirms the hang and ejects the node (passive
 * ejection: rise/fall, ejection times and cluster votes as for any failure); a passing one
 * clears the node, which is then left alone for `quietMs` (a slower node that still answers
 * is not harassed).
 *
 * A merely slower node answers in between its lost hedges, which resets the count; and if it
 * does not, its heartbeat passes. Nothing here compares with a fixed latency.
 */
export interface SuspicionState {
  readonly losses: number;
  /** When suspicion began; 0 = not suspected. */
  readonly since: number;
  /** Suspicion lapses at this time even without a verdict (no heartbeats, a lost probe). */
  readonly until: number;
  /** No new suspicion before this time (after a heartbeat cleared the node). */
  readonly quietUntil: number;
}

export interface SuspicionRules {
  /** Hedges lost in a row before the node is suspected. */
  readonly losses: number;
  /** How long a suspicion may last without a verdict. */
  readonly maxSuspicionMs: number;
  /** After a heartbeat cleared the node, no new suspicion for this long. */
  readonly quietMs: number;
}

export type SuspicionInput =
  /** Another node answered a hedge of a request still pending on this one. */
  | { readonly type: 'lost' }
  /** This node answered a request (response headers, whatever the status). */
  | { readonly type: 'answered' }
  /** A heartbeat that started at `startedAt` finished. */
  | { readonly type: 'probe'; readonly ok: boolean; readonly startedAt: number };

/** What the node must do: probe now (suspected), eject (hang confirmed), or nothing. */
export type SuspicionAction = 'probe' | 'eject' | undefined;

export interface SuspicionStep {
  readonly state: SuspicionState;
  readonly action?: SuspicionAction;
}

export const unsuspected: SuspicionState = { losses: 0, since: 0, until: 0, quietUntil: 0 };

export function isSuspected(state: SuspicionState, now: number): boolean {
  return state.since > 0 && now < state.until;
}

export function nextSuspicion(
  state: SuspicionState,
  input: SuspicionInput,
  rules: SuspicionRules,
  now: number,
): SuspicionStep {
  const suspected = isSuspected(state, now);
  switch (input.type) {
    case 'lost': {
      // A suspicion that lapsed without a verdict used its losses up: counting on from them
      // would suspect the node again at the next one (with health: false, every few hedges).
      const lapsed = state.since > 0 && !suspected;
      const losses = (lapsed ? 0 : state.losses) + 1;
      if (lapsed && losses < rules.losses) return { state: { ...state, losses, since: 0, until: 0 } };
      if (suspected || losses < rules.losses || now < state.quietUntil) return { state: { ...state, losses } };
      return { state: { ...state, losses, since: now, until: now + rules.maxSuspicionMs }, action: 'probe' };
    }
    case 'answered':
      // It answers: slow perhaps, hung not. The probe may still be in flight; it decides nothing now.
      if (state.losses === 0 && state.since === 0) return { state };
      return { state: { ...state, losses: 0, since: 0, until: 0 } };
    case 'probe':
      // Only a heartbeat sent after the suspicion began tells about the node as it is now.
      if (!suspected || input.startedAt < state.since) return { state };
      if (input.ok) return { state: { losses: 0, since: 0, until: 0, quietUntil: now + rules.quietMs } };
      return { state: { ...unsuspected }, action: 'eject' };
  }
}
