import type { HedgeSettings } from '../vocabulary.ts';

/**
 * How long a request waits for response headers before it is hedged. Pure.
 *
 * Set (`after: '50ms'`): that. Learned (`'auto'`): the pool's recent p95 ("The Tail at
 * Scale" hedges after the p95), never below a floor (on a fast pool the p95 is scheduling
 * noise: hedging after 2 ms would copy requests for nothing) and never at or beyond the
 * response timeout (a hedge after the timeout is a retry). Without enough samples to call
 * anything normal (a new pool, a reload), no hedge: undefined.
 */
export const LEARNED_QUANTILE = 0.95;
export const DELAY_FLOOR_MS = 10;
/** Samples needed before the learned delay is trusted. */
export const MIN_SAMPLES = 20;

export function hedgeDelay(
  settings: HedgeSettings,
  learnedMs: number | undefined,
  responseTimeoutMs: number,
): number | undefined {
  const ceiling = responseTimeoutMs / 2;
  if (settings.after !== 'auto') return settings.after < responseTimeoutMs ? settings.after : undefined;
  if (learnedMs === undefined) return undefined;
  return Math.min(ceiling, Math.max(DELAY_FLOOR_MS, learnedMs));
}
