/**
 * Time as a dependency. Decisions take `now` as an argument; components that schedule work
 * take a Clock, so tests can drive them with a fake one instead of waiting.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, monotonic within this process. */
  now(): number;
  /** Runs `fn` after `ms`; returns a cancel function. Timers never keep the process alive. */
  schedule(ms: number, fn: () => void): () => void;
  /** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

// performance.now() never jumps backwards when the wall clock is adjusted; anchoring it at
// timeOrigin keeps values comparable with Date.now() for logs and the status API.
const origin = performance.timeOrigin;

export function systemClock(): Clock {
  return {
    now: () => origin + performance.now(),
    schedule(ms, fn) {
      const timer = setTimeout(fn, Math.max(0, ms));
      timer.unref();
      return () => clearTimeout(timer);
    },
    sleep(ms, signal) {
      return new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const timer = setTimeout(done, Math.max(0, ms));
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
      });
    },
  };
}
