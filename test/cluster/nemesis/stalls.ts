import type { History } from './history.ts';

/**
 * Notices when this machine stops giving the run CPU: a timer due every `everyMs` that fires
 * more than `thresholdMs` late means every process here was starved as long (the two cores of
 * a CI machine are shared). Such spans go into the history; the checker does not count
 * timing-bound failures inside them (failed GETs, slow convergence) as violations, and says
 * how many it set aside. Safety rules (epochs, duplicate POSTs) are never set aside.
 */
export function watchStalls(history: History, options: { everyMs?: number; thresholdMs?: number } = {}): () => void {
  const everyMs = options.everyMs ?? 100;
  const thresholdMs = options.thresholdMs ?? 400;
  let last = history.now();
  const timer = setInterval(() => {
    const now = history.now();
    const lag = now - last - everyMs;
    if (lag > thresholdMs) history.stalls.push({ from: last, until: now, lagMs: Math.round(lag) });
    last = now;
  }, everyMs);
  return () => clearInterval(timer);
}
