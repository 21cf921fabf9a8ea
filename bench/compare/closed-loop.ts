import * as hdr from 'hdr-histogram-js';
import type { Driver } from './drivers/types';
import type { PointResult } from './worker-protocol';
import { GET_SHARE, VALUE, loadKey, seededRandom } from './workload';

/**
 * `concurrency` loops, each issuing its next operation as soon as the last one answers (closed loop:
 * ops in flight = concurrency). Latency is recorded only between `measure()` and `stop()`, so the
 * warm-up shapes nothing but the state the measured window starts from.
 */
export class ClosedLoop {
  readonly #histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000, // µs: a minute
    numberOfSignificantValueDigits: 3,
  });
  readonly #loops: Promise<void>[];
  #recording = false;
  #stopping = false;
  #ops = 0;
  #misses = 0;
  #failed = 0;
  #firstError: string | undefined;
  #measuredAt = 0n;

  constructor(driver: Driver, concurrency: number, keys: number, seed: number) {
    const random = seededRandom(seed);
    this.#loops = Array.from({ length: concurrency }, () => this.#loop(driver, keys, random));
  }

  measure(): void {
    this.#measuredAt = process.hrtime.bigint();
    this.#recording = true;
  }

  /** Stops recording at once (the window ends now), then waits for every in-flight op to answer. */
  async stop(): Promise<PointResult> {
    const elapsedS = Number(process.hrtime.bigint() - this.#measuredAt) / 1e9;
    this.#recording = false;
    this.#stopping = true;
    await Promise.all(this.#loops);
    const h = this.#histogram;
    const result: PointResult = {
      ops: this.#ops,
      elapsedS,
      misses: this.#misses,
      failed: this.#failed,
      p50Us: h.getValueAtPercentile(50),
      p99Us: h.getValueAtPercentile(99),
      p999Us: h.getValueAtPercentile(99.9),
    };
    if (this.#firstError !== undefined) result.firstError = this.#firstError;
    h.destroy();
    return result;
  }

  async #loop(driver: Driver, keys: number, random: () => number): Promise<void> {
    while (!this.#stopping) {
      const key = loadKey(Math.floor(random() * keys));
      const isGet = random() < GET_SHARE;
      const t0 = process.hrtime.bigint();
      let hit = true;
      let ok = true;
      try {
        if (isGet) hit = await driver.get(key);
        else await driver.set(key, VALUE);
      } catch (err) {
        ok = false;
        this.#firstError ??= err instanceof Error ? err.message : String(err);
        // A client that fails without I/O would otherwise spin on microtasks and starve the IPC
        // channel that carries 'stop'.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (!this.#recording) continue;
      if (!ok) {
        this.#failed++;
        continue;
      }
      this.#histogram.recordValue(Number(process.hrtime.bigint() - t0) / 1000);
      this.#ops++;
      if (!hit) this.#misses++;
    }
  }
}
