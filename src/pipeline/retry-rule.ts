import type { IncomingHttpHeaders } from 'node:http';
import type { OutcomeKind } from '../policy/types.ts';

/**
 * When may a failed try be retried on another node? Pure, and the heart of "zero failed safe
 * requests, and a POST is never sent twice":
 * - never once a response byte reached the client (the caller checks `committed` first);
 * - always when the request provably never reached the upstream (connect failed, breaker open);
 * - after it may have reached the upstream (reset, timeout, bad or retryable response) only
 *   for idempotent requests, unless the pool opts non-idempotent ones in;
 * - only with a body that can be sent again, within the attempt count and the deadline.
 */
const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** Idempotent by method, or by the client's promise: an Idempotency-Key header. */
export function isIdempotent(method: string, headers: IncomingHttpHeaders): boolean {
  return idempotentMethods.has(method) || typeof headers['idempotency-key'] === 'string';
}

export interface RetryFacts {
  readonly outcome: OutcomeKind;
  readonly idempotent: boolean;
  /** The pool's `retry.nonIdempotent`. */
  readonly nonIdempotent: boolean;
  /** The body is buffered (or there is none), so it can be sent again. */
  readonly replayable: boolean;
  /** Tries made so far, and the most allowed. */
  readonly attempt: number;
  readonly attempts: number;
  readonly now: number;
  readonly deadline: number;
}

export function mayRetry(facts: RetryFacts): boolean {
  if (!facts.replayable || facts.attempt >= facts.attempts || facts.now >= facts.deadline) return false;
  switch (facts.outcome) {
    case 'connect':
    case 'breaker-open':
      return true;
    case 'reset':
    case 'timeout':
    case 'bad-response':
    case 'status':
      return facts.idempotent || facts.nonIdempotent;
    case 'ok':
    case 'aborted':
      return false;
  }
}
