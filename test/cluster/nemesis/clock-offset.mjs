// Preloaded (`node --import`) into a gateway the nemesis runs with a wrong clock: shifts
// Date.now() and performance.timeOrigin by BATON_CLOCK_OFFSET_MS, as a host whose wall clock is
// that far off would. Baton's clock (src/util/clock.ts) is performance.timeOrigin +
// performance.now(), so it moves with it; timers and durations do not (they are monotonic).
// `new Date()` without arguments is left alone: Baton does not read the time through it.
const offset = Number(process.env.BATON_CLOCK_OFFSET_MS ?? 0);
if (offset) {
  const realNow = Date.now;
  Date.now = () => realNow() + offset;
  const origin = performance.timeOrigin + offset;
  Object.defineProperty(performance, 'timeOrigin', { configurable: true, enumerable: true, get: () => origin });
}
