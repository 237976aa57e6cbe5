import type { ActiveState } from './types.ts';

/**
 * The one order of active states every instance and the store apply: the higher epoch wins;
 * two states of the same epoch (possible only when the store lost writes, or two instances
 * decided alone while it was unreachable) are ranked by proposal id, so every instance settles
 * on the same one whatever order it hears of them in.
 */
export function ranksAbove(a: ActiveState, b: ActiveState | undefined): boolean {
  if (!b) return true;
  // Stryker disable next-line EqualityOperator: the epochs differ here, so `>=` answers as `>` does (`<=` is killed by the tests)
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  return a.id > b.id;
}

/** Same epoch and same proposal: the same state. */
export function sameActive(a: ActiveState | undefined, b: ActiveState | undefined): boolean {
  return a !== undefined && b !== undefined && a.epoch === b.epoch && a.id === b.id;
}
