/**
 * Recent response-header latencies of one pool, and a quantile of them: what "normal" means
 * for the pool when it decides how long to wait before a hedge. Pure: time is passed in.
 *
 * Why not a library: quantile sketches (DDSketch, t-digest) cannot forget old samples, and a
 * sliding window of sketches is more code than this. The window is small (the last
 * `capacity` samples, none older than `maxAgeMs`), so a sort of at most `capacity` numbers,
 * done at most once per `refreshMs`, is cheap and exact.
 */
export interface WindowOptions {
  /** Samples kept at most (the newest win). */
  readonly capacity: number;
  /** Samples older than this are ignored. */
  readonly maxAgeMs: number;
  /** A quantile is recomputed at most this often; in between the last answer is reused. */
  readonly refreshMs: number;
}

export class LatencyWindow {
  readonly #values: Float64Array;
  readonly #times: Float64Array;
  readonly #options: WindowOptions;
  #next = 0;
  #size = 0;
  #scratch: Float64Array;
  #cached: { q: number; at: number; value: number | undefined } | undefined;

  constructor(options: WindowOptions) {
    this.#options = options;
    this.#values = new Float64Array(options.capacity);
    this.#times = new Float64Array(options.capacity);
    this.#scratch = new Float64Array(options.capacity);
  }

  add(latencyMs: number, now: number): void {
    this.#values[this.#next] = latencyMs;
    this.#times[this.#next] = now;
    this.#next = (this.#next + 1) % this.#options.capacity;
    if (this.#size < this.#options.capacity) this.#size += 1;
  }

  /**
   * The `q` quantile (0..1, nearest rank) of the samples no older than maxAgeMs, or undefined
   * with fewer than `minSamples` of them (too little to call anything normal).
   */
  quantile(q: number, now: number, minSamples: number): number | undefined {
    const cached = this.#cached;
    if (cached && cached.q === q && now - cached.at < this.#options.refreshMs && now >= cached.at) return cached.value;
    const value = this.#compute(q, now, minSamples);
    this.#cached = { q, at: now, value };
    return value;
  }

  #compute(q: number, now: number, minSamples: number): number | undefined {
    const oldest = now - this.#options.maxAgeMs;
    let count = 0;
    for (let i = 0; i < this.#size; i++) if (this.#times[i]! >= oldest) this.#scratch[count++] = this.#values[i]!;
    if (count < Math.max(1, minSamples)) return undefined;
    const recent = this.#scratch.subarray(0, count).sort();
    return recent[Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1))];
  }
}
