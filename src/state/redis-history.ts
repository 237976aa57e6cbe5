/**
 * Noticing that Redis went back in time. A Redis restarted empty, restarted from an older RDB
 * or AOF, or replaced by a replica that lagged, has lost writes, and a cluster that adopted its
 * older state would let epochs go backwards. Two signs, both exact:
 *
 * - The history id. Redis holds a random id, set by the first instance that finds none (an
 *   empty Redis) and renewed by an instance that finds Redis behind what it knows. Every
 *   instance remembers the id it last saw; a different one means "re-seed what you know".
 * - This instance's mark. Every script an instance runs bumps a counter of its own in Redis and
 *   returns it, and replies on one connection arrive in the order Redis ran the scripts. A
 *   snapshot, an AOF and a replica all hold a prefix of Redis' history, so if Redis lost any
 *   write of ours, the next mark we read is not above the last one we saw.
 *
 * (A lost write of an instance that has since died leaves no mark behind; the store also
 * compares every snapshot with what this instance knows, see ClusterCache.applySnapshot.)
 */
export class HistoryWatch {
  #history: string | undefined;
  #mark = 0;

  get history(): string | undefined {
    return this.#history;
  }

  /** A history id read from Redis (empty: none yet). 'changed': Redis lost state since we last looked. */
  seeHistory(id: string): 'first' | 'same' | 'changed' {
    if (id === '') return 'same';
    if (this.#history === undefined) {
      this.#history = id;
      return 'first';
    }
    if (this.#history === id) return 'same';
    this.#history = id;
    // Marks are compared again from the next reply on: a new history starts a new count.
    this.#mark = 0;
    return 'changed';
  }

  /** This instance's mark from a script's reply. False: Redis lost writes of ours. */
  seeMark(mark: number): boolean {
    if (!Number.isFinite(mark)) return true;
    const behind = this.#mark > 0 && mark <= this.#mark;
    this.#mark = mark;
    return !behind;
  }
}
