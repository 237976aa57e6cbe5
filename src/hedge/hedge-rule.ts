/**
 * May this request be hedged at all? Pure. A hedge is a second copy of a request sent while
 * the first may still be processed, so only what may safely arrive twice qualifies (the same
 * rule as a retry after a possible delivery, without the `retry.nonIdempotent` opt-in: that
 * accepts a duplicate after a failure, not a deliberate one on every slow request).
 */
export interface HedgeFacts {
  /** GET, HEAD, OPTIONS, PUT, DELETE, or an Idempotency-Key (see retry-rule.ts). */
  readonly idempotent: boolean;
  /** The body is buffered or absent: a stream cannot be read twice. */
  readonly replayable: boolean;
  /** A websocket or other upgrade: a tunnel cannot be raced. */
  readonly upgrade: boolean;
  /** Active-passive pools send to the active node only. */
  readonly activePassive: boolean;
  /** Tries made so far and allowed (a hedge is a try). */
  readonly attempt: number;
  readonly attempts: number;
  /** Hedges sent for this request so far, and the most allowed (hedge.max). */
  readonly hedges: number;
  readonly maxHedges: number;
  readonly now: number;
  readonly deadline: number;
}

export function mayHedge(facts: HedgeFacts): boolean {
  if (!facts.idempotent || !facts.replayable || facts.upgrade || facts.activePassive) return false;
  return facts.hedges < facts.maxHedges && facts.attempt < facts.attempts && facts.now < facts.deadline;
}
