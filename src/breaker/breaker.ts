import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import type { BreakerSettings } from '../config/types.ts';
import type { AttemptOutcome, BreakerState } from '../policy/types.ts';

/** Buckets in the rolling window (opossum's default). */
const BUCKETS = 10;

/**
 * One timer that rotates the rolling-window buckets of every breaker in a pool. Without it,
 * opossum gives each breaker two intervals of its own.
 */
export class BucketRotation {
  readonly emitter = new EventEmitter();
  readonly #timer: NodeJS.Timeout;

  constructor(windowMs: number) {
    this.emitter.setMaxListeners(0);
    this.#timer = setInterval(() => this.emitter.emit('rotate'), Math.max(10, Math.floor(windowMs / BUCKETS)));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Thrown inside the breaker so that opossum counts the attempt as a failure. */
class FailedAttempt extends Error {
  constructor(readonly outcome: AttemptOutcome) {
    super(outcome.detail ?? outcome.kind);
  }
}

const rejected: AttemptOutcome = { kind: 'breaker-open', failed: false, latencyMs: 0, detail: 'circuit breaker open' };

/**
 * The circuit breaker of one node on this instance (opossum). The wrapped action is one
 * forwarding attempt, which resolves when response headers arrive; it owns its timeouts, so
 * opossum's timeout stays off. Open: the node is not picked. Half-open: exactly one trial.
 */
export class NodeBreaker {
  readonly #breaker: CircuitBreaker<[() => Promise<AttemptOutcome>], AttemptOutcome> | undefined;

  constructor(settings: BreakerSettings | false, rotation: BucketRotation | undefined, onChange: (state: BreakerState) => void) {
    if (!settings) return;
    this.#breaker = new CircuitBreaker(
      async (attempt: () => Promise<AttemptOutcome>) => {
        const outcome = await attempt();
        if (outcome.failed) throw new FailedAttempt(outcome);
        return outcome;
      },
      {
        timeout: false,
        errorThresholdPercentage: settings.errorThresholdPercentage,
        volumeThreshold: settings.volumeThreshold,
        resetTimeout: settings.resetTimeoutMs,
        rollingCountTimeout: settings.windowMs,
        rollingCountBuckets: BUCKETS,
        // Percentiles sort the whole window on every failure: 20x slower, and we keep our own.
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
        rotateBucketController: rotation?.emitter,
        // Only attempt failures count; a bug in our own code must not open a node's breaker.
        errorFilter: (error: unknown) => !(error instanceof FailedAttempt),
      },
    );
    this.#breaker.on('open', () => onChange('open'));
    this.#breaker.on('halfOpen', () => onChange('half-open'));
    this.#breaker.on('close', () => onChange('closed'));
  }

  get state(): BreakerState {
    const b = this.#breaker;
    if (!b || b.closed) return 'closed';
    return b.halfOpen ? 'half-open' : 'open';
  }

  /** Would a request be let through now: closed, or half-open with the trial not yet taken. */
  get admits(): boolean {
    const b = this.#breaker;
    return !b || b.closed || (b.halfOpen && b.pendingClose);
  }

  async run(attempt: () => Promise<AttemptOutcome>): Promise<AttemptOutcome> {
    if (!this.#breaker) return attempt();
    try {
      return await this.#breaker.fire(attempt);
    } catch (error) {
      if (error instanceof FailedAttempt) return error.outcome;
      if ((error as { code?: string }).code === 'EOPENBREAKER') return rejected;
      throw error;
    }
  }

  /** Stops its timers; call when the node goes away. */
  shutdown(): void {
    this.#breaker?.shutdown();
  }
}
