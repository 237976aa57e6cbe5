import { split } from './cluster-cache.ts';
import { decodeHealth } from './redis-codec.ts';
import type { StoreParts } from './redis-parts.ts';
import { VoteBatcher, type Vote } from './vote-batcher.ts';

/**
 * This instance's votes over Redis: batched (one script per batch), kept for replaying, and
 * sent again whole when Redis says this instance is not registered (its heartbeat expired).
 */
export class RedisVotes {
  readonly #parts: StoreParts;
  readonly #batcher = new VoteBatcher((votes) => this.#send(votes));
  readonly #unregistered: () => void;
  /** How long an instance stays live without a heartbeat (the scripts reap it after that). */
  readonly #liveWindowMs: number;

  constructor(parts: StoreParts, liveWindowMs: number, unregistered: () => void) {
    this.#parts = parts;
    this.#liveWindowMs = liveWindowMs;
    this.#unregistered = unregistered;
  }

  report(vote: Vote): void {
    this.#batcher.record(vote);
    if (this.#parts.connected()) this.#batcher.schedule();
  }

  /** Sends what is pending; `replay`: every latest vote again (Redis may have lost them). */
  flush(replay: boolean): Promise<void> {
    if (replay) this.#batcher.replayAll();
    return this.#batcher.flush();
  }

  async #send(votes: Vote[]): Promise<boolean> {
    const parts = this.#parts;
    if (!parts.connected()) return false;
    const args: Array<string | number> = [
      parts.keys.channel,
      parts.options.instanceId,
      String(parts.options.quorum),
      this.#liveWindowMs,
    ];
    for (const vote of votes) args.push(vote.pool, vote.node, vote.verdict, vote.reason);
    let reply: unknown[];
    try {
      reply = await parts.run('report', args);
    } catch {
      return false; // kept for the next beat; the heartbeat decides whether Redis is lost
    }
    if (Number(reply[0]) === 0) this.#unregistered();
    for (let i = 2; i + 1 < reply.length; i += 2) {
      const record = decodeHealth(String(reply[i + 1]));
      if (record) parts.emit(parts.cache.applyHealth(...split(String(reply[i])), record));
    }
    return true;
  }
}
