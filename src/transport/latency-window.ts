/**
 * Recent round-trip times of one connection, for the SDK's per-attempt budgets: the
 * last 128 frames, with their 99th percentile worked out once per 32 new samples (a sort of 128
 * numbers), so recording one costs a store and a compare.
 */
const SIZE = 128;
const RECOMPUTE_EVERY = 32;

export class LatencyWindow {
  readonly #samples = new Float64Array(SIZE);
  #count = 0;
  #p99Ms: number | undefined;

  record(ms: number): void {
    this.#samples[this.#count % SIZE] = ms;
    this.#count++;
    if (this.#count % RECOMPUTE_EVERY === 0 || this.#count === 8) this.#p99Ms = this.#compute();
  }

  /** The 99th percentile of the recent round trips; undefined before 8 samples. */
  get p99Ms(): number | undefined {
    return this.#p99Ms;
  }

  #compute(): number {
    const n = Math.min(this.#count, SIZE);
    const sorted = this.#samples.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.floor(n * 0.99))]!;
  }
}
