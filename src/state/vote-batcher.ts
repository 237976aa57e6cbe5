import type { Health } from '../vocabulary.ts';

export interface Vote {
  readonly pool: string;
  readonly node: string;
  readonly verdict: Health;
  readonly reason: string;
}

const keyOf = (vote: Vote) => `${vote.pool}/${vote.node}`;

/**
 * This instance's votes on their way to the store: every vote reported in one turn of the event
 * loop goes in one batch, and while a batch is in flight the next ones gather, so a correlated
 * failure (every node down at once) costs one script per instance per turn rather than one per
 * node. Only the latest vote per node is sent. The latest votes are also kept for replaying
 * after the store lost them (an outage, a restart, this instance reaped after a pause).
 */
export class VoteBatcher {
  readonly #latest = new Map<string, Vote>();
  readonly #pending = new Map<string, Vote>();
  readonly #send: (votes: Vote[]) => Promise<boolean>;
  #flushing: Promise<void> | undefined;
  #scheduled = false;

  /** `send` resolves false when the batch may not have arrived: it is kept for the next flush. */
  constructor(send: (votes: Vote[]) => Promise<boolean>) {
    this.#send = send;
  }

  get pending(): number {
    return this.#pending.size;
  }

  record(vote: Vote): void {
    this.#latest.set(keyOf(vote), vote);
    this.#pending.set(keyOf(vote), vote);
  }

  /** Queues every latest vote again (the store may have lost them). */
  replayAll(): void {
    for (const [key, vote] of this.#latest) this.#pending.set(key, vote);
  }

  /** Sends the pending votes at the end of this turn of the event loop. */
  schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.flush();
    });
  }

  /** Sends what is pending now, and what gathers meanwhile, one batch at a time. */
  flush(): Promise<void> {
    this.#flushing ??= this.#drain().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0) {
      const batch = [...this.#pending.values()];
      this.#pending.clear();
      if (await this.#send(batch)) continue;
      // Not sent (or not known to be): keep it unless a newer vote for the node came meanwhile.
      for (const vote of batch) if (!this.#pending.has(keyOf(vote))) this.#pending.set(keyOf(vote), vote);
      return;
    }
  }
}
