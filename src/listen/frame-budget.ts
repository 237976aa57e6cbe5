/**
 * How many frames of one kind (stream resets, PINGs, SETTINGS) a client connection may send
 * per window. Pure: time is passed in. A fixed window, restarted by the first frame after it
 * ends: a flood is thousands of frames a second, far from any limit's edge.
 */
export class FrameBudget {
  #windowStart = Number.NEGATIVE_INFINITY;
  #count = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Counts one frame at `now`; true when that puts the connection over its budget. */
  spend(now: number): boolean {
    if (now - this.#windowStart >= this.windowMs) {
      this.#windowStart = now;
      this.#count = 0;
    }
    this.#count += 1;
    return this.#count > this.limit;
  }
}
