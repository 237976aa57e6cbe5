import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import type { AttemptOutcome, BreakerSettings, BreakerState } from '../vocabulary.ts';

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
    // Wall time: opossum's rolling window, which these ticks drive, is timed by opossum itself.
    this.#timer = setInterval(() => this.emitter.emit('rotate'), Math.max(10, Math.floor(windowMs / BUCKETS)));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** What a guarded task resolves to: anything that carries an attempt outcome. */
export interface Guarded {
  readonly outcome: AttemptOutcome;
}

/** Thrown inside the breaker so that opossum counts the attempt as a failure. */
class FailedAttempt extends Error {
  constructor(readonly result: Guarded) {
    super(result.outcome.detail ?? result.outcome.kind);
  }
}

function failOnFailure<R extends Guarded>(result: R): R {
  if (result.outcome.failed) throw new FailedAttempt(result);
  return result;
}

function runTask<R extends Guarded>(task: () => Promise<R>): Promise<R> {
  return task().then(failOnFailure);
}

function unwrap(error: unknown): Guarded | undefined {
  if (error instanceof FailedAttempt) return error.result;
  if ((error as { code?: string }).code === 'EOPENBREAKER') return undefined;
  throw error;
}

/**
 * The circuit breaker of one node on this instance (opossum). The wrapped task is one
 * forwarding attempt, which resolves when response headers arrive; it owns its timeouts, so
 * opossum's timeout stays off. Open: the node is not picked. Half-open: exactly one trial.
 */
export class NodeBreaker {
  readonly #breaker: CircuitBreaker<[() => Promise<Guarded>], Guarded> | undefined;

  constructor(
    settings: BreakerSettings | false,
    rotation: BucketRotation | undefined,
    onChange: (state: BreakerState) => void,
  ) {
    if (!settings) return;
    this.#breaker = new CircuitBreaker(runTask, {
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
    });
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

  /** Runs the task through the breaker; undefined when the breaker refused it (open). */
  run<R extends Guarded>(task: () => Promise<R>): Promise<R | undefined> {
    if (!this.#breaker) return task();
    return (this.#breaker.fire(task) as Promise<R>).catch(unwrap) as Promise<R | undefined>;
  }

  /** Stops its timers; call when the node goes away. */
  shutdown(): void {
    this.#breaker?.shutdown();
  }
}
