import type { Clock } from './clock.ts';

/** One wait in a DueQueue; `cancel()` drops it (and what it holds) without touching the timer. */
export interface DueEntry {
  readonly dueAt: number;
  cancel(): void;
}

class Slot implements DueEntry {
  readonly dueAt: number;
  fn: (() => void) | undefined;

  constructor(dueAt: number, fn: () => void) {
    this.dueAt = dueAt;
    this.fn = fn;
  }

  cancel(): void {
    this.fn = undefined;
  }
}

/**
 * Many waits on one timer: every hedgeable request waits its hedge delay, and a timer each
 * (a Timeout object, list surgery to arm it and again to clear it) cost more than the rest of
 * the race's bookkeeping, while most waits are cancelled long before they are due. Waits are
 * kept in due order (they arrive almost always in it: the delay is one per pool and moves
 * slowly), one timer is armed for the earliest, and a cancelled wait only forgets its
 * function. Timers never keep the process alive (Clock.schedule's rule).
 */
export class DueQueue {
  readonly #clock: Clock;
  #slots: Slot[] = [];
  #head = 0;
  #cancelTimer: (() => void) | undefined;
  #armedFor = Number.POSITIVE_INFINITY;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Runs `fn` after `ms` (from now) unless the returned entry is cancelled first. */
  add(ms: number, fn: () => void): DueEntry {
    const slot = new Slot(this.#clock.now() + Math.max(0, ms), fn);
    const slots = this.#slots;
    let at = slots.length;
    while (at > this.#head && slots[at - 1]!.dueAt > slot.dueAt) at -= 1;
    if (at === slots.length) slots.push(slot);
    else slots.splice(at, 0, slot);
    if (slot.dueAt < this.#armedFor) this.#arm(slot.dueAt);
    return slot;
  }

  /** Waits not yet run nor dropped from the queue (cancelled ones included until they are). */
  get size(): number {
    return this.#slots.length - this.#head;
  }

  #arm(dueAt: number): void {
    this.#cancelTimer?.();
    this.#armedFor = dueAt;
    this.#cancelTimer = this.#clock.schedule(dueAt - this.#clock.now(), () => this.#fire());
  }

  #fire(): void {
    this.#cancelTimer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    const slots = this.#slots;
    const due: Array<() => void> = [];
    // Drops cancelled waits from the front too: nothing is kept for them beyond their due time.
    while (this.#head < slots.length) {
      const slot = slots[this.#head]!;
      if (slot.fn !== undefined && slot.dueAt > now) break;
      if (slot.fn !== undefined) due.push(slot.fn);
      slot.fn = undefined;
      this.#head += 1;
    }
    if (this.#head === slots.length) {
      this.#slots = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > slots.length) {
      this.#slots = slots.slice(this.#head);
      this.#head = 0;
    }
    if (this.#head < this.#slots.length) this.#arm(this.#slots[this.#head]!.dueAt);
    // Run after the queue is consistent: a function may add a wait.
    for (const fn of due) fn();
  }
}
