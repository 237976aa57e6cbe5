import { randomUUID } from 'node:crypto';
import { BatonError } from '../util/errors.ts';
import { decodeActive, encodeActive } from './redis-codec.ts';
import type { StoreParts } from './redis-parts.ts';
import type { ActiveState, Proposal } from './types.ts';

/**
 * The active node of active-passive pools, over Redis: compare-and-set proposals, decisions
 * taken alone while Redis is declared lost (provisional, reconciled when it returns), and
 * seeding Redis with states it lacks. Redis keeps the higher epoch; two states of one epoch
 * are healed with a new epoch (redis-scripts.ts, seedActiveScript), so no epoch stays shared.
 */
export class RedisActive {
  readonly #parts: StoreParts;
  /** Failovers decided while Redis was unreachable, to reconcile when it is back. */
  readonly #provisional = new Map<string, ActiveState>();

  constructor(parts: StoreParts) {
    this.#parts = parts;
  }

  isProvisional(pool: string): boolean {
    return this.#provisional.has(pool);
  }

  /** Decided by Redis when it is reachable; alone (provisionally) only while it is declared lost. */
  async propose(pool: string, proposal: Proposal): Promise<ActiveState | undefined> {
    const parts = this.#parts;
    if (!parts.connected()) return this.#proposeAlone(pool, proposal);
    const id = randomUUID();
    const args = [
      parts.keys.channel,
      parts.options.instanceId,
      pool,
      proposal.expectedEpoch,
      proposal.to,
      proposal.reason,
      id,
      proposal.flips ?? 0,
      proposal.pinned ? '1' : '0',
    ];
    let reply: unknown[];
    try {
      reply = await parts.run('propose', args);
    } catch (error) {
      return this.#readBack(pool, id, error as Error);
    }
    const won = Number(reply[0]) === 1;
    const state = reply[1] ? decodeActive(String(reply[1])) : undefined;
    const known = parts.cache.active(pool);
    if (state) parts.emit(parts.cache.applyActive(pool, state));
    // Losing to an older state (or to none) means Redis is behind what we know: restore it.
    if (!won && known?.active && (!state || state.epoch < known.epoch)) {
      const provisional = this.isProvisional(pool);
      if ((await this.seed(pool, known)) === 'restored' && !provisional)
        parts.behind(`it had an older active state for pool ${pool} than epoch ${known.epoch}`);
    }
    return won ? state : undefined;
  }

  /** Gives Redis an active state it may lack: 'kept' (it had as new), 'restored' (it was behind) or 'healed'. */
  async seed(pool: string, state: ActiveState): Promise<string | undefined> {
    const parts = this.#parts;
    let reply: unknown[];
    try {
      reply = await parts.run('seedActive', [
        parts.keys.channel,
        parts.options.instanceId,
        pool,
        encodeActive(state),
        randomUUID(),
      ]);
    } catch {
      return undefined;
    }
    const stored = decodeActive(String(reply[1]));
    if (stored) parts.emit(parts.cache.applyActive(pool, stored));
    if (this.#provisional.get(pool)?.id === state.id) this.#provisional.delete(pool);
    return String(reply[0]);
  }

  /** After an outage: every decision taken alone goes to Redis, which keeps it or heals a clash. */
  async reconcile(): Promise<void> {
    for (const [pool, state] of [...this.#provisional]) await this.seed(pool, state);
  }

  #proposeAlone(pool: string, proposal: Proposal): ActiveState | undefined {
    if (this.#parts.options.localFailover === false) {
      throw new BatonError(
        'STORE_UNAVAILABLE',
        `Redis is unreachable and cluster.localFailover is off: pool ${pool} keeps ${this.#parts.cache.active(pool)?.active ?? 'no active node'}`,
      );
    }
    const current = this.#parts.cache.active(pool);
    if ((current?.epoch ?? 0) !== proposal.expectedEpoch) return undefined;
    const state: ActiveState = {
      active: proposal.to,
      epoch: proposal.expectedEpoch + 1,
      since: this.#parts.now(),
      reason: `${proposal.reason} (decided locally: Redis unreachable)`,
      by: this.#parts.options.instanceId,
      id: randomUUID(),
      from: current?.active ?? null,
      flips: proposal.flips ?? 0,
      pinned: proposal.pinned ?? false,
    };
    this.#provisional.set(pool, state);
    this.#parts.emit(this.#parts.cache.applyActive(pool, state));
    return state;
  }

  /**
   * A proposal whose reply did not come (a timeout while Redis still counts as reachable): the
   * script may yet run. A read on the same connection runs after it, so it tells the outcome.
   */
  async #readBack(pool: string, id: string, error: Error): Promise<ActiveState | undefined> {
    const parts = this.#parts;
    parts.options.log.warn({ pool, err: error }, 'no reply to a proposal: reading its outcome back from Redis');
    for (;;) {
      if (!parts.connected()) {
        throw new BatonError(
          'STORE_UNCONFIRMED',
          `the change of pool ${pool} was sent, then Redis stopped answering (${error.message})`,
        );
      }
      try {
        const raw = await parts.hget(parts.keys.key.active, pool);
        const state = raw ? decodeActive(raw) : undefined;
        if (state) parts.emit(parts.cache.applyActive(pool, state));
        return state?.id === id ? state : undefined;
      } catch {
        await parts.options.clock.sleep(Math.min(100, parts.options.heartbeatIntervalMs / 4));
      }
    }
  }
}
