/**
 * The hedge budget of one pool: a token bucket, as gRPC's retry throttling and Finagle's
 * retry budget do. Every request that could be hedged deposits `share` of a token; a hedge
 * takes a whole one. Over any stretch, hedges are then at most `share` of the requests plus
 * the bucket's capacity: a pool where every node is slow is not doubled in load, while a
 * single hung node (a few requests to hedge before it is suspected) finds tokens waiting.
 *
 * Counted in requests, not seconds: a budget per second would let a quiet, uniformly slow
 * pool hedge every request. Pure: the state goes in, the next state comes out.
 */
export interface BudgetState {
  readonly tokens: number;
}

/** A full bucket holds this many hedges: the burst a fault may take at once. */
export const BUDGET_CAPACITY = 10;

/** A new pool starts with a full bucket: a node may hang in the first second after a start. */
export const fullBudget: BudgetState = { tokens: BUDGET_CAPACITY };

export function deposit(state: BudgetState, share: number): BudgetState {
  return { tokens: Math.min(BUDGET_CAPACITY, state.tokens + share) };
}

/** Takes one token if there is one: undefined when the budget is spent. */
export function withdraw(state: BudgetState): BudgetState | undefined {
  return state.tokens >= 1 ? { tokens: state.tokens - 1 } : undefined;
}
