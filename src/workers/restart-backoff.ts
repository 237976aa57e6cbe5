/**
 * How long the supervisor waits before replacing a crashed worker: at once-ish for a one-off
 * crash, doubling for a worker that keeps crashing (a bad plugin, a port taken) so that a crash
 * loop does not burn the machine's CPU, and back to the start once a worker has run for a while.
 */
export interface BackoffRules {
  readonly baseMs: number;
  readonly maxMs: number;
  /** A worker that ran at least this long before crashing starts the count again. */
  readonly stableMs: number;
}

export const defaultBackoff: BackoffRules = { baseMs: 100, maxMs: 10_000, stableMs: 30_000 };

export interface RestartDecision {
  /** Crashes in a row of this worker slot, this one included. */
  readonly inRow: number;
  readonly delayMs: number;
}

/** A worker slot's process started at `startedAt` crashed at `now`, after `previousInRow` crashes in a row. */
export function afterCrash(
  previousInRow: number,
  startedAt: number,
  now: number,
  rules: BackoffRules = defaultBackoff,
): RestartDecision {
  const inRow = now - startedAt >= rules.stableMs ? 1 : previousInRow + 1;
  return { inRow, delayMs: Math.min(rules.maxMs, rules.baseMs * 2 ** (inRow - 1)) };
}
