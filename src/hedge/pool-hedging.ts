import type { HedgeSettings, TimeoutSettings } from '../vocabulary.ts';
import { deposit, fullBudget, withdraw, type BudgetState } from './hedge-budget.ts';
import { hedgeDelay, LEARNED_QUANTILE, MIN_SAMPLES } from './hedge-delay.ts';
import { LatencyWindow } from './latency-window.ts';

/** The last 1000 answers, none older than 30 s: a few seconds of a busy pool, a longer view of a quiet one. */
const WINDOW = { capacity: 1000, maxAgeMs: 30_000, refreshMs: 100 } as const;

/**
 * The hedging state of one pool on this instance: its recent latencies (what the learned
 * delay comes from) and its budget. Holds state only; the decisions are the pure functions
 * it calls, with the time passed in.
 */
export class PoolHedging {
  readonly settings: HedgeSettings | false;
  readonly #timeouts: TimeoutSettings;
  readonly #window = new LatencyWindow(WINDOW);
  #budget: BudgetState = fullBudget;

  constructor(settings: HedgeSettings | false, timeouts: TimeoutSettings) {
    this.settings = settings;
    this.#timeouts = timeouts;
  }

  /** An attempt got its response headers after `latencyMs`. */
  answered(latencyMs: number, now: number): void {
    this.#window.add(latencyMs, now);
  }

  /** The learned p95 of recent answers (undefined until there are enough). */
  learnedMs(now: number): number | undefined {
    return this.#window.quantile(LEARNED_QUANTILE, now, MIN_SAMPLES);
  }

  /** How long requests wait before a hedge now; undefined: no hedging (off, or nothing learned yet). */
  delayMs(now: number): number | undefined {
    if (!this.settings) return undefined;
    return hedgeDelay(
      this.settings,
      this.settings.after === 'auto' ? this.learnedMs(now) : undefined,
      this.#timeouts.responseMs,
    );
  }

  /** A request that could be hedged went out: it earns its share of a hedge. */
  earn(): void {
    if (this.settings) this.#budget = deposit(this.#budget, this.settings.budget);
  }

  /** Takes a hedge from the budget; false when it is spent. */
  spend(): boolean {
    const next = withdraw(this.#budget);
    if (!next) return false;
    this.#budget = next;
    return true;
  }

  get tokens(): number {
    return this.#budget.tokens;
  }
}
